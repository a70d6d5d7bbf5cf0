import { Phase } from '../../lib/constants';
import type { Executor, QueryResult, Row, SqlParams, TransactionOptions } from '../../lib/db/executor';
import { runbookSpec, seedProducts } from '../e2e/e2e-helpers';
import { PhaseDriver } from '../harness/run-phases';
import { runPhase } from '../../lib/phases/run-phase';
import { BackfillAction } from '../../lib/workflow/state';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database';

jest.setTimeout(60_000);

const BATCH = /^WITH batch AS/;

/**
 * Sends every backfill batch statement twice to the real database, as the SDK does when a committed call's response
 * is lost (a connection reset after COMMIT): the caller gets the second answer.
 */
class ResendingExecutor implements Executor {
  resent = 0;
  constructor(private readonly inner: Executor) {}
  async query<R extends Row = Row>(sql: string, params?: SqlParams): Promise<QueryResult<R>> {
    if (!BATCH.test(sql)) return this.inner.query<R>(sql, params);
    await this.inner.query<R>(sql, params);
    this.resent += 1;
    return this.inner.query<R>(sql, params);
  }
  transaction<T>(fn: (tx: Executor) => Promise<T>, options?: TransactionOptions): Promise<T> {
    return this.inner.transaction(fn, options);
  }
}

describe('a resent autocommit backfill batch is not counted twice', () => {
  let db: TestDatabase;
  beforeEach(async () => {
    db = await createTestDatabase('bf_resend');
    await seedProducts(db, 1000);
  });
  afterEach(async () => db.close());

  it.each([
    ['sequential', {}],
    ['parallel key ranges', { parallelism: 3 }],
  ])('%s: rows_done equals the rows of the table, and every row is right', async (_mode, backfill) => {
    const spec = runbookSpec({ backfill: { batchSize: 100, pauseMs: 0, ...backfill } });
    const setup = new PhaseDriver(db.executor, spec);
    await setup.run(Phase.Preflight);
    await setup.run(Phase.Backup);
    await setup.run(Phase.Expand);
    const resending = new ResendingExecutor(db.executor);
    await backfillAll(resending, setup.state, (backfill as { parallelism?: number }).parallelism !== undefined);

    expect(resending.resent).toBeGreaterThanOrEqual(10);
    const row = (await db.pg.query(`SELECT rows_done::int AS rows_done, cursor FROM _stepwise.migrations`)).rows[0];
    expect(row.rows_done).toBe(1000);
    const wrong = await db.pg.query(`SELECT count(*)::int AS n FROM "Product" WHERE new_price_cents IS DISTINCT FROM round(price * 100)::int`);
    expect(wrong.rows[0].n).toBe(0);
  });
});

/** Sequential: the loop until done. Parallel: split, each range until done, then the summary (as the Map state does). */
async function backfillAll(db: Executor, state: Record<string, unknown>, parallel: boolean) {
  const call = (st: Record<string, unknown>, action?: BackfillAction) =>
    runPhase(Phase.Backfill, { state: st as never, slot: 'backfill', ...(action ? { action } : {}) }, { db, sleep: async () => undefined }) as Promise<{ done: boolean; ranges?: { range: number }[] }>;
  if (!parallel) {
    let st = state;
    for (let r = await call(st); ; r = await call(st)) {
      st = { ...st, backfill: r };
      if (r.done) return;
    }
  }
  const split = await call(state, BackfillAction.SplitRanges);
  expect(split.ranges!.length).toBeGreaterThan(1);
  for (const { range } of split.ranges!) {
    let st: Record<string, unknown> = { ...state, range };
    for (let r = await call(st, BackfillAction.Range); ; r = await call(st, BackfillAction.Range)) {
      st = { ...st, backfill: r };
      if (r.done) break;
    }
  }
  await call({ ...state, backfillRanges: split }, BackfillAction.Summarize);
}
