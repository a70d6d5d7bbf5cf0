import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunReport } from '../../lib/report/run-report';
import { tableChecksum, tableSchema } from '../harness/assertions';
import { stepwise } from '../helpers/run-cli';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database';
import { seedProducts } from './e2e-helpers';

const EXAMPLE = join(__dirname, '..', '..', 'examples', 'product-price-cents.json');

jest.setTimeout(120_000);


describe('stepwise run --local (the real CLI process)', () => {
  let db: TestDatabase;
  let dir: string;
  beforeAll(async () => {
    db = await createTestDatabase('cli');
    await seedProducts(db, 1200);
    dir = mkdtempSync(join(tmpdir(), 'stepwise-cli-'));
  });
  afterAll(async () => db.close());

  it('runs the example to SUCCEEDED, exits 0 and writes the report', async () => {
    const report = join(dir, 'report.json');
    const result = await stepwise(['run', '--local', '--spec', EXAMPLE, '--database-url', db.url, '--auto-approve', '--soak', 'PT0S', '--report', report], dir);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/execution SUCCEEDED/);
    const json = JSON.parse(readFileSync(report, 'utf8')) as RunReport;
    expect(json.status).toBe('SUCCEEDED');
    expect(json.phases.length).toBeGreaterThan(8);
    expect(json.phases[0]).toEqual(expect.objectContaining({ name: 'Preflight', status: 'SUCCEEDED', startedAt: expect.any(String), endedAt: expect.any(String) }));
    expect(json.backfill).toEqual(expect.objectContaining({ rows: 1200, batches: expect.any(Number), seconds: expect.any(Number) }));
    expect(json.verify).toEqual(expect.objectContaining({ nulls: 0, mismatches: 0 }));
    expect(json.transitions).toBeGreaterThan(10);
    // The notifications went to the JSONL sink in the working directory.
    expect(readFileSync(join(dir, '.stepwise', 'notifications.jsonl'), 'utf8').split('\n').length).toBeGreaterThan(5);
    // The password of the database URL is never printed.
    const password = new URL(db.url).password;
    if (password) expect(result.stdout).not.toContain(password);
  });

  it('refuses a bad spec with the problem and the fix, exits 1, and changes nothing', async () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ name: 'bad', table: { name: 'Product' }, operation: { type: 'convert-column', column: 'price', newColumn: 'c', newType: 'integer', using: 'price; DROP TABLE "Product"' } }));
    const before = await tableSchema(db.pg, 'Product');
    const result = await stepwise(['run', '--local', '--spec', bad, '--database-url', db.url, '--auto-approve'], dir);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/SW_SPEC_INVALID[\s\S]*\$\.operation\.using[\s\S]*fix:/);
    expect(await tableSchema(db.pg, 'Product')).toBe(before);
  });

  it('exits 1 when the execution fails (a missing table), naming the table', async () => {
    const spec = join(dir, 'missing.json');
    writeFileSync(spec, JSON.stringify({ ...JSON.parse(readFileSync(EXAMPLE, 'utf8')), name: 'missing-table', table: { name: 'Nope' } }));
    const sum = await tableChecksum(db.pg, 'Product', 'id');
    const result = await stepwise(['run', '--local', '--spec', spec, '--database-url', db.url, '--auto-approve'], dir);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/execution FAILED[\s\S]*PreflightFailed[\s\S]*SW_TABLE_NOT_FOUND: table public.Nope does not exist/);
    expect(await tableChecksum(db.pg, 'Product', 'id')).toBe(sum);
  });

  it('plan --database-url shows preflight against the live table, and exits 1 when it would refuse', async () => {
    const ok = await stepwise(['plan', '--spec', EXAMPLE, '--database-url', db.url], dir);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/Preflight against the live database:[\s\S]*✓/);
    expect(ok.stdout).toContain('primary key "id" bigint');
    const spec = join(dir, 'no-column.json');
    writeFileSync(spec, JSON.stringify({ ...JSON.parse(readFileSync(EXAMPLE, 'utf8')), name: 'no-column', operation: { ...JSON.parse(readFileSync(EXAMPLE, 'utf8')).operation, column: 'prize' } }));
    const refused = await stepwise(['plan', '--spec', spec, '--database-url', db.url], dir);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toMatch(/✗[\s\S]*prize[\s\S]*fix:/);
  });

  it('plan prints every phase with its SQL and the rollback', async () => {
    const result = await stepwise(['plan', '--spec', EXAMPLE], dir);
    expect(result.code).toBe(0);
    for (const text of ['1. preflight', '4. expand', 'CREATE INDEX CONCURRENTLY', '5. backfill', '7. constrain', 'VALIDATE CONSTRAINT', '9. contract', 'rollback']) {
      expect(result.stdout).toContain(text);
    }
  });
});
