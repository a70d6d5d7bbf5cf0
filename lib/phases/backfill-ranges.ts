import {
  DEFAULT_INVOCATION_WAIT_SECONDS,
  histogramBoundsSql,
  nextContinuation,
  ntileBoundsSql,
  PAUSED_WAIT_SECONDS,
  pickRangeBounds,
  placeInvocation,
  resolveBackfillSettings,
  TIME_BOX_MARGIN_MS,
  type Lineage,
  type PreviousInvocation,
} from '../backfill';
import { Phase } from '../constants';
import { StepwiseError } from '../errors';
import { claimMilestone, createRanges, markRangeDone, readRanges } from '../state/backfill-ranges';
import { markPhase, offerHandover } from '../state/migration-state';
import type { BackfillResult, PhaseEvent } from '../workflow/state';
import { Slot } from '../workflow/state-names';
import { formatEta, requireBackfillState, runBatches, startBatchSize, takeOverIfContinued } from './backfill-batches';
import type { BackfillInvocationResult } from './backfill-result';
import { loadPhaseContext, realSleep, type PhaseDeps } from './phase-context';

/** What `SplitKeyRanges` returns (at `$.backfillRanges`): the ranges the Map runs, and where the run stands. */
export interface KeyRangesPlan {
  /** The ranges not done yet, as Map items. */
  readonly ranges: readonly { readonly range: number }[];
  /** Ranges in all (done ones included). */
  readonly rangeCount: number;
  /** Where the split keys came from: planner statistics, an exact ntile scan, or an interrupted run's ranges. */
  readonly source: 'histogram' | 'ntile' | 'existing';
  /** When this execution's parallel backfill started (ms since the epoch) and the rows done then. */
  readonly startedAt: number;
  readonly rowsAtStart: number;
  readonly execution: string | null;
  readonly lineage: Lineage;
}

/** The milestones (25/50/75 %) a range may announce; 100 % is the summary's, once every range is done. */
const RANGE_MILESTONES = [75, 50, 25] as const;

/** The highest of 25/50/75 % that `rows` of `estimate` has reached, or null. @internal */
export function reachedMilestone(rows: number, estimate: number): number | null {
  if (!(estimate > 0)) return null;
  const pct = (rows / estimate) * 100;
  return RANGE_MILESTONES.find((m) => pct >= m) ?? null;
}

/**
 * Parallel backfill, step 1: splits the primary key into `parallelism` ranges of about equal row counts (quantiles
 * from the planner's statistics, or an exact ntile scan without them) and records them in the ranges table. A run
 * that already has ranges (a retry, a resumed or continued execution) keeps them and their cursors. Returns the ranges
 * left to do, for the Map state.
 */
export async function splitKeyRanges(event: PhaseEvent, deps: PhaseDeps): Promise<KeyRangesPlan> {
  const now = deps.now ?? Date.now;
  const { spec, table } = await loadPhaseContext(event, deps.db);
  const settings = resolveBackfillSettings(spec.backfill, event.limits);
  const place = await takeOverIfContinued(event, event.state[Slot.Backfill] as PreviousInvocation | undefined, deps, spec);
  const state = await requireBackfillState(deps.db, spec.name);
  await markPhase(deps.db, spec.name, Phase.Backfill);
  let ranges = await readRanges(deps.db, spec.name);
  let source: KeyRangesPlan['source'] = 'existing';
  if (ranges.length === 0) {
    const histogram = (
      await deps.db.query<{ key: string }>(histogramBoundsSql(table), { schema: table.schema, table: table.name, column: table.primaryKey.column })
    ).rows.map((r) => String(r.key));
    let bounds = pickRangeBounds(histogram, settings.parallelism);
    source = 'histogram';
    if (histogram.length < 2) {
      const tiles = (await deps.db.query<{ key: string }>(ntileBoundsSql(table), { parts: settings.parallelism })).rows.map((r) => String(r.key));
      bounds = tiles.slice(0, -1);
      source = 'ntile';
    }
    await createRanges(deps.db, spec.name, bounds);
    ranges = await readRanges(deps.db, spec.name);
  }
  deps.log?.('key ranges', { source, ranges: ranges.map((r) => ({ range: r.rangeNo, lower: r.lowerKey, upper: r.upperKey, done: r.done })) });
  return {
    ranges: ranges.filter((r) => !r.done).map((r) => ({ range: r.rangeNo })),
    rangeCount: ranges.length,
    source,
    startedAt: now(),
    rowsAtStart: state.rows_done,
    execution: event.execution ?? null,
    lineage: place.lineage,
  };
}

/**
 * Parallel backfill, step 2 (one Map iteration, looping): runs keyset batches inside one key range for at most the time
 * box, its cursor in the range's row, the totals in the migration's row. A range stops looping when it is done, or
 * when it has used its share of the execution's invocation budget (`continueAsNew`: the summary then continues the
 * migration in a new execution). Milestones (25/50/75 %) are claimed in the state row, so each is announced once.
 */
export async function backfillRange(event: PhaseEvent, deps: PhaseDeps): Promise<BackfillInvocationResult & { readonly range: number }> {
  const now = deps.now ?? Date.now;
  const started = now();
  const { spec, table, operation, ctx } = await loadPhaseContext(event, deps.db);
  const settings = resolveBackfillSettings(spec.backfill, event.limits);
  const rangeNo = Number((event.state as { range?: unknown }).range);
  const ranges = await readRanges(deps.db, spec.name);
  const range = ranges.find((r) => r.rangeNo === rangeNo);
  if (!range) {
    throw new StepwiseError('SW_NO_RANGE', `migration "${spec.name}" has no key range ${String((event.state as { range?: unknown }).range)}`, 'Key ranges are split by SplitKeyRanges; run the workflow from the start.', { migration: spec.name });
  }
  const previous = event.state[event.slot] as PreviousInvocation | undefined;
  const place = placeInvocation(previous, event.execution);
  const state = await requireBackfillState(deps.db, spec.name);
  const startSize = startBatchSize(settings, range.batchSize);
  const pending = ranges.filter((r) => !r.done);
  const run = range.done
    ? { cursor: range.cursor, done: true, paused: false, batches: 0, rows: 0, size: startSize, firstBatchAt: now(), lockTimeouts: 0, skippedUserTriggers: false }
    : await runBatches({
        db: deps.db, now, sleep: deps.sleep ?? realSleep, ...(deps.log ? { log: deps.log } : {}), table, task: operation.backfill(ctx),
        migration: spec.name, settings, deadline: started + settings.maxSecondsPerInvocation * 1000 - TIME_BOX_MARGIN_MS,
        cursor: range.cursor, size: startSize, rowsDone: state.rows_done, vacuumedAt: state.vacuumed_at_rows,
        range: { rangeNo, upperKey: range.upperKey },
        // One range vacuums (two VACUUMs of a table queue behind each other): the first one not done.
        mayVacuum: rangeNo === Math.min(...pending.map((r) => r.rangeNo)),
        live: { targetBatchMs: state.target_batch_ms, maxRowsPerSecond: state.max_rows_per_second },
        lockTimeoutMs: spec.lockTimeoutMs,
        // The rate limit is the migration's: the ranges running side by side share it.
        rateShare: Math.min(settings.parallelism, pending.length),
      });
  if (run.done && !range.done) await markRangeDone(deps.db, spec.name, rangeNo);
  const totals = await requireBackfillState(deps.db, spec.name);
  const estimatedRows = Math.max(table.estimatedRows, totals.rows_done);
  const reached = run.paused ? null : reachedMilestone(totals.rows_done, estimatedRows);
  const milestone = reached !== null && (await claimMilestone(deps.db, spec.name, reached)) ? reached : null;
  // Each range gets an equal share of the execution's invocation budget; all shares together stay within it.
  const budget = Math.max(1, Math.floor(settings.maxInvocationsPerExecution / Math.max(1, settings.parallelism, ranges.length)));
  const seconds = (now() - run.firstBatchAt) / 1000;
  const rowsPerSecond = seconds > 0 ? Math.round(run.rows / seconds) : 0;
  return {
    range: rangeNo,
    done: run.done,
    cursor: run.cursor,
    rows: totals.rows_done,
    batches: totals.batches,
    seconds: (now() - started) / 1000,
    estimatedRows,
    waitSeconds: run.paused ? PAUSED_WAIT_SECONDS : DEFAULT_INVOCATION_WAIT_SECONDS,
    mode: settings.mode,
    batchSize: run.size,
    rowsPerSecond,
    paused: run.paused,
    invocationBatches: run.batches,
    milestone,
    eta: run.done ? '0s' : formatEta(estimatedRows - totals.rows_done, rowsPerSecond * Math.max(1, settings.parallelism)),
    execution: event.execution ?? null,
    executionInvocations: place.executionInvocations,
    lineage: place.lineage,
    continueAsNew: !run.done && !!event.execution && place.executionInvocations >= budget,
    continuation: null,
  };
}

/**
 * Parallel backfill, step 3 (after the Map): the totals of all ranges; done when every range is, otherwise (some range
 * used its budget) the migration continues in a new execution, named and offered here exactly as the sequential loop
 * does. The 100 % milestone is announced from here, once.
 */
export async function summarizeRanges(event: PhaseEvent, deps: PhaseDeps): Promise<BackfillInvocationResult & { readonly rangeCount: number }> {
  const now = deps.now ?? Date.now;
  const { spec, table } = await loadPhaseContext(event, deps.db);
  const settings = resolveBackfillSettings(spec.backfill, event.limits);
  const plan = event.state[Slot.BackfillRanges] as KeyRangesPlan | undefined;
  if (!plan) throw new StepwiseError('SW_NO_RANGE', `migration "${spec.name}" has no key-range plan in its state`, 'SplitKeyRanges runs before the summary; run the workflow from the start.', { migration: spec.name });
  const ranges = await readRanges(deps.db, spec.name);
  const totals = await requireBackfillState(deps.db, spec.name);
  const done = ranges.length > 0 && ranges.every((r) => r.done);
  const continueAsNew = !done && !!event.execution;
  const continuation = continueAsNew && event.execution ? nextContinuation(event.execution, plan.lineage) : null;
  if (continuation && event.execution) await offerHandover(deps.db, spec.name, event.execution, continuation.executionArn);
  if (!done && !continuation) {
    throw new StepwiseError('SW_RANGES_UNFINISHED', `migration "${spec.name}": ${ranges.filter((r) => !r.done).length} key range(s) not done after the Map state`, 'Run the backfill again: every range resumes from its cursor.', { migration: spec.name });
  }
  const milestone = done && (await claimMilestone(deps.db, spec.name, 100)) ? 100 : null;
  const elapsed = (now() - plan.startedAt) / 1000;
  const rowsPerSecond = elapsed > 0 ? Math.round((totals.rows_done - plan.rowsAtStart) / elapsed) : 0;
  const estimatedRows = Math.max(table.estimatedRows, totals.rows_done);
  const earlier = event.state[Slot.Backfill] as BackfillResult | undefined;
  return {
    rangeCount: ranges.length,
    done,
    cursor: null,
    rows: totals.rows_done,
    batches: totals.batches,
    // Seconds of earlier executions (carried in the state) plus this one's parallel backfill.
    seconds: (earlier?.seconds ?? 0) + elapsed,
    estimatedRows,
    waitSeconds: DEFAULT_INVOCATION_WAIT_SECONDS,
    mode: settings.mode,
    batchSize: totals.batch_size ?? settings.batchSize,
    rowsPerSecond,
    paused: false,
    invocationBatches: 0,
    milestone,
    eta: done ? '0s' : formatEta(estimatedRows - totals.rows_done, rowsPerSecond),
    execution: event.execution ?? null,
    executionInvocations: 1,
    lineage: plan.lineage,
    continueAsNew,
    continuation,
  };
}
