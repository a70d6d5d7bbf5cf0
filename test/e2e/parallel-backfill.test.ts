import { startAppTraffic, type TrafficStats } from '../../lib/demo/app-traffic';
import { StateName } from '../../lib/workflow/state-names';
import { tableMustBeCleanedUp } from '../harness/assertions';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database';
import { runbookSpec, runOnDatabase, seedProducts } from './e2e-helpers';

jest.setTimeout(180_000);

describe('parallel key ranges (backfill.parallelism), on the synthesized state machine', () => {
  let db: TestDatabase;
  beforeEach(async () => {
    db = await createTestDatabase('parallel');
    await seedProducts(db, 4000);
  });
  afterEach(async () => db.close());

  /** Application writes from the start until ApproveContract, then the expected cents of every row. */
  function withTraffic() {
    const traffic = startAppTraffic({ databaseUrl: db.url, maxId: 4000, connections: 2, thinkMs: 1, insertEvery: 5 });
    let stats: TrafficStats | undefined;
    const approver = async (gate: { stateName: string }) => {
      if (gate.stateName === StateName.ApproveContract) {
        stats = await traffic.stop();
        await db.pg.query('CREATE TABLE expected AS SELECT id, round(price * 100)::int AS cents FROM "Product"');
      }
      return { approved: true as const };
    };
    return { approver, stats: () => stats, stop: () => traffic.stop() };
  }

  async function everyRowRight() {
    const check = await db.pg.query(
      `SELECT count(*)::int AS n, count(*) FILTER (WHERE p.price_cents IS DISTINCT FROM e.cents)::int AS wrong FROM expected e FULL JOIN "Product" p USING (id)`,
    );
    expect(check.rows[0].wrong).toBe(0);
    expect(check.rows[0].n).toBeGreaterThan(4000);
    await tableMustBeCleanedUp(db.pg, 'Product');
    return check.rows[0].n as number;
  }

  it('splits the key into 4 ranges by quantiles, backfills them side by side under writes, and every row ends up right', async () => {
    // Prepare
    const traffic = withTraffic();
    const spec = runbookSpec({ backfill: { batchSize: 100, pauseMs: 0, parallelism: 4 } });

    // Act
    const { result, history, messages, report } = await runOnDatabase(db, spec, traffic.approver);
    await traffic.stop();

    // Assess: four ranges of about 1000 seeded keys each, all done; the totals add up.
    expect(result.status).toBe('SUCCEEDED');
    expect(traffic.stats()!.failed).toBe(0);
    const rows = await everyRowRight();
    const ranges = (await db.pg.query(`SELECT range_no, lower_key, upper_key, rows_done::int, done FROM _stepwise.backfill_ranges ORDER BY range_no`)).rows;
    expect(ranges).toHaveLength(4);
    expect(ranges.every((r) => r.done)).toBe(true);
    expect(ranges[0].lower_key).toBeNull();
    expect(ranges[3].upper_key).toBeNull();
    ranges.slice(0, 3).forEach((r, i) => {
      expect(Number(r.upper_key)).toBeGreaterThan(i * 1000 + 700);
      expect(Number(r.upper_key)).toBeLessThan((i + 1) * 1000 + 300);
      expect(ranges[i + 1].lower_key).toBe(r.upper_key);
    });
    const migration = (await db.pg.query(`SELECT rows_done::int, batches::int FROM _stepwise.migrations`)).rows[0];
    expect(migration.rows_done).toBe(ranges.reduce((sum, r) => sum + r.rows_done, 0));
    expect(migration.rows_done).toBeGreaterThanOrEqual(4000);
    expect(migration.rows_done).toBeLessThanOrEqual(rows);
    // The ranges really ran at the same time: a second range entered before the first one finished.
    const rangeEvents = history.filter((e) => e.stateEnteredEventDetails?.name === StateName.BackfillRange || e.stateExitedEventDetails?.name === StateName.BackfillRangeFinished);
    expect(rangeEvents.filter((e) => e.stateEnteredEventDetails).length).toBeGreaterThanOrEqual(4);
    const firstFinish = history.findIndex((e) => e.stateEnteredEventDetails?.name === StateName.BackfillRangeFinished);
    expect(history.slice(0, firstFinish).filter((e) => e.stateEnteredEventDetails?.name === StateName.BackfillRange).length).toBeGreaterThanOrEqual(2);
    // Milestones: none twice (ranges claim them in the state row), 100 % at the end, after every range.
    // (A range that crosses several at once announces the highest, as the sequential loop does.)
    const milestones = messages
      .filter((m) => m.stateName === StateName.NotifyBackfillRangeProgress || m.stateName === StateName.NotifyBackfillComplete)
      .map((m) => Number(/(\d+)% backfilled/.exec(m.message)?.[1]));
    expect(milestones.length).toBeGreaterThanOrEqual(2);
    expect(new Set(milestones).size).toBe(milestones.length);
    expect(milestones[milestones.length - 1]).toBe(100);
    expect(report.backfill.rows).toBe(migration.rows_done);
    expect(report.phases.map((p) => p.name)).toContain('BackfillRanges');
    expect(report.phases.map((p) => p.name)).not.toContain('Backfill');
    expect(report.verify).toMatchObject({ nulls: 0, mismatches: 0 });
  });

  it('continues as new with parallel ranges: each execution runs one invocation per range, the next resumes every range', async () => {
    // Prepare: 2 ranges, a budget of 2 invocations per execution (one per range), one 250-row batch per invocation.
    const traffic = withTraffic();
    const spec = runbookSpec({ backfill: { batchSize: 250, pauseMs: 0, maxSecondsPerInvocation: 1, parallelism: 2, maxInvocationsPerExecution: 2 } });

    // Act
    const { result, executions, history } = await runOnDatabase(db, spec, traffic.approver);
    await traffic.stop();

    // Assess
    expect(result.status).toBe('SUCCEEDED');
    expect(executions.length).toBeGreaterThanOrEqual(5);
    await everyRowRight();
    const splits = history.filter((e) => e.stateEnteredEventDetails?.name === StateName.SplitKeyRanges).length;
    expect(splits).toBe(executions.length);
    // Split once: the continuations found the ranges and their cursors.
    const ranges = (await db.pg.query(`SELECT count(*)::int AS n, bool_and(done) AS done FROM _stepwise.backfill_ranges`)).rows[0];
    expect(ranges).toEqual({ n: 2, done: true });
    const row = (await db.pg.query(`SELECT execution, handover FROM _stepwise.migrations`)).rows[0];
    expect(row).toEqual({ execution: executions[executions.length - 1], handover: null });
  });
});
