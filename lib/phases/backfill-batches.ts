import {
  backfillBatchSql,
  clampBatchSize,
  keysetParams,
  placeInvocation,
  type PreviousInvocation,
  nextBatchSize,
  rateCappedSize,
  throttleDelayMs,
  type BackfillSettings,
} from '../backfill';
import { maySkipUserTriggers } from '../catalog/backfill-triggers';
import { sqlTrue, type Executor } from '../db/executor';
import { LockTimeoutError, StepwiseError } from '../errors';
import type { BackfillTask, TableFacts } from '../operations/operation';
import { quoteTable } from '../sql/quote';
import { acceptHandover, readBackfillState, readMigrationOwner, recordVacuum, runningElsewhereError, runningForAnotherExecution, type BackfillStateRow } from '../state/migration-state';
import type { Spec } from '../spec';
import type { PhaseEvent } from '../workflow/state';
import type { PhaseDeps } from './phase-context';

/** Where one invocation's batches start and what bounds them. */
export interface BatchRun {
  readonly db: Executor;
  readonly now: () => number;
  readonly sleep: (ms: number) => Promise<void>;
  readonly log?: (message: string, data?: Record<string, unknown>) => void;
  readonly table: TableFacts;
  readonly task: BackfillTask;
  readonly migration: string;
  readonly settings: BackfillSettings;
  /** No batch starts that would not end before this time (ms since the epoch). */
  readonly deadline: number;
  /** Last key done (exclusive start); null: from the first key. */
  readonly cursor: string | null;
  /** First batch's size (adaptive: what the state table remembers). */
  readonly size: number;
  /** The migration's rows done so far (all ranges) and at the last VACUUM. */
  readonly rowsDone: number;
  readonly vacuumedAt: number;
  /** A key range of a parallel backfill: its number and inclusive upper key (null: unbounded). */
  readonly range?: { readonly rangeNo: number; readonly upperKey: string | null };
  /** This run may VACUUM (one range does, so two never queue behind each other). @default true */
  readonly mayVacuum?: boolean;
  /** The state row's live settings when the invocation starts (`stepwise tune`; null: the spec's, rate 0: none). */
  readonly live?: { readonly targetBatchMs: number | null; readonly maxRowsPerSecond: number | null };
  /** Key ranges running side by side: each holds this share of the rate limit, so together they keep it. @default 1 */
  readonly rateShare?: number;
  /** `lock_timeout` of each batch (the spec's `lockTimeoutMs`): how long a batch may wait on a row lock. */
  readonly lockTimeoutMs: number;
  /**
   * The batches skip the application's triggers (`session_replication_role = replica` in each batch); undefined:
   * probed once ({@link maySkipUserTriggers}).
   */
  readonly skipUserTriggers?: boolean;
}

export interface BatchRunResult {
  readonly cursor: string | null;
  /** No rows left (in the range). */
  readonly done: boolean;
  /** The state table said paused: no batch ran past that point. */
  readonly paused: boolean;
  readonly batches: number;
  readonly rows: number;
  /** Size the next batch would use. */
  readonly size: number;
  /** When the first batch started, for the rate. */
  readonly firstBatchAt: number;
  /** Batches that met a row lock held longer than `lockTimeoutMs` and were given up (and retried smaller). */
  readonly lockTimeouts: number;
  /** Whether the batches skipped the application's triggers. */
  readonly skippedUserTriggers: boolean;
}

/** Batches in a row that may meet a row lock before the invocation ends (the state machine's loop calls again). */
export const MAX_BATCH_LOCK_TIMEOUTS = 5;


/**
 * Runs keyset batches from `cursor` until the table (or range) ends, the state table says paused, or the next batch
 * would not fit before `deadline`. Each batch is one autocommit statement that also moves the cursor (see
 * batch-sql.ts). Adaptive sizing, the rate limit and VACUUM every N rows apply between batches; the live settings in
 * the state row (`stepwise tune`), read by each batch statement, replace the spec's target and rate from the next batch.
 */
export async function runBatches(run: BatchRun): Promise<BatchRunResult> {
  const { db, now, settings, table, task, migration, range } = run;
  const adaptive = settings.mode === 'adaptive';
  const share = Math.max(1, run.rateShare ?? 1);
  // Live tuning: the state row's target and rate (NULL: the spec's; a rate of 0: no limit), read before the first
  // batch and again by every batch statement.
  const liveTarget = (value: unknown) => positive(value) ?? settings.targetBatchMs;
  const liveRate = (value: unknown) => {
    const rate = value === null || value === undefined ? settings.maxRowsPerSecond : positive(value);
    return rate === undefined ? undefined : Math.max(1, Math.floor(rate / share));
  };
  const skipUserTriggers = run.skipUserTriggers ?? (await maySkipUserTriggers(db));
  let targetBatchMs = liveTarget(run.live?.targetBatchMs);
  let maxRowsPerSecond = liveRate(run.live?.maxRowsPerSecond);
  let size = run.size;
  let cursor = run.cursor;
  let vacuumedAt = run.vacuumedAt;
  let rowsDone = run.rowsDone;
  let done = false;
  let paused = false;
  let batches = 0;
  let rows = 0;
  let lockTimeouts = 0;
  let lockTimeoutsInARow = 0;
  /** After a lock timeout: the next batch's size (half the last), which makes progress up to a locked row. */
  let retrySize: number | undefined;
  const firstBatchAt = now();
  const bounded = range !== undefined && range.upperKey !== null;
  for (;;) {
    const limit = retrySize ?? (adaptive ? rateCappedSize(size, maxRowsPerSecond, targetBatchMs, settings.minBatchSize) : size);
    const sql = backfillBatchSql(table, task, cursor === null, { bounded, range: range !== undefined, skipUserTriggers });
    const params = {
      ...keysetParams(cursor, limit), migration, lock_timeout: `${run.lockTimeoutMs}ms`,
      ...(range ? { range: range.rangeNo } : {}), ...(bounded ? { upper: range!.upperKey! } : {}),
    };
    const batchStarted = now();
    let row: Awaited<ReturnType<Executor['query']>>['rows'][number] | undefined;
    try {
      row = (await db.query(sql, params)).rows[0];
    } catch (err) {
      if (!(err instanceof LockTimeoutError)) throw err;
      // A row of the batch is locked (an application transaction): the statement gave up within lock_timeout and
      // released every row it had locked, and nothing of it committed (the cursor neither). Retry smaller after a
      // pause; after MAX_BATCH_LOCK_TIMEOUTS in a row, or at the deadline, end the invocation: the loop calls again.
      lockTimeouts += 1;
      lockTimeoutsInARow += 1;
      retrySize = Math.max(1, Math.floor(limit / 2));
      run.log?.('backfill batch met a row lock', { cursor, limit, lockTimeoutMs: run.lockTimeoutMs, inARow: lockTimeoutsInARow, ...(range ? { range: range.rangeNo } : {}) });
      const pause = Math.min(5_000, run.lockTimeoutMs * lockTimeoutsInARow);
      if (lockTimeoutsInARow >= MAX_BATCH_LOCK_TIMEOUTS || now() + pause + run.lockTimeoutMs >= run.deadline) break;
      await run.sleep(pause);
      continue;
    }
    lockTimeoutsInARow = 0;
    retrySize = undefined;
    const elapsedMs = now() - batchStarted;
    if (sqlTrue(row?.paused)) {
      paused = true;
      break;
    }
    targetBatchMs = liveTarget(row?.live_target_batch_ms);
    maxRowsPerSecond = liveRate(row?.live_max_rows_per_second);
    const scanned = Number(row?.scanned ?? 0);
    batches += 1;
    rows += scanned;
    rowsDone = row?.total_rows_done === null || row?.total_rows_done === undefined ? rowsDone + scanned : Number(row.total_rows_done);
    if (scanned > 0) cursor = String(row?.last_key);
    run.log?.('backfill batch', { cursor, scanned, limit, elapsedMs, ...(range ? { range: range.rangeNo } : {}) });
    if (scanned < limit) {
      done = true;
      break;
    }
    if (adaptive) size = nextBatchSize({ size: limit, scanned, elapsedMs }, { targetMs: targetBatchMs, minBatchSize: settings.minBatchSize, maxBatchSize: settings.maxBatchSize });
    if (settings.vacuumEveryRows && run.mayVacuum !== false && rowsDone - vacuumedAt >= settings.vacuumEveryRows) {
      // Plain VACUUM (no lock that blocks reads or writes): makes the dead versions of the rows done so far reusable,
      // so the backfill's new versions fill them instead of doubling the heap.
      await db.query(`VACUUM ${quoteTable(table)}`);
      vacuumedAt = rowsDone;
      await recordVacuum(db, migration, rowsDone);
    }
    const delay = throttleDelayMs({ rowsDone: rows, elapsedMs: now() - firstBatchAt, maxRowsPerSecond, pauseMs: settings.pauseMs });
    // Stop when the next batch (about as long as this one, or the target) would not end inside the time box.
    const expectedMs = adaptive ? Math.max(targetBatchMs, elapsedMs) : elapsedMs;
    if (now() + delay + expectedMs >= run.deadline) break;
    if (delay > 0) await run.sleep(delay);
  }
  return { cursor, done, paused, batches, rows, size, firstBatchAt, lockTimeouts, skippedUserTriggers: skipUserTriggers };
}

function positive(value: unknown): number | undefined {
  const n = value === null || value === undefined ? NaN : Number(value);
  return Number.isFinite(n) && n > 0 ? n : undefined;
}

/** The first batch's size: fixed mode's `batchSize`; adaptive, the size the state table remembers (within bounds). */
export function startBatchSize(settings: BackfillSettings, remembered: number | null): number {
  return settings.mode === 'adaptive' && remembered ? clampBatchSize(remembered, settings) : settings.batchSize;
}

/** The backfill's view of the migration row; `SW_NOT_CLAIMED` when the backup phase has not created it. */
export async function requireBackfillState(db: Executor, migration: string): Promise<BackfillStateRow> {
  const state = await readBackfillState(db, migration);
  if (!state) {
    throw new StepwiseError('SW_NOT_CLAIMED', `migration "${migration}" has no progress row`, 'The backup phase claims the table; run the workflow from the start.', { migration });
  }
  return state;
}

/** `1h 2m`, `3m 20s`, `45s`; `unknown` without a rate. @internal */
export function formatEta(remainingRows: number, rowsPerSecond: number): string {
  if (remainingRows <= 0) return '0s';
  if (!(rowsPerSecond > 0)) return 'unknown';
  const s = Math.ceil(remainingRows / rowsPerSecond);
  if (s >= 3600) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  if (s >= 60) return `${Math.floor(s / 60)}m ${s % 60}s`;
  return `${s}s`;
}

/**
 * Places this invocation in its execution (see `placeInvocation`) and makes sure the execution owns the migration
 * before any batch: on the first invocation of an execution that continues another, it takes the state row over
 * (`SW_HANDOVER_REFUSED` when the row was not offered to it); any execution that finds the row running for another
 * execution (e.g. one started by hand with a copy of a continuation's input) is refused with `SW_MIGRATION_RUNNING`.
 */
export async function takeOverIfContinued(event: PhaseEvent, previous: PreviousInvocation | undefined, deps: PhaseDeps, spec: Spec) {
  const migration = spec.name;
  const place = placeInvocation(previous, event.execution);
  if (place.handedOverFrom && event.execution && !(await acceptHandover(deps.db, migration, place.handedOverFrom, event.execution))) {
    throw new StepwiseError(
      'SW_HANDOVER_REFUSED',
      `execution ${event.execution} was started as the continuation of ${place.handedOverFrom}, but the state row of "${migration}" was not handed over to it`,
      'Only an execution that the running backfill started itself can take it over. Check `stepwise status` for the execution that owns the migration.',
      { migration, from: place.handedOverFrom },
    );
  }
  const owner = await readMigrationOwner(deps.db, migration);
  if (owner && runningForAnotherExecution(owner, event.execution)) {
    throw runningElsewhereError(spec, owner, event.execution);
  }
  return place;
}
