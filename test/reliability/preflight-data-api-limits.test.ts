import { runPreflightChecks } from '../../lib/phases/preflight';
import { PhaseDriver } from '../harness/run-phases';
import { runbookSpec } from '../e2e/e2e-helpers';
import { tableChecksum, tableSchema } from '../harness/assertions';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database';

jest.setTimeout(120_000);

/**
 * Preflight reaches the database only through the Data API, whose results have limits (supported column types only,
 * 64 KB per row): its probes must stay inside them whatever the user's type or the table's partitioning.
 */
describe('preflight within the Data API result limits', () => {
  let db: TestDatabase;
  afterEach(async () => db.close());
  const snapshot = async (table: string) => ({ schema: await tableSchema(db.pg, table), data: await tableChecksum(db.pg, table, 'id') });

  it('checks a conversion to a type the Data API cannot return (interval), without selecting a value of it', async () => {
    // Prepare
    db = await createTestDatabase('preflight_interval');
    await db.pg.query(`CREATE TABLE "Job" (id bigint PRIMARY KEY, secs integer NOT NULL)`);
    await db.pg.query(`INSERT INTO "Job" SELECT g, g * 60 FROM generate_series(1, 50) g`);
    await db.pg.query('ANALYZE "Job"');
    const spec = runbookSpec({
      name: 'job-duration',
      table: { schema: 'public', name: 'Job' },
      operation: { type: 'convert-column', column: 'secs', newColumn: 'duration', newType: 'interval', using: 'make_interval(secs => secs)' },
    });
    // The Data API itself refuses the value (so a probe that selected it would fail the check).
    await expect(db.executor.query(`SELECT make_interval(secs => secs) AS v FROM "Job" LIMIT 1`)).rejects.toMatchObject({
      details: { errorName: 'UnsupportedResultException' },
    });
    const before = await snapshot('Job');

    // Act
    const checks = await runPreflightChecks(db.executor, spec);

    // Assess
    expect(checks.filter((c) => c.status === 'fail')).toEqual([]);
    expect(checks.find((c) => c.name === 'expression')?.status).toBe('pass');
    expect(await snapshot('Job')).toEqual(before);
  });

  it('migrates to that type through every phase, none of which selects a value of it', async () => {
    // Prepare
    db = await createTestDatabase('migrate_interval');
    await db.pg.query(`CREATE TABLE "Job" (id bigint PRIMARY KEY, secs integer NOT NULL)`);
    await db.pg.query(`INSERT INTO "Job" SELECT g, g * 60 FROM generate_series(1, 300) g`);
    await db.pg.query('ANALYZE "Job"');
    const spec = runbookSpec({
      name: 'job-duration',
      table: { schema: 'public', name: 'Job' },
      operation: { type: 'convert-column', column: 'secs', newColumn: 'duration', newType: 'interval', using: 'make_interval(secs => secs)', notNull: true },
      backfill: { batchSize: 100, pauseMs: 0 },
    });

    // Act
    await new PhaseDriver(db.executor, spec).runAll();

    // Assess: the old column is gone, every row holds its interval, NOT NULL holds.
    const columns = await db.pg.query(`SELECT column_name, data_type, is_nullable FROM information_schema.columns WHERE table_name = 'Job' ORDER BY ordinal_position`);
    expect(columns.rows).toEqual([
      { column_name: 'id', data_type: 'bigint', is_nullable: 'NO' },
      { column_name: 'duration', data_type: 'interval', is_nullable: 'NO' },
    ]);
    const wrong = await db.pg.query(`SELECT count(*)::int AS n FROM "Job" WHERE duration IS DISTINCT FROM make_interval(secs => id * 60)`);
    expect(wrong.rows[0].n).toBe(0);
  });

  it('still refuses an expression that reads another table, over a conversion to an unsupported type', async () => {
    db = await createTestDatabase('preflight_interval_foreign');
    await db.pg.query(`CREATE TABLE "Job" (id bigint PRIMARY KEY, secs integer NOT NULL)`);
    await db.pg.query(`CREATE TABLE factor (f integer)`);
    await db.pg.query(`INSERT INTO "Job" SELECT g, g FROM generate_series(1, 5) g`);
    const spec = runbookSpec({
      name: 'job-duration',
      table: { schema: 'public', name: 'Job' },
      operation: { type: 'convert-column', column: 'secs', newColumn: 'duration', newType: 'interval', using: 'make_interval(secs => secs * (SELECT max(f) FROM factor))' },
    });
    const checks = await runPreflightChecks(db.executor, spec);
    // Refused by the parser already (a subquery is no row expression), before anything is evaluated.
    expect(checks.find((c) => c.status === 'fail')).toMatchObject({ code: 'SW_USING_NOT_ROW_EXPRESSION', message: expect.stringMatching(/subquery/) });
  });

  it('passes on a table of 300 partitions, whose full EXPLAIN would not fit in one 64 KB result row', async () => {
    // Prepare
    db = await createTestDatabase('preflight_partitions');
    await db.pg.query(`CREATE TABLE "Product" (id bigint PRIMARY KEY, name text NOT NULL, price numeric(10,2) NOT NULL) PARTITION BY RANGE (id)`);
    await db.pg.query(`DO $$ BEGIN FOR i IN 0..299 LOOP
        EXECUTE format('CREATE TABLE %I PARTITION OF "Product" FOR VALUES FROM (%s) TO (%s)', 'Product_p' || i, i * 10 + 1, i * 10 + 11);
      END LOOP; END $$`);
    await db.pg.query(`INSERT INTO "Product" SELECT g, 'p' || g, g / 100.0 FROM generate_series(1, 3000) g`);
    await db.pg.query('ANALYZE "Product"');
    // The plan of the conversion over the whole table is larger than a Data API result row may be.
    const full = await db.pg.query(`EXPLAIN (VERBOSE, FORMAT JSON) SELECT (round(price * 100))::integer FROM "Product"`);
    expect(JSON.stringify(full.rows[0]).length).toBeGreaterThan(64 * 1024);
    const before = await snapshot('Product');

    // Without the index: Postgres cannot build one CONCURRENTLY on a partitioned table (preflight says so).
    const { index: _index, ...operation } = runbookSpec().operation as Record<string, unknown>;

    // Act
    const checks = await runPreflightChecks(db.executor, runbookSpec({ operation }));

    // Assess
    expect(checks.filter((c) => c.status === 'fail')).toEqual([]);
    expect(checks.find((c) => c.name === 'expression')?.status).toBe('pass');
    expect(await snapshot('Product')).toEqual(before);
  });
});
