import { conversionBoundsCheck, estimateBackfillWalBytes, replicationCheck, typeDomain, unitsToDecimal, WAL_WARN_BYTES } from '../../lib/catalog/expression-checks';
import { formatBytes } from '../../lib/catalog/table-size';
import { redact } from '../../lib/cli/run-command';
import { StepwiseError } from '../../lib/errors';
import { checkSpecExpression, parseSpec, sampleKeysAllowed } from '../../lib/spec';
import { analyzeUsing, UsingErrorCode } from '../../lib/spec/expression';
import { runbookSpec } from '../e2e/e2e-helpers';

const refusal = (using: string) => analyzeUsing(using).then(() => undefined, (e: unknown) => e as StepwiseError);

describe('using: parsed by the real Postgres parser', () => {
  it.each([
    ['round(price * 100)'],
    // Wrongly refused by the old lexer: a dollar-quoted literal may hold ";".
    ['round(price * 100) + length($$a;b$$) * 0'],
    [`round("price; net" * 100) || 'x;y--z'`],
    [`round(price /* cents */ * 100)`],
    [`CASE WHEN price > 0 THEN round(price * 100) ELSE 0 END`],
  ])('accepts %s', async (using) => {
    await expect(analyzeUsing(using)).resolves.toMatchObject({ readsWholeRow: false });
  });

  it('lists the functions and columns it reads', async () => {
    await expect(analyzeUsing(`round("Product".price * 100) + coalesce(public.f(qty), 0)`)).resolves.toEqual({
      functions: [{ name: 'round' }, { schema: 'public', name: 'f' }],
      columns: ['price', 'qty'],
      readsWholeRow: false,
    });
  });

  it.each([
    // Accepted by the old lexer (it read E'\'' as a string ending at the second quote).
    [`E'\\'';DROP TABLE x;--'`],
    [`round(price * 100); DROP TABLE x`],
    [`1) FROM "Product" WHERE (true`],
    [`price) + (1`],
    [`round(price * 100) -- swallows the closing parenthesis`],
    [`round(price * `],
  ])('refuses %s as not one expression', async (using) => {
    expect(await refusal(using)).toMatchObject({ code: UsingErrorCode.Syntax, message: expect.stringContaining('is not one SQL expression'), hint: expect.any(String) });
  });

  it.each([
    ['round(price * 100) + (pg_sleep(0.01) IS NULL)::int * 0', UsingErrorCode.SideEffect, 'pg_sleep'],
    ['round(price * 100) + (pg_try_advisory_lock(42))::int * 0', UsingErrorCode.SideEffect, 'pg_try_advisory_lock'],
    ['pg_catalog.pg_advisory_xact_lock(1)', UsingErrorCode.SideEffect, 'pg_advisory_xact_lock'],
    [`price + (SELECT 1 FROM dblink('host=x', 'DELETE FROM t') AS r(i int))`, UsingErrorCode.NotRowExpression, 'subquery'],
    [`length(dblink_exec('host=x', 'DELETE FROM t'))`, UsingErrorCode.SideEffect, 'dblink_exec'],
    [`nextval('s') + price`, UsingErrorCode.SideEffect, 'nextval'],
    [`set_config('search_path', 'evil', false)`, UsingErrorCode.SideEffect, 'set_config'],
    ['price * random()', UsingErrorCode.SideEffect, 'random'],
    ['now()', UsingErrorCode.SessionDependent, 'now'],
    ['CURRENT_TIMESTAMP', UsingErrorCode.SessionDependent, 'CURRENT_TIMESTAMP'],
    ['current_user', UsingErrorCode.SessionDependent, 'CURRENT_USER'],
    [`current_setting('TimeZone')`, UsingErrorCode.SessionDependent, 'current_setting'],
    [`name::regclass::text`, UsingErrorCode.SessionDependent, 'regclass'],
    ['round(price * (SELECT max(r) FROM rates))', UsingErrorCode.NotRowExpression, 'subquery'],
    ['sum(price) FILTER (WHERE price > 0)', UsingErrorCode.NotRowExpression, 'aggregate'],
    ['row_number() OVER ()', UsingErrorCode.NotRowExpression, 'window'],
    ['price + $1', UsingErrorCode.NotRowExpression, '$1'],
  ])('refuses %s (%s)', async (using, code, named) => {
    const e = await refusal(using);
    expect(e).toBeInstanceOf(StepwiseError);
    expect(e).toMatchObject({ code, message: expect.stringContaining(named), hint: expect.any(String) });
  });

  it('the spec accepts what the parser decides; the CLI check names $.operation.using and the fix', async () => {
    const op = runbookSpec().operation;
    expect(() => parseSpec(runbookSpec({ operation: { ...op, using: 'round(price * 100) + length($$a;b$$) * 0' } }))).not.toThrow();
    const bad = parseSpec(runbookSpec({ operation: { ...op, using: `E'\\'';DROP TABLE x;--'` } }));
    const e = await checkSpecExpression(bad, 'bad.json').then(() => undefined, (err: unknown) => err as StepwiseError);
    expect(e).toMatchObject({ code: 'SW_SPEC_INVALID', message: expect.stringMatching(/^bad\.json is not a valid migration spec:\n {2}- \$\.operation\.using: /), details: { code: UsingErrorCode.Syntax } });
    await expect(checkSpecExpression(parseSpec(runbookSpec()))).resolves.toBeDefined();
  });
});

describe('the old type range, WAL, notifications, redaction (pure)', () => {
  it('derives the values a bounded type admits', () => {
    expect(typeDomain('numeric(10,2)')).toMatchObject({ maxUnits: 9_999_999_999n, scale: 2 });
    expect(unitsToDecimal(9_999_999_999n, 2)).toBe('99999999.99');
    expect(unitsToDecimal(-5n, 2)).toBe('-0.05');
    expect(typeDomain('integer')).toMatchObject({ maxUnits: 2147483647n, minUnits: -2147483648n, scale: 0 });
    expect(typeDomain('numeric')).toBeUndefined();
    expect(typeDomain('text')).toBeUndefined();
  });

  it('states the exact bound and a fix', () => {
    const spec = parseSpec(runbookSpec());
    const check = conversionBoundsCheck(spec, {
      column: 'price',
      domain: typeDomain('numeric(10,2)')!,
      upper: { converts: '21474836.47', fails: '21474836.48' },
      lower: { converts: '-21474836.48', fails: '-21474836.49' },
    });
    expect(check).toMatchObject({ status: 'warn', code: 'SW_TYPE_RANGE_NARROWER' });
    expect(check.message).toContain('admits values from -99999999.99 to 99999999.99');
    expect(check.message).toContain('above 21474836.47 (21474836.48 does not convert)');
    expect(check.hint).toContain('CHECK ("price" BETWEEN -21474836.48 AND 21474836.47) NOT VALID');
  });

  it('estimates the WAL of a backfill from the table size and warns above 1 GB or with a publication', () => {
    const gb = 1024 ** 3;
    expect(estimateBackfillWalBytes(2 * gb, 3 * gb)).toBe(5 * gb);
    const small = replicationCheck({ publications: [], logicalSlots: 0 }, estimateBackfillWalBytes(1024 ** 2, 2 * 1024 ** 2), 1000, formatBytes);
    expect(small).toMatchObject({ status: 'pass', message: expect.stringContaining('about 3.0 MB of WAL') });
    expect(replicationCheck({ publications: [], logicalSlots: 0 }, WAL_WARN_BYTES, 1e7, formatBytes)).toMatchObject({ status: 'warn', code: 'SW_BACKFILL_WAL', message: expect.stringContaining('1.0 GB') });
    const pub = replicationCheck({ publications: ['to_warehouse'], logicalSlots: 1 }, 3 * 1024 ** 2, 1000, formatBytes);
    expect(pub).toMatchObject({ status: 'warn', code: 'SW_PUBLICATION_INCLUDES_TABLE', message: expect.stringMatching(/to_warehouse.*~1000 rows.*about 3\.0 MB of WAL/), hint: expect.stringContaining('1 logical slot') });
  });

  it('sample keys can be turned off (additive field, default on)', () => {
    expect(sampleKeysAllowed(parseSpec(runbookSpec()))).toBe(true);
    expect(sampleKeysAllowed(parseSpec(runbookSpec({ notifications: { sampleKeys: false } })))).toBe(false);
    expect(() => parseSpec(runbookSpec({ notifications: { sampleKey: false } }))).toThrow(/unknown field "sampleKey"/);
  });

  it('redacts a password given as ?password= as well as in the userinfo', () => {
    const query = redact('postgres://app@db.example:5432/shop?password=s3cret&sslmode=require');
    expect(query).not.toContain('s3cret');
    expect(query).toContain('sslmode=require');
    expect(redact('postgres://app@db.example/shop?PassWord=s3cret')).not.toContain('s3cret');
    expect(redact('postgres://app:s3cret@db.example:5432/shop')).not.toContain('s3cret');
  });
});
