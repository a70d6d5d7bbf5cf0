import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { SpecError } from '../../lib/errors';
import { checkSpecExpression, durationToSeconds, loadSpecFile, parseSpec, SPEC_DEFAULTS } from '../../lib/spec';

const fixtures = join(__dirname, 'fixtures');
const list = (kind: string) => readdirSync(join(fixtures, kind)).filter((f) => f.endsWith('.json'));

describe('parseSpec', () => {
  // `using` is parsed by the real Postgres parser (asynchronously: the CLI runs checkSpecExpression after loading).
  it.each(list('valid'))('accepts valid/%s', async (file) => {
    const spec = await checkSpecExpression(loadSpecFile(join(fixtures, 'valid', file)));
    expect(spec.operation.type).toBe('convert-column');
  });

  it.each(list('invalid'))('refuses invalid/%s with a SpecError naming the problem and the fix', async (file) => {
    let error: unknown;
    try {
      await checkSpecExpression(loadSpecFile(join(fixtures, 'invalid', file)));
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(SpecError);
    const e = error as SpecError;
    expect(e.code).toBe('SW_SPEC_INVALID');
    expect(e.hint.length).toBeGreaterThan(10);
    expect(e.message).toMatch(/\$|JSON/);
  });

  it('fills in defaults', () => {
    const spec = loadSpecFile(join(fixtures, 'valid', 'minimal.json'));
    expect(spec.table.schema).toBe('public');
    expect(spec.dualWrite).toBe('trigger');
    expect(spec.backfill).toEqual({ batchSize: SPEC_DEFAULTS.batchSize, pauseMs: 0, maxSecondsPerInvocation: 20 });
    expect(spec.soak).toBe('P7D');
    expect(spec.operation.notNull).toBe(false);
  });

  it('names the JSON path of each problem', () => {
    expect(() =>
      parseSpec({ name: 'm', table: { name: 'T' }, operation: { type: 'convert-column', column: 'a', newColumn: 'b', newType: 'integer', using: 'a', notNull: 'yes' }, backfill: { batchSize: 0 } }),
    ).toThrow(/\$\.operation\.notNull[\s\S]*\$\.backfill\.batchSize/);
  });

  it('names unknown fields', () => {
    expect(() => parseSpec({ name: 'm', table: { name: 'T' }, operation: { type: 'convert-column', column: 'a', newColumn: 'b', newType: 'integer', using: 'a' }, batchsize: 1 })).toThrow(
      /unknown field "batchsize"/,
    );
  });

  it('reports an unreadable file', () => {
    expect(() => loadSpecFile('/nonexistent/spec.json')).toThrow(/cannot read spec file/);
  });
});

describe('durationToSeconds', () => {
  it.each([
    ['P7D', 604800],
    ['PT2S', 2],
    ['PT1H30M', 5400],
    ['P1W', 604800],
  ])('%s = %d s', (iso, seconds) => expect(durationToSeconds(iso)).toBe(seconds));
  it.each(['7d', 'P', 'PT', '', 'P1.5D'])('refuses %p', (iso) => expect(() => durationToSeconds(iso)).toThrow(/ISO 8601/));
});
