/**
 * Regression tests for issue 14 items 4, 6 and 7 (parts), from the reproductions in shared/reproductions
 * (review-generated, review-using-preflight, review-lexer): application writes keep working from expand to contract,
 * and `using` is one deterministic, side-effect-free expression. Real Postgres through the Data API emulator.
 */
import { Phase } from '../../lib/constants';
import { StepwiseError } from '../../lib/errors';
import { preflightPhase, type PreflightReport } from '../../lib/phases/preflight';
import { runbookSpec, seedProducts } from '../e2e/e2e-helpers';
import { tableChecksum, tableSchema } from '../harness/assertions';
import { PhaseDriver } from '../harness/run-phases';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database';

jest.setTimeout(90_000);

let db: TestDatabase;
afterEach(async () => db.close());

const preflight = (spec: unknown) => preflightPhase({ state: { spec } as never, slot: 'preflight' }, { db: db.executor }) as Promise<PreflightReport>;
const refusal = (spec: unknown) => preflight(spec).then(() => undefined, (e: unknown) => e as StepwiseError);
const withOp = (op: Record<string, unknown>, over: Record<string, unknown> = {}) => runbookSpec({ operation: { ...runbookSpec().operation, ...op }, ...over });
const snapshot = async (table: string) => ({ schema: await tableSchema(db.pg, table), data: await tableChecksum(db.pg, table, 'id') });
const advisoryLocks = async () => Number((await db.pg.query(`SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory'`)).rows[0].n);

describe('using: refused before it is ever evaluated (review-using-preflight, review-lexer)', () => {
  beforeEach(async () => {
    db = await createTestDatabase('wkw_using');
    await seedProducts(db, 50);
  });

  it.each([
    [`E'\\'';DROP TABLE "Product";--'`, 'SW_USING_SYNTAX'],
    [`round(price * 100); DROP TABLE "Product"`, 'SW_USING_SYNTAX'],
    ['round(price * 100) + (pg_sleep(0.01) IS NULL)::int * 0', 'SW_USING_SIDE_EFFECT'],
    ['round(price * 100) + (pg_try_advisory_lock(42))::int * 0', 'SW_USING_SIDE_EFFECT'],
    ['round(price * 100) + extract(epoch FROM now())::int * 0', 'SW_USING_SESSION_DEPENDENT'],
  ])('%s → %s; the table is untouched and no advisory lock is left', async (using, code) => {
    const before = await snapshot('Product');
    const e = await refusal(withOp({ using }));
    expect(e).toBeInstanceOf(StepwiseError);
    expect(e).toMatchObject({ code, hint: expect.any(String) });
    expect(await snapshot('Product')).toEqual(before);
    expect(await advisoryLocks()).toBe(0);
  });

  it('a user function is checked in pg_proc: VOLATILE is a side effect (never called), STABLE is session-dependent', async () => {
    await db.pg.query(`CREATE FUNCTION grab(p numeric) RETURNS numeric LANGUAGE sql VOLATILE AS $$ SELECT p + (pg_try_advisory_lock(7))::int * 0 $$`);
    await db.pg.query(`CREATE FUNCTION in_tz(p numeric) RETURNS numeric LANGUAGE sql STABLE AS $$ SELECT p + extract(hour FROM now())::int * 0 $$`);
    expect(await refusal(withOp({ using: 'round(grab(price) * 100)' }))).toMatchObject({ code: 'SW_USING_SIDE_EFFECT', message: expect.stringContaining('grab(), which pg_proc marks VOLATILE') });
    expect(await advisoryLocks()).toBe(0);
    expect(await refusal(withOp({ using: 'round(in_tz(price) * 100)' }))).toMatchObject({ code: 'SW_USING_SESSION_DEPENDENT', message: expect.stringContaining('in_tz()') });
  });

  it('a session-dependent cast is refused by the server (timestamptz → text reads DateStyle and TimeZone)', async () => {
    const e = await refusal(withOp({ column: 'updatedAt', newColumn: 'updated_text', newType: 'text', using: '"updatedAt"::text', notNull: false, index: undefined, renameTo: undefined }));
    expect(e).toMatchObject({ code: 'SW_USING_SESSION_DEPENDENT', message: expect.stringContaining('is not immutable') });
  });

  it('an aggregate is refused by the server as not a value of one row', async () => {
    expect(await refusal(withOp({ using: 'round(sum(price) * 100)' }))).toMatchObject({ code: 'SW_USING_NOT_ROW_EXPRESSION' });
  });

  it.each([
    // Refused by the old lexer.
    ['round(price * 100) + length($$a;b$$) * 0'],
    // Columns qualified by the table's name, as in the sync trigger's `(SELECT NEW.*) AS "Product"`.
    ['round("Product".price * 100)'],
  ])('%s passes every expression check', async (using) => {
    const result = await preflight(withOp({ using }));
    expect(result.checks.filter((c) => c.status === 'fail')).toEqual([]);
    expect(result.checks.find((c) => c.name === 'expression: deterministic')).toMatchObject({ status: 'pass' });
  });
});

describe('timestamp → timestamptz (review-generated, second case)', () => {
  beforeEach(async () => {
    db = await createTestDatabase('wkw_tz');
    await db.pg.query(`CREATE TABLE ev (id bigint PRIMARY KEY, at timestamp NOT NULL)`);
    await db.pg.query(`INSERT INTO ev SELECT g, '2026-01-01 12:00' FROM generate_series(1, 50) g`);
  });
  const spec = (using: string) => ({ name: 'ev-tz', table: { name: 'ev' }, operation: { type: 'convert-column', column: 'at', newColumn: 'at_tz', newType: 'timestamptz', using, notNull: true }, soak: 'PT0S' });

  it('at::timestamptz is refused (the trigger would convert in the application session\'s TimeZone)', async () => {
    expect(await refusal(spec('at::timestamptz'))).toMatchObject({ code: 'SW_USING_SESSION_DEPENDENT', hint: expect.stringContaining("AT TIME ZONE 'UTC'") });
  });

  it("at AT TIME ZONE 'UTC' passes, and a write from a session in another TimeZone verifies", async () => {
    const d = new PhaseDriver(db.executor, spec("at AT TIME ZONE 'UTC'"));
    await d.run(Phase.Preflight);
    await d.run(Phase.Backup);
    await d.run(Phase.Expand);
    await d.backfill();
    const c = await db.pg.connect();
    try {
      await c.query(`SET TimeZone = 'America/New_York'`);
      await c.query(`INSERT INTO ev VALUES (51, '2026-01-01 12:00')`);
    } finally {
      c.release();
    }
    const v = await d.verify();
    expect({ nulls: v.nulls, mismatches: v.mismatches }).toEqual({ nulls: 0, mismatches: 0 });
  });
});

describe('using over a generated column (review-generated, first case)', () => {
  beforeEach(async () => {
    db = await createTestDatabase('wkw_gen');
    await db.pg.query(`CREATE TABLE "Order" (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, qty int NOT NULL, unit numeric(10,2) NOT NULL,
       total numeric(12,2) GENERATED ALWAYS AS (qty * unit) STORED)`);
    await db.pg.query(`INSERT INTO "Order" (id, qty, unit) SELECT g, 1 + g % 5, 1.25 FROM generate_series(1, 200) g`);
    await db.pg.query(`SELECT setval(pg_get_serial_sequence('"Order"', 'id'), 200)`);
  });
  const spec = (using: string) => ({ name: 'order-total-cents', table: { name: 'Order' }, operation: { type: 'convert-column', column: 'unit', newColumn: 'total_cents', newType: 'integer', using, notNull: true }, backfill: { batchSize: 100 }, soak: 'PT0S' });

  it('is refused, naming the generation expression to write instead, and nothing changes', async () => {
    const before = await snapshot('Order');
    const e = await refusal(spec('round(total * 100)'));
    expect(e).toMatchObject({ code: 'SW_USING_READS_GENERATED', message: expect.stringContaining('total (GENERATED ALWAYS AS'), hint: expect.stringMatching(/replacing total by \(.*qty.*unit.*\)/) });
    expect(await snapshot('Order')).toEqual(before);
  });

  it('written over the base columns, application INSERTs and UPDATEs keep working after constrain', async () => {
    const d = new PhaseDriver(db.executor, spec('round(qty * unit * 100)'));
    await d.run(Phase.Preflight);
    await d.run(Phase.Backup);
    await d.run(Phase.Expand);
    await d.backfill();
    await d.verify();
    await d.run(Phase.Constrain);
    await db.pg.query(`INSERT INTO "Order" (qty, unit) VALUES (2, 3.00)`);
    await db.pg.query(`UPDATE "Order" SET qty = 9 WHERE id = 1`);
    const rows = (await db.pg.query(`SELECT id, total_cents FROM "Order" WHERE id IN (1, 201) ORDER BY id`)).rows;
    expect(rows).toEqual([{ id: '1', total_cents: 1125 }, { id: '201', total_cents: 600 }]);
  });
});

describe('a newType whose ADD COLUMN rewrites the table', () => {
  beforeEach(async () => {
    db = await createTestDatabase('wkw_domain');
    await db.pg.query(`CREATE TABLE p (id bigint PRIMARY KEY, price numeric(10,2) NOT NULL)`);
    await db.pg.query(`INSERT INTO p SELECT g, g / 100.0 FROM generate_series(1, 2000) g`);
  });
  const spec = (newType: string) => ({ name: 'p-cents', table: { name: 'p' }, operation: { type: 'convert-column', column: 'price', newColumn: 'price_cents', newType, using: 'round(price * 100)', notNull: true }, soak: 'PT0S' });
  const filenode = async () => (await db.pg.query(`SELECT pg_relation_filenode('p')::text AS f`)).rows[0].f as string;

  it.each([
    ['a domain with a CHECK', `CREATE DOMAIN cents AS integer CHECK (VALUE >= 0)`, /domain with constraints \(cents: CHECK/],
    ['a domain over a NOT NULL domain', `CREATE DOMAIN base_cents AS integer NOT NULL; CREATE DOMAIN cents AS base_cents`, /base_cents: NOT NULL/],
    ['a domain with a volatile default', `CREATE DOMAIN cents AS integer DEFAULT (random() * 100)::int`, /default .*random.* is volatile/],
  ])('%s is refused before anything is changed', async (_what, ddl, message) => {
    for (const statement of ddl.split('; ')) await db.pg.query(statement);
    const before = await filenode();
    expect(await refusal(spec('cents'))).toMatchObject({ code: 'SW_NEW_TYPE_REWRITES', message: expect.stringMatching(message), hint: expect.stringContaining('base type') });
    expect(await filenode()).toBe(before);
    expect((await db.pg.query(`SELECT to_regnamespace('_stepwise') AS s`)).rows[0].s).toBeNull();
  });

  it('a domain without constraints passes, and expand does not rewrite the table', async () => {
    await db.pg.query(`CREATE DOMAIN cents AS integer`);
    const d = new PhaseDriver(db.executor, spec('cents'));
    const result = (await d.run(Phase.Preflight)) as PreflightReport;
    expect(result.checks.find((c) => c.name === 'new type')).toMatchObject({ status: 'pass' });
    const before = await filenode();
    await d.run(Phase.Backup);
    await d.run(Phase.Expand);
    expect(await filenode()).toBe(before);
  });
});

describe('values the application may still write', () => {
  beforeEach(async () => {
    db = await createTestDatabase('wkw_range');
    await seedProducts(db, 100);
  });

  it('numeric(10,2) → integer: warns with the exact bound the sync trigger would fail above, and the bound is exact', async () => {
    const result = await preflight(runbookSpec());
    const check = result.checks.find((c) => c.code === 'SW_TYPE_RANGE_NARROWER');
    expect(check).toMatchObject({ status: 'warn' });
    expect(check!.message).toContain('above 21474836.47 (21474836.48 does not convert)');
    expect(check!.message).toContain('below -21474836.48 (-21474836.49 does not convert)');
    expect(result.warnings.some((w) => w.includes('21474836.47'))).toBe(true);
    // What the warning says is true of the sync trigger: after expand, a write of 21474836.48 fails, .47 works.
    const d = new PhaseDriver(db.executor, runbookSpec());
    await d.run(Phase.Preflight);
    await d.run(Phase.Backup);
    await d.run(Phase.Expand);
    await db.pg.query(`UPDATE "Product" SET price = 21474836.47 WHERE id = 1`);
    await expect(db.pg.query(`UPDATE "Product" SET price = 21474836.48 WHERE id = 2`)).rejects.toThrow(/integer out of range/);
  });

  it('bigint holds every numeric(10,2) value: no warning', async () => {
    const result = await preflight(withOp({ newType: 'bigint' }));
    expect(result.checks.find((c) => c.name === 'new type range')).toMatchObject({ status: 'pass', message: expect.stringContaining('every value price numeric(10,2) admits converts') });
  });

  it('notNull over a nullable old column warns (an application NULL would fail after constrain); coalesce in using passes', async () => {
    await db.pg.query(`ALTER TABLE "Product" ALTER COLUMN price DROP NOT NULL`);
    const warned = await preflight(runbookSpec());
    expect(warned.checks.find((c) => c.name === 'old column nullable')).toMatchObject({ status: 'warn', code: 'SW_OLD_COLUMN_NULLABLE', hint: expect.stringContaining('coalesce') });
    const mapped = await preflight(withOp({ using: 'round(coalesce(price, 0) * 100)' }));
    expect(mapped.checks.find((c) => c.name === 'old column nullable')).toMatchObject({ status: 'pass' });
  });
});

describe('item 7: resumed preflight, publications and WAL, sample keys', () => {
  beforeEach(async () => {
    db = await createTestDatabase('wkw_seven');
    await seedProducts(db, 300);
  });

  it("a resumed preflight does not warn about Stepwise's own triggers, but still about a user's", async () => {
    const d = new PhaseDriver(db.executor, runbookSpec());
    await d.run(Phase.Preflight);
    await d.run(Phase.Backup);
    await d.run(Phase.Expand);
    const resumed = (await d.run(Phase.Preflight)) as PreflightReport;
    expect(resumed.checks.find((c) => c.name === 'migration')).toMatchObject({ status: 'warn', message: expect.stringContaining('resuming') });
    expect(resumed.checks.find((c) => c.name === 'triggers')).toMatchObject({ status: 'pass' });
    await db.pg.query(`CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW."updatedAt" := now(); RETURN NEW; END $$`);
    await db.pg.query(`CREATE TRIGGER zz_touch BEFORE UPDATE ON "Product" FOR EACH ROW EXECUTE FUNCTION touch()`);
    const again = (await d.run(Phase.Preflight)) as PreflightReport;
    expect(again.checks.find((c) => c.name === 'triggers')).toMatchObject({ status: 'warn', code: 'SW_LATER_TRIGGERS', message: expect.stringContaining('zz_touch') });
    expect(again.checks.find((c) => c.name === 'triggers')!.message).not.toContain('_stepwise_');
  });

  it('size and sessions read a table that is not partitioned (pg_partition_tree lists nothing for it)', async () => {
    const heap = Number((await db.pg.query(`SELECT pg_relation_size('"Product"')::text AS b`)).rows[0].b);
    expect(heap).toBeGreaterThan(0);
    const client = await db.pg.connect();
    try {
      await client.query('BEGIN');
      await client.query('SELECT count(*) FROM "Product"');
      const result = await preflight(runbookSpec());
      expect(result.checks.find((c) => c.name === 'size')?.message).toContain(`heap ${heap / 1024}.0 kB`);
      expect(result.checks.find((c) => c.name === 'sessions')?.message).toContain('holds a lock on public.Product');
    } finally {
      await client.query('ROLLBACK');
      client.release();
    }
  });

  it('warns about a publication that includes the table, with the WAL the backfill writes', async () => {
    const none = await preflight(runbookSpec());
    expect(none.checks.find((c) => c.name === 'replication')).toMatchObject({ status: 'pass', message: expect.stringMatching(/about [\d.]+ (kB|MB) of WAL/) });
    await db.pg.query(`CREATE PUBLICATION to_warehouse FOR TABLE "Product"`);
    const result = await preflight(runbookSpec());
    expect(result.checks.find((c) => c.name === 'replication')).toMatchObject({
      status: 'warn',
      code: 'SW_PUBLICATION_INCLUDES_TABLE',
      message: expect.stringMatching(/publication to_warehouse: every one of its ~300 rows .* about [\d.]+ (kB|MB) of WAL/),
    });
  });

  it('notifications.sampleKeys: false leaves the keys out of preflight warnings and the verification failure', async () => {
    const op = { using: 'price * 10', newType: 'numeric(12,0)', index: undefined, renameTo: undefined, notNull: false };
    const withKeys = await preflight(withOp(op));
    expect(withKeys.checks.find((c) => c.code === 'SW_PRECISION_LOST')?.message).toMatch(/\(e\.g\. id = \d+/);
    const spec = withOp(op, { notifications: { sampleKeys: false } });
    const without = await preflight(spec);
    const check = without.checks.find((c) => c.code === 'SW_PRECISION_LOST');
    expect(check?.status).toBe('warn');
    expect(check?.message).not.toMatch(/e\.g\./);
    const d = new PhaseDriver(db.executor, spec);
    await d.run(Phase.Preflight);
    await d.run(Phase.Backup);
    await d.run(Phase.Expand);
    await d.backfill();
    await db.pg.query(`ALTER TABLE "Product" DISABLE TRIGGER USER`);
    await db.pg.query(`UPDATE "Product" SET new_price_cents = -1 WHERE id IN (3, 4)`);
    await db.pg.query(`ALTER TABLE "Product" ENABLE TRIGGER USER`);
    const e = await d.verify().then(() => undefined, (err: unknown) => err as StepwiseError);
    expect(e).toMatchObject({ code: 'SW_VERIFY_FAILED', message: expect.stringContaining('2 rows where new_price_cents differs') });
    expect(e!.message).not.toMatch(/e\.g\./);
    expect((e!.details as { sampleIds: unknown[] }).sampleIds).toEqual([]);
  });
});
