import { Phase } from '../../lib/constants';
import type { HistoryEvent } from '../../lib/local/step-functions';
import { StateName } from '../../lib/workflow/state-names';
import { NO_RETRY_PAUSES, runbookSpec, runOnDatabase, seedProducts } from '../e2e/e2e-helpers';
import { tableMustBeCleanedUp } from '../harness/assertions';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database';

jest.setTimeout(180_000);

const ROWS = 1000;
const BATCH_SQL = /UPDATE "public"\."Product" SET/;

/** Every failed Lambda task of the history, as (state, error). */
function lambdaFailures(history: readonly HistoryEvent[]): { state: string | undefined; error: string | undefined }[] {
  const failures: { state: string | undefined; error: string | undefined }[] = [];
  let state: string | undefined;
  for (const e of history) {
    if (e.type === 'TaskStateEntered') state = e.stateEnteredEventDetails?.name;
    const details = e.type === 'LambdaFunctionFailed' ? e.lambdaFunctionFailedEventDetails : e.type === 'TaskFailed' ? e.taskFailedEventDetails : undefined;
    if (details) failures.push({ state, error: details.error });
  }
  return failures;
}

async function everyRowRight(db: TestDatabase): Promise<number> {
  const wrong = await db.pg.query(
    `SELECT count(*)::int AS n FROM "Product" p JOIN _stepwise."_stepwise_product-price-cents_backup" b USING (id) WHERE p.price_cents IS DISTINCT FROM round(b.price * 100)::int`,
  );
  return wrong.rows[0].n as number;
}

describe('the twin Lambda service fails a task as AWS does, and the state machine retries it', () => {
  let db: TestDatabase;
  beforeEach(async () => {
    db = await createTestDatabase('lambda_service');
    await seedProducts(db, ROWS);
  });
  afterEach(async () => db.close());

  it('a Backfill function that runs past its timeout fails with Lambda.Unknown, is retried, and resumes from the cursor', async () => {
    // The function's timeout is 3 s (as a deploy could set it); one batch call hangs 8 s in the Data API, so the
    // environment is destroyed mid-invocation, exactly where a real timeout would cut it.
    db.emulator.faults.inject({ operation: 'Execute', sqlMatch: BATCH_SQL, times: 1, error: 'StatementTimeoutException', delayMs: 8000 });
    const { result, history } = await runOnDatabase(db, runbookSpec(), undefined, { functionOverrides: { [Phase.Backfill]: { timeoutSeconds: 3 } } });
    expect(lambdaFailures(history)).toEqual([{ state: StateName.Backfill, error: 'Lambda.Unknown' }]);
    expect(result.status).toBe('SUCCEEDED');
    const state = await db.pg.query(`SELECT rows_done::int AS rows FROM _stepwise.migrations`);
    expect(state.rows[0].rows).toBe(ROWS);
    expect(await everyRowRight(db)).toBe(0);
    await tableMustBeCleanedUp(db.pg, 'Product');
  });

  it('key ranges beyond the backfill function\'s reserved concurrency are throttled (Lambda.TooManyRequestsException) and retried', async () => {
    const spec = runbookSpec({ backfill: { batchSize: 250, pauseMs: 0, parallelism: 2 } });
    const { result, history } = await runOnDatabase(db, spec, undefined, {
      functionOverrides: { [Phase.Backfill]: { reservedConcurrency: 1 } },
      // A throttled range waits 2 s before its retry, so the range holding the one slot can finish.
      retryIntervalOverrides: { ...NO_RETRY_PAUSES, [StateName.BackfillRange]: 2000 },
    });
    const throttled = lambdaFailures(history).filter((f) => f.error === 'Lambda.TooManyRequestsException');
    expect(throttled.length).toBeGreaterThanOrEqual(1);
    expect(lambdaFailures(history).every((f) => f.error === 'Lambda.TooManyRequestsException')).toBe(true);
    expect(result.status).toBe('SUCCEEDED');
    expect(await everyRowRight(db)).toBe(0);
  });
});
