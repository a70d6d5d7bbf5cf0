import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { privilegesCheck, relationsInPlan, sessionsCheck, versionCheck } from '../../lib/catalog/preflight-checks';
import { headroomCheck, sizeCheck, type SizeFacts } from '../../lib/catalog/table-size';
import { Phase } from '../../lib/constants';
import { StepwiseError } from '../../lib/errors';
import { startLocalDataApi } from '../../lib/local/local-data-api';
import { preflightPhase, runPreflightChecks, type PreflightReport } from '../../lib/phases/preflight';
import { checkSpecExpression, parseSpec, unquoted } from '../../lib/spec';
import { claimMigration } from '../../lib/state/migration-state';
import { runbookSpec, seedProducts } from '../e2e/e2e-helpers';
import { indexMustBeValid, tableChecksum, tableSchema } from '../harness/assertions';
import { PhaseDriver } from '../harness/run-phases';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database';

jest.setTimeout(60_000);

const spec = parseSpec(runbookSpec());
const sizes = (heapBytes: number, totalBytes: number, more: Partial<SizeFacts> = {}): SizeFacts => ({
  heapBytes, totalBytes, toastBytes: 0, indexBytes: 0, relations: 1, databaseBytes: 0, aurora: false, newValueBytes: 4, repackInstalled: false, repackAvailable: false, ...more,
});
const product = { schema: 'public', name: 'Product', primaryKey: { column: 'id', type: 'bigint' }, columns: [], estimatedRows: 0 };

describe('preflight checks (pure)', () => {
  it('fails PostgreSQL older than 13 and passes 13+', () => {
    expect(versionCheck(120015)).toMatchObject({ status: 'fail', code: 'SW_POSTGRES_VERSION', message: expect.stringMatching(/12\.15 is older than 13/) });
    expect(versionCheck(130000).status).toBe('pass');
  });

  it('advises pg_repack above 10 GB, saying whether it is installed or available', () => {
    const gb = 1024 ** 3;
    expect(sizeCheck(sizes(2 * gb, 3 * gb), 1e7).status).toBe('pass');
    expect(sizeCheck(sizes(11 * gb, 12 * gb, { repackInstalled: true, repackAvailable: true }), 1e8)).toMatchObject({ status: 'warn', hint: expect.stringMatching(/pg_repack is installed/) });
    expect(sizeCheck(sizes(11 * gb, 12 * gb, { repackAvailable: true }), 1e8).hint).toMatch(/CREATE EXTENSION pg_repack/);
    expect(sizeCheck(sizes(11 * gb, 12 * gb), 1e8).hint).toMatch(/not available/);
  });

  it('gives a headroom figure covering the update bloat and the index', () => {
    // 1 GiB heap + 1e6 × 4 bytes of integer; index entries 8 + 8 + 4 bytes at 90 % fill.
    expect(headroomCheck(sizes(1024 ** 3, 0), 1e6, true).message).toMatch(/about 1\.0 GB .* up to 1\.0 GB .* plus about 21\.2 MB for the index/);
  });

  it('names the exact GRANTs when the role lacks privileges, with identifiers quoted', () => {
    const check = privilegesCheck(parseSpec(runbookSpec({ table: { schema: 'Shop "A"', name: 'Product' } })), {
      role: 'app ro', owner: 'admin', ownsTable: false, canUpdate: false, schemaCreate: false, stateSchemaExists: false, stateOk: false, database: 'shop',
    });
    expect(check).toMatchObject({ status: 'fail', code: 'SW_PRIVILEGES_MISSING' });
    for (const grant of ['GRANT "admin" TO "app ro";', 'GRANT SELECT, UPDATE ON "Shop ""A"""."Product" TO "app ro";', 'GRANT CREATE ON SCHEMA "Shop ""A""" TO "app ro";', 'GRANT CREATE ON DATABASE "shop" TO "app ro";']) {
      expect(check.hint).toContain(grant);
    }
  });

  it('warns about sessions with their pid and age', () => {
    const check = sessionsCheck([{ pid: 4242, state: 'idle in transaction', user: 'app', ageSeconds: 90, touchesTable: true }], product);
    expect(check).toMatchObject({ status: 'warn', message: expect.stringMatching(/pid 4242 \(idle in transaction, app, 90 s, holds a lock on public\.Product\)/), hint: expect.stringMatching(/pg_terminate_backend\(4242\)/) });
  });

  it('lists the relations an EXPLAIN plan reads', () => {
    const plan = [{ Plan: { 'Node Type': 'Seq Scan', Schema: 'public', 'Relation Name': 'Product', Plans: [{ 'Relation Name': 'rates', Schema: 'public' }] } }];
    expect(relationsInPlan(JSON.stringify(plan))).toEqual(['public.Product', 'public.rates']);
  });

  it('spec: quoted identifiers and literals may contain ";" and "--"; bare ones are refused by the parser', async () => {
    expect(unquoted(`round("a;b--c" * 100) || 'x;y'`)).toBe(`round("" * 100) || ''`);
    expect(() => parseSpec(runbookSpec({ operation: { ...runbookSpec().operation, using: 'round("price; net" * 100)' } }))).not.toThrow();
    const bad = parseSpec(runbookSpec({ operation: { ...runbookSpec().operation, using: `price || ';'; DROP TABLE x` } }));
    await expect(checkSpecExpression(bad)).rejects.toThrow(/\$\.operation\.using: .*contains ";" outside a string/);
  });
});

describe('preflight checks (live)', () => {
  let db: TestDatabase;
  beforeEach(async () => {
    db = await createTestDatabase('checks');
    await seedProducts(db, 500);
  });
  afterEach(async () => db.close());
  const snapshot = async () => ({ schema: await tableSchema(db.pg, 'Product'), data: await tableChecksum(db.pg, 'Product', 'id') });

  it('returns every check with a status; the runbook passes', async () => {
    const checks = await runPreflightChecks(db.executor, runbookSpec());
    const byName = Object.fromEntries(checks.map((c) => [c.name, c]));
    for (const name of ['postgres version', 'table', 'migration', 'operation', 'index name', 'invalid indexes', 'expression', 'privileges', 'size', 'sessions', 'headroom']) {
      expect(byName[name]).toBeDefined();
    }
    expect(checks.filter((c) => c.status === 'fail')).toEqual([]);
    expect(checks.every((c) => ['pass', 'warn', 'fail'].includes(c.status) && typeof c.message === 'string' && typeof c.hint === 'string')).toBe(true);
    const result = (await new PhaseDriver(db.executor, runbookSpec()).run(Phase.Preflight)) as PreflightReport;
    expect(result.checks.length).toBe(checks.length);
  });

  it('reports failures as checks instead of throwing (for plan --database-url)', async () => {
    const checks = await runPreflightChecks(db.executor, runbookSpec({ table: { name: 'Nope' } }));
    expect(checks.find((c) => c.status === 'fail')).toMatchObject({ name: 'table', code: 'SW_TABLE_NOT_FOUND', hint: expect.stringMatching(/case-sensitive/) });
    expect((await runPreflightChecks(db.executor, { name: 'x' }))[0]).toMatchObject({ name: 'spec', status: 'fail', code: 'SW_SPEC_INVALID' });
  });

  it('warns about precision the cast rounds away, with a count and sample ids', async () => {
    const result = (await new PhaseDriver(db.executor, runbookSpec({ operation: { ...runbookSpec().operation, using: 'price * 10' } })).run(Phase.Preflight)) as PreflightReport;
    const check = result.checks.find((c) => c.code === 'SW_PRECISION_LOST');
    const expected = (await db.pg.query(`SELECT count(*)::int AS n FROM "Product" WHERE price * 10 <> round(price * 10)`)).rows[0].n;
    expect(expected).toBeGreaterThan(0);
    expect(check).toMatchObject({ status: 'warn', message: expect.stringMatching(new RegExp(`^${expected} rows where price \\* 10 has a fractional part .*\\(e\\.g\\. id = \\d+`)) });
    expect(result.warnings.some((w) => w.includes('SW_PRECISION_LOST'))).toBe(true);
  });

  it('warns about an idle-in-transaction session holding a lock on the table, with its pid', async () => {
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      await client.query('BEGIN');
      await client.query('SELECT count(*) FROM "Product"');
      const pid = (await client.query('SELECT pg_backend_pid() AS pid')).rows[0].pid;
      const checks = await runPreflightChecks(db.executor, runbookSpec());
      expect(checks.find((c) => c.name === 'sessions')).toMatchObject({
        status: 'warn',
        message: expect.stringContaining(`pid ${pid} (idle in transaction`),
        hint: expect.stringContaining('pg_terminate_backend'),
      });
    } finally {
      await client.query('ROLLBACK');
      await client.end();
    }
  });

  it('warns about an invalid index left by an earlier try, and expand rebuilds it', async () => {
    const s = runbookSpec();
    await claimMigration(db.executor, parseSpec(s), 500, 'exec-A');
    await db.pg.query('ALTER TABLE "Product" ADD COLUMN new_price_cents integer');
    await db.pg.query('UPDATE "Product" SET new_price_cents = 1');
    await expect(db.pg.query('CREATE UNIQUE INDEX CONCURRENTLY idx_products_new_price ON "Product" (new_price_cents)')).rejects.toThrow(/could not create unique index/);
    await db.pg.query('CREATE UNIQUE INDEX CONCURRENTLY stale_name_idx ON "Product" (new_price_cents)').catch(() => undefined);
    const driver = new PhaseDriver(db.executor, s);
    const result = (await driver.run(Phase.Preflight)) as PreflightReport;
    expect(result.checks.find((c) => c.name === 'index name')).toMatchObject({ status: 'warn', code: 'SW_INVALID_INDEX', hint: expect.stringMatching(/expand drops it and builds it again/) });
    expect(result.checks.find((c) => c.name === 'invalid indexes')).toMatchObject({ status: 'warn', message: expect.stringContaining('stale_name_idx') });
    await driver.run(Phase.Expand);
    await indexMustBeValid(db.pg, 'idx_products_new_price');
  });

  describe('a migration role with only SELECT, through a Data API emulator logged in as that role', () => {
    const role = `sw_readonly_${randomBytes(3).toString('hex')}`;
    const password = `pw-${randomBytes(6).toString('hex')}`;
    let local: Awaited<ReturnType<typeof startLocalDataApi>>;
    beforeEach(async () => {
      await db.pg.query(`CREATE ROLE ${role} LOGIN PASSWORD '${password}'`);
      await db.pg.query(`GRANT CONNECT ON DATABASE "${db.name}" TO ${role}`);
      await db.pg.query(`GRANT USAGE ON SCHEMA public TO ${role}`);
      await db.pg.query(`GRANT SELECT ON "Product" TO ${role}`);
      const url = new URL(db.url);
      url.username = role;
      url.password = password;
      local = await startLocalDataApi(url.toString());
    });
    afterEach(async () => {
      await local.close();
      await db.pg.query(`DROP OWNED BY ${role}`);
      await db.pg.query(`DROP ROLE ${role}`);
    });

    it('refuses with SW_PRIVILEGES_MISSING naming the GRANTs, and changes nothing', async () => {
      const before = await snapshot();
      const error = await preflightPhase({ state: { spec: runbookSpec() } as never, slot: 'preflight' }, { db: local.executor }).then(() => undefined, (e: unknown) => e);
      expect(error).toBeInstanceOf(StepwiseError);
      const e = error as StepwiseError;
      expect(e.code).toBe('SW_PRIVILEGES_MISSING');
      expect(e.message).toMatch(new RegExp(`the migration role ${role} is not the owner of public\\.Product`));
      expect(e.hint).toContain(`GRANT SELECT, UPDATE ON "public"."Product" TO "${role}";`);
      expect(e.hint).toMatch(/GRANT CREATE ON DATABASE/);
      expect(await snapshot()).toEqual(before);
      expect((await db.pg.query(`SELECT to_regnamespace('_stepwise') AS s`)).rows[0].s).toBeNull();
    });
  });
});
