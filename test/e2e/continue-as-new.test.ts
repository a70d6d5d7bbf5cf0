import { startAppTraffic } from '../../lib/demo/app-traffic';
import type { HistoryEvent } from '../../lib/local/step-functions';
import { StateName } from '../../lib/workflow/state-names';
import { tableMustBeCleanedUp } from '../harness/assertions';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database';
import { runbookSpec, runOnDatabase, seedProducts } from './e2e-helpers';

jest.setTimeout(180_000);

/** The combined history split into one list per execution (each begins with ExecutionStarted). */
function byExecution(history: readonly HistoryEvent[]): HistoryEvent[][] {
  const runs: HistoryEvent[][] = [];
  for (const event of history) {
    if (event.type === 'ExecutionStarted') runs.push([]);
    runs[runs.length - 1]!.push(event);
  }
  return runs;
}
const entered = (events: readonly HistoryEvent[], name: string) => events.filter((e) => e.stateEnteredEventDetails?.name === name).length;

describe('continue-as-new: a backfill longer than one execution’s history budget', () => {
  let db: TestDatabase;
  beforeEach(async () => {
    db = await createTestDatabase('continue');
    await seedProducts(db, 3000);
  });
  afterEach(async () => db.close());

  it('spans several executions, each within its budget, and finishes with every row right and none done twice', async () => {
    // Prepare: one 250-row batch per invocation (a 1 s time box is all margin), at most 2 invocations per execution;
    // the application writes throughout, so handovers happen under load.
    const spec = runbookSpec({ backfill: { batchSize: 250, pauseMs: 0, maxSecondsPerInvocation: 1, maxInvocationsPerExecution: 2 } });
    const traffic = startAppTraffic({ databaseUrl: db.url, maxId: 3000, connections: 2, thinkMs: 2, insertEvery: 5 });
    const approver = async (gate: { stateName: string }) => {
      if (gate.stateName === StateName.ApproveContract) {
        const stats = await traffic.stop();
        expect(stats.failed).toBe(0);
        await db.pg.query('CREATE TABLE expected AS SELECT id, round(price * 100)::int AS cents FROM "Product"');
      }
      return { approved: true as const };
    };

    // Act
    const { result, executions, history, report, messages } = await runOnDatabase(db, spec, approver);
    await traffic.stop();

    // Assess: one migration, several executions, each handing over to the next.
    expect(result.status).toBe('SUCCEEDED');
    expect(executions.length).toBeGreaterThanOrEqual(5);
    expect(new Set(executions).size).toBe(executions.length);
    expect(executions.slice(1).every((arn, i) => arn.endsWith(`-c${i + 1}`))).toBe(true);
    const runs = byExecution(history);
    expect(runs).toHaveLength(executions.length);
    runs.forEach((events, i) => {
      const last = i === runs.length - 1;
      // Within budget: at most 2 backfill invocations per execution.
      expect(entered(events, StateName.Backfill)).toBeLessThanOrEqual(2);
      expect(entered(events, StateName.ContinuedAsNew)).toBe(last ? 0 : 1);
      // Only the first execution plans and asks to start; the continuations enter straight at the backfill.
      expect(entered(events, StateName.Preflight)).toBe(i === 0 ? 1 : 0);
      expect(entered(events, StateName.ResumeContinuation)).toBe(i === 0 ? 0 : 1);
    });
    expect(entered(history, StateName.Contract)).toBe(1);
    expect(messages.filter((m) => m.stateName === StateName.NotifyContinuedAsNew)).toHaveLength(executions.length - 1);

    // Every row right; the cursor passed each row once: rows_done counts the seeded rows plus the rows the application
    // inserted ahead of the cursor, never more than the table holds (the application deletes nothing).
    const check = await db.pg.query(
      `SELECT count(*)::int AS n, count(*) FILTER (WHERE p.price_cents IS DISTINCT FROM e.cents)::int AS wrong FROM expected e FULL JOIN "Product" p USING (id)`,
    );
    expect(check.rows[0].wrong).toBe(0);
    expect(check.rows[0].n).toBeGreaterThan(3000);
    await tableMustBeCleanedUp(db.pg, 'Product');
    const row = (await db.pg.query(`SELECT status, rows_done::int, execution, handover FROM _stepwise.migrations WHERE name = 'product-price-cents'`)).rows[0];
    expect(row).toMatchObject({ status: 'succeeded', execution: executions[executions.length - 1], handover: null });
    expect(row.rows_done).toBeGreaterThanOrEqual(3000);
    expect(row.rows_done).toBeLessThanOrEqual(check.rows[0].n);
    expect(report.status).toBe('SUCCEEDED');
    expect(report.backfill.rows).toBe(row.rows_done);
  });
});
