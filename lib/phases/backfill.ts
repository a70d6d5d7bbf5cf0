import {
  backfillBatchSql,
  DEFAULT_INVOCATION_WAIT_SECONDS,
  keysetParams,
  nextBatchSize,
  PAUSED_WAIT_SECONDS,
  rateCappedSize,
  resolveBackfillSettings,
  throttleDelayMs,
  TIME_BOX_MARGIN_MS,
} from '../backfill';
import { Phase } from '../constants';
import { StepwiseError } from '../errors';
import { quoteTable } from '../sql/quote';
import { markPhase, readBackfillState, recordBackfillTuning, recordVacuum } from '../state/migration-state';
import type { BackfillResult, PhaseEvent } from '../workflow/state';
import { loadPhaseContext, realSleep, type PhaseDeps } from './phase-context';

/** What one backfill invocation returns: the workflow's `BackfillResult` plus the engine's figures (fields only added). */
export interface BackfillInvocationResult extends BackfillResult {
  /** `adaptive` or `fixed` (see lib/backfill/settings.ts). */
  readonly mode: 'adaptive' | 'fixed';
  /** Size the next batch will use (persisted in the state table as `batch_size`). */
  readonly batchSize: number;
  /** Rows per second of this invocation's batches (pauses and throttling included). */
  readonly rowsPerSecond: number;
  /** True when the state table says `paused`: no batch ran, the cursor is unchanged. */
  readonly paused: boolean;
  /** Batches this invocation ran. */
  readonly invocationBatches: number;
}

/**
 * Backfill: runs keyset batches until the table ends or the invocation's time box is spent, then returns a cursor;
 * the state machine's Choice/Wait loop calls it again. The cursor that counts is the one in the state table, moved in
 * the same statement as each batch's rows, so a crashed or repeated invocation resumes exactly where the data is.
 *
 * Batch size: fixed (`batchSize`, as the runbook wrote it) or adaptive (sized toward `targetBatchMs`, starting from
 * the size the state table remembers). `maxRowsPerSecond` spaces batches out; `vacuumEveryRows` runs a plain VACUUM
 * on the way; `paused` in the state table stops the work at the next batch and the loop waits until it is cleared.
 */
export async function backfillPhase(event: PhaseEvent, deps: PhaseDeps): Promise<BackfillInvocationResult> {
  const now = deps.now ?? Date.now;
  const sleep = deps.sleep ?? realSleep;
  const started = now();
  const { spec, table, operation, ctx } = await loadPhaseContext(event, deps.db);
  const settings = resolveBackfillSettings(spec.backfill);
  const deadline = started + settings.maxSecondsPerInvocation * 1000 - TIME_BOX_MARGIN_MS;
  const task = operation.backfill(ctx);
  const state = await readBackfillState(deps.db, spec.name);
  if (!state) {
    throw new StepwiseError('SW_NOT_CLAIMED', `migration "${spec.name}" has no progress row`, 'The backup phase claims the table; run the workflow from the start.', { migration: spec.name });
  }
  await markPhase(deps.db, spec.name, Phase.Backfill);

  const adaptive = settings.mode === 'adaptive';
  // Adaptive: continue with the size the previous invocation learned (the state table keeps it across executions).
  let size = adaptive && state.batch_size ? Math.max(settings.minBatchSize, Math.min(settings.maxBatchSize, state.batch_size)) : settings.batchSize;
  let cursor = state.cursor;
  let vacuumedAt = state.vacuumed_at_rows;
  let rowsDone = state.rows_done;
  let done = false;
  let paused = false;
  let batches = 0;
  let rowsThisInvocation = 0;
  const firstBatchAt = now();
  for (;;) {
    const limit = adaptive ? rateCappedSize(size, settings.maxRowsPerSecond, settings.targetBatchMs, settings.minBatchSize) : size;
    const batchStarted = now();
    const row = (await deps.db.query(backfillBatchSql(table, task, cursor === null), { ...keysetParams(cursor, limit), migration: spec.name })).rows[0];
    const elapsedMs = now() - batchStarted;
    if (isTrue(row?.paused)) {
      paused = true;
      break;
    }
    const scanned = Number(row?.scanned ?? 0);
    batches += 1;
    rowsThisInvocation += scanned;
    rowsDone += scanned;
    if (scanned > 0) cursor = String(row?.last_key);
    deps.log?.('backfill batch', { cursor, scanned, limit, elapsedMs });
    if (scanned < limit) {
      done = true;
      break;
    }
    if (adaptive) size = nextBatchSize({ size: limit, scanned, elapsedMs }, { targetMs: settings.targetBatchMs, minBatchSize: settings.minBatchSize, maxBatchSize: settings.maxBatchSize });
    if (settings.vacuumEveryRows && rowsDone - vacuumedAt >= settings.vacuumEveryRows) {
      // Plain VACUUM (no lock that blocks reads or writes): makes the dead versions of the rows done so far reusable,
      // so the backfill's new versions fill them instead of doubling the heap.
      await deps.db.query(`VACUUM ${quoteTable(table)}`);
      vacuumedAt = rowsDone;
      await recordVacuum(deps.db, spec.name, rowsDone);
    }
    const delay = throttleDelayMs({ rowsDone: rowsThisInvocation, elapsedMs: now() - firstBatchAt, maxRowsPerSecond: settings.maxRowsPerSecond, pauseMs: settings.pauseMs });
    // Stop when the next batch (about as long as this one, or the target) would not end inside the time box.
    const expectedMs = adaptive ? Math.max(settings.targetBatchMs, elapsedMs) : elapsedMs;
    if (now() + delay + expectedMs >= deadline) break;
    if (delay > 0) await sleep(delay);
  }

  const seconds = (now() - firstBatchAt) / 1000;
  const rowsPerSecond = seconds > 0 ? Math.round(rowsThisInvocation / seconds) : 0;
  if (!paused && batches > 0) await recordBackfillTuning(deps.db, spec.name, size, rowsThisInvocation > 0 ? rowsPerSecond : null);
  const totals = (await readBackfillState(deps.db, spec.name))!;
  const previous = event.state[event.slot] as BackfillResult | undefined;
  return {
    done,
    cursor: totals.cursor ?? cursor,
    rows: totals.rows_done,
    batches: totals.batches,
    seconds: (previous?.seconds ?? 0) + (now() - started) / 1000,
    estimatedRows: Math.max(table.estimatedRows, totals.rows_done),
    waitSeconds: paused ? PAUSED_WAIT_SECONDS : DEFAULT_INVOCATION_WAIT_SECONDS,
    mode: settings.mode,
    batchSize: size,
    rowsPerSecond,
    paused,
    invocationBatches: batches,
  };
}

function isTrue(value: unknown): boolean {
  return value === true || value === 'true' || value === 't';
}
