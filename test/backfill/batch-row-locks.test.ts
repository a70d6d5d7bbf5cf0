/**
 * runBatches when a batch meets a row lock (unit, FakeExecutor): the batch statement fails with 55P03 (nothing of it
 * committed); the next try is half the size after a pause; after MAX_BATCH_LOCK_TIMEOUTS in a row the invocation ends
 * without claiming progress, and a batch that succeeds resets the count.
 */
import { resolveBackfillSettings } from '../../lib/backfill';
import { FakeExecutor } from '../helpers/fake-executor';
import { LockTimeoutError } from '../../lib/errors';
import { MAX_BATCH_LOCK_TIMEOUTS, runBatches } from '../../lib/phases/backfill-batches';
import { parseSpec } from '../../lib/spec';
import type { TableFacts } from '../../lib/operations/operation';
import { runbookSpec } from '../e2e/e2e-helpers';

const table: TableFacts = {
  schema: 'public',
  name: 'Product',
  primaryKey: { column: 'id', type: 'integer' },
  columns: [{ name: 'id', type: 'integer', nullable: false }],
  estimatedRows: 10_000,
} as unknown as TableFacts;

function run(db: FakeExecutor, sleeps: number[]) {
  const spec = parseSpec(runbookSpec({ backfill: { batchSize: 1000, pauseMs: 0 } }));
  let clock = 0;
  return runBatches({
    db, now: () => (clock += 1), sleep: async (ms) => void sleeps.push(ms), table,
    task: { assignment: 'x = 1', pending: 'true' }, migration: 'm', settings: resolveBackfillSettings(spec.backfill),
    deadline: 1_000_000, cursor: null, size: 1000, rowsDone: 0, vacuumedAt: 0, lockTimeoutMs: 500, skipUserTriggers: false,
  });
}

const isBatch = (sql: string) => sql.startsWith('WITH batch');

describe('runBatches and row locks', () => {
  it('retries smaller after a pause, and ends the invocation after 5 lock timeouts in a row with no progress claimed', async () => {
    const db = new FakeExecutor(({ sql }) => {
      if (isBatch(sql)) throw new LockTimeoutError('Lock not acquired within lock_timeout');
      return [];
    });
    const sleeps: number[] = [];
    const result = await run(db, sleeps);
    const batches = db.statements.filter((s) => isBatch(s.sql));
    expect(batches.map((s) => s.params.limit)).toEqual([1000, 500, 250, 125, 62]);
    expect(batches.every((s) => s.params.lock_timeout === '500ms')).toBe(true);
    expect(sleeps).toEqual([500, 1000, 1500, 2000]);
    expect(result).toMatchObject({ done: false, rows: 0, batches: 0, cursor: null, lockTimeouts: MAX_BATCH_LOCK_TIMEOUTS });
  });

  it('goes on after a batch that succeeds, back at its size', async () => {
    let n = 0;
    const db = new FakeExecutor(({ sql, params }) => {
      if (!isBatch(sql)) return [];
      n += 1;
      if (n === 1) throw new LockTimeoutError('Lock not acquired within lock_timeout');
      const limit = Number(params.limit);
      // Second try: 500 rows done; third: the table ends.
      return n === 2 ? [{ last_key: '500', scanned: limit, updated: limit, paused: false, total_rows_done: 500 }] : [{ last_key: '700', scanned: 200, updated: 200, paused: false, total_rows_done: 700 }];
    });
    const result = await run(db, []);
    expect(db.statements.filter((s) => isBatch(s.sql)).map((s) => s.params.limit)).toEqual([1000, 500, 1000]);
    expect(result).toMatchObject({ done: true, rows: 700, batches: 2, cursor: '700', lockTimeouts: 1 });
  });
});
