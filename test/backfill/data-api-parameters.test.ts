import { Phase } from '../../lib/constants';
import { backfillPhase } from '../../lib/phases/backfill';
import type { KeyRangesPlan } from '../../lib/phases/backfill-ranges';
import { markPhase, readBackfillState, recordBackfillTuning } from '../../lib/state/migration-state';
import { BackfillAction } from '../../lib/workflow/state';
import { runbookSpec } from '../e2e/e2e-helpers';
import { PhaseDriver } from '../harness/run-phases';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database';

jest.setTimeout(60_000);

/**
 * Parameters as the Data API binds them (a number as bigint, NULL untyped), through the emulator: the SQL must give
 * each one the type it needs.
 */
describe('backfill SQL and Data API parameter types', () => {
  let db: TestDatabase;
  beforeEach(async () => {
    db = await createTestDatabase('data_api_params');
    // No statistics, ever: the parallel split cannot use pg_stats and takes the exact ntile scan.
    await db.pg.query(`CREATE TABLE "Product" (id bigint PRIMARY KEY, name text NOT NULL, price numeric(10,2) NOT NULL) WITH (autovacuum_enabled = false)`);
    await db.pg.query(`INSERT INTO "Product" SELECT g, 'p' || g, g / 100.0 FROM generate_series(1, 400) g`);
  });
  afterEach(async () => db.close());

  it('splits a table without statistics into key ranges with ntile (the part count bound as bigint)', async () => {
    // Prepare
    const spec = runbookSpec({ backfill: { batchSize: 50, pauseMs: 0, parallelism: 4 } });
    const driver = new PhaseDriver(db.executor, spec);
    await driver.run(Phase.Preflight);
    await driver.run(Phase.Backup);
    await driver.run(Phase.Expand);
    expect((await db.pg.query(`SELECT 1 FROM pg_stats WHERE tablename = 'Product'`)).rowCount).toBe(0);

    // Act
    const plan = (await backfillPhase({ state: driver.state as never, slot: 'backfill', action: BackfillAction.SplitRanges }, { db: db.executor })) as KeyRangesPlan;

    // Assess
    expect(plan).toMatchObject({ source: 'ntile', rangeCount: 4 });
    const ranges = await db.pg.query(`SELECT lower_key, upper_key FROM _stepwise.backfill_ranges ORDER BY range_no`);
    expect(ranges.rows.map((r) => [r.lower_key, r.upper_key])).toEqual([[null, '100'], ['100', '200'], ['200', '300'], ['300', null]]);
  });

  it('keeps the recorded rate and status when the new value is NULL', async () => {
    // Prepare
    const spec = runbookSpec();
    const driver = new PhaseDriver(db.executor, spec);
    await driver.run(Phase.Preflight);
    await driver.run(Phase.Backup);
    await recordBackfillTuning(db.executor, spec.name, 100, 1234.5);

    // Act
    await recordBackfillTuning(db.executor, spec.name, 200, null);
    await markPhase(db.executor, spec.name, Phase.Backfill);

    // Assess
    expect(await readBackfillState(db.executor, spec.name)).toMatchObject({ batch_size: 200, rows_per_second: 1234.5 });
    const row = (await db.pg.query(`SELECT phase, status FROM _stepwise.migrations WHERE name = $1`, [spec.name])).rows[0];
    expect(row).toEqual({ phase: Phase.Backfill, status: 'running' });
  });
});
