import {
  DEFAULT_INVOCATION_WAIT_SECONDS,
  PAUSED_WAIT_SECONDS,
  resolveBackfillSettings,
  TIME_BOX_MARGIN_MS,
  nextContinuation,
  shouldContinueAsNew,
  type PreviousInvocation,
} from '../backfill';
import { Phase } from '../constants';
import { markPhase, offerHandover, readBackfillState, recordBackfillTuning } from '../state/migration-state';
import { BackfillAction, type BackfillResult, type PhaseEvent } from '../workflow/state';
import { formatEta, requireBackfillState, runBatches, startBatchSize, takeOverIfContinued } from './backfill-batches';
import { backfillRange, splitKeyRanges, summarizeRanges, type KeyRangesPlan } from './backfill-ranges';
import type { BackfillInvocationResult } from './backfill-result';
import { loadPhaseContext, realSleep, type PhaseDeps } from './phase-context';

export { formatEta } from './backfill-batches';

export type { BackfillInvocationResult } from './backfill-result';

/** Progress milestones announced on SNS, in percent of the estimated rows. */
export const BACKFILL_MILESTONES = [25, 50, 75, 100] as const;

/**
 * The highest milestone (25/50/75 %) newly crossed from `before` to `after` rows of `estimate`; 100 when the backfill
 * is done (and only then, so 100 % is announced once, at the end, even when the estimate was low). Null otherwise.
 *
 * @example backfillMilestone({ before: 200, after: 600, estimate: 1000, done: false }) // 50
 */
export function backfillMilestone(input: { before: number; after: number; estimate: number; done: boolean }): number | null {
  const { before, after, estimate, done } = input;
  if (done) return 100;
  if (!(estimate > 0) || after <= before) return null;
  const pct = (rows: number) => (rows / estimate) * 100;
  const crossed = BACKFILL_MILESTONES.filter((m) => m < 100 && pct(before) < m && pct(after) >= m);
  return crossed.length ? crossed[crossed.length - 1]! : null;
}

/**
 * Backfill: runs keyset batches until the table ends or the invocation's time box is spent, then returns a cursor;
 * the state machine's Choice/Wait loop calls it again. The cursor that counts is the one in the state table, moved in
 * the same statement as each batch's rows, so a crashed or repeated invocation resumes exactly where the data is.
 *
 * Batch size: fixed (`batchSize`, as the runbook wrote it) or adaptive (sized toward `targetBatchMs`, starting from
 * the size the state table remembers). `maxRowsPerSecond` spaces batches out; `vacuumEveryRows` runs a plain VACUUM
 * on the way; `paused` in the state table stops the work at the next batch and the loop waits until it is cleared.
 *
 * With `backfill.parallelism` > 1 the workflow calls the parallel steps instead (`event.action`, see
 * backfill-ranges.ts): split the key into ranges, one range per Map iteration, then the summary.
 */
export async function backfillPhase(event: PhaseEvent, deps: PhaseDeps): Promise<BackfillInvocationResult | KeyRangesPlan> {
  switch (event.action) {
    case BackfillAction.SplitRanges:
      return splitKeyRanges(event, deps);
    case BackfillAction.Range:
      return backfillRange(event, deps);
    case BackfillAction.Summarize:
      return summarizeRanges(event, deps);
    default:
      return backfillSequential(event, deps);
  }
}

/** The sequential backfill (`parallelism` 1): one cursor, in the migration's row. */
async function backfillSequential(event: PhaseEvent, deps: PhaseDeps): Promise<BackfillInvocationResult> {
  const now = deps.now ?? Date.now;
  const sleep = deps.sleep ?? realSleep;
  const started = now();
  const { spec, table, operation, ctx } = await loadPhaseContext(event, deps.db);
  const settings = resolveBackfillSettings(spec.backfill, event.limits);
  const deadline = started + settings.maxSecondsPerInvocation * 1000 - TIME_BOX_MARGIN_MS;
  const task = operation.backfill(ctx);
  const previous = event.state[event.slot] as (BackfillResult & PreviousInvocation) | undefined;
  const place = await takeOverIfContinued(event, previous, deps, spec);
  const state = await requireBackfillState(deps.db, spec.name);
  await markPhase(deps.db, spec.name, Phase.Backfill);

  // Adaptive: continue with the size the previous invocation learned (the state table keeps it across executions).
  const startSize = startBatchSize(settings, state.batch_size);
  const batchRun = await runBatches({
    db: deps.db, now, sleep, ...(deps.log ? { log: deps.log } : {}), table, task, migration: spec.name, settings, deadline,
    cursor: state.cursor, size: startSize, rowsDone: state.rows_done, vacuumedAt: state.vacuumed_at_rows,
    live: { targetBatchMs: state.target_batch_ms, maxRowsPerSecond: state.max_rows_per_second },
    lockTimeoutMs: spec.lockTimeoutMs,
  });
  const { cursor, done, paused, batches, size, firstBatchAt } = batchRun;
  const rowsThisInvocation = batchRun.rows;

  const seconds = (now() - firstBatchAt) / 1000;
  const rowsPerSecond = seconds > 0 ? Math.round(rowsThisInvocation / seconds) : 0;
  if (!paused && batches > 0) await recordBackfillTuning(deps.db, spec.name, size, rowsThisInvocation > 0 ? rowsPerSecond : null);
  const totals = (await readBackfillState(deps.db, spec.name))!;
  const continueAsNew = shouldContinueAsNew({ done, execution: event.execution, executionInvocations: place.executionInvocations, maxInvocationsPerExecution: settings.maxInvocationsPerExecution });
  const continuation = continueAsNew && event.execution ? nextContinuation(event.execution, place.lineage) : null;
  if (continuation && event.execution) await offerHandover(deps.db, spec.name, event.execution, continuation.executionArn);
  const estimatedRows = Math.max(table.estimatedRows, totals.rows_done);
  // Milestones compare the rows done before and after this invocation (the state table's, so a retried or resumed
  // invocation announces what it crossed, and a paused one announces nothing).
  const milestone = paused ? null : backfillMilestone({ before: state.rows_done, after: totals.rows_done, estimate: estimatedRows, done });
  const rate = rowsPerSecond > 0 ? rowsPerSecond : (totals.rows_per_second ?? 0);
  return {
    done,
    cursor: totals.cursor ?? cursor,
    rows: totals.rows_done,
    batches: totals.batches,
    seconds: (previous?.seconds ?? 0) + (now() - started) / 1000,
    estimatedRows,
    waitSeconds: paused ? PAUSED_WAIT_SECONDS : DEFAULT_INVOCATION_WAIT_SECONDS,
    mode: settings.mode,
    batchSize: size,
    rowsPerSecond,
    paused,
    invocationBatches: batches,
    milestone,
    eta: done ? '0s' : formatEta(estimatedRows - totals.rows_done, rate),
    execution: event.execution ?? null,
    executionInvocations: place.executionInvocations,
    lineage: place.lineage,
    continueAsNew,
    continuation,
  };
}

