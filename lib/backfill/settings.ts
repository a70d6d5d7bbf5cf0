import type { Spec } from '../spec';
import { DEFAULT_MAX_INVOCATIONS_PER_EXECUTION } from './continuation';

/** Defaults of the adaptive backfill (the spec leaves these fields absent unless written). */
export const ADAPTIVE_DEFAULTS = {
  /**
   * @default 100 — a writer that needs a row of the running batch waits for it; 100 ms kept the writers' p99 under
   * 3× idle in the bench where 150 ms did not (docs/PERFORMANCE.md).
   */
  targetBatchMs: 100,
  /** @default 100 */
  minBatchSize: 100,
  /** @default 100000 */
  maxBatchSize: 100_000,
} as const;

/** Largest `backfill.parallelism` (the Map state's MaxConcurrency). */
export const MAX_PARALLELISM = 16;

/** Seconds the state machine waits between invocations while the migration is paused (state table `paused`). */
export const PAUSED_WAIT_SECONDS = 30;

/** Every knob of one backfill, resolved: what the engine runs with. */
export interface BackfillSettings {
  readonly mode: 'adaptive' | 'fixed';
  /** First batch's size (adaptive) or every batch's size (fixed). */
  readonly batchSize: number;
  readonly pauseMs: number;
  readonly maxSecondsPerInvocation: number;
  readonly targetBatchMs: number;
  readonly minBatchSize: number;
  readonly maxBatchSize: number;
  readonly maxRowsPerSecond: number | undefined;
  readonly vacuumEveryRows: number | undefined;
  readonly maxInvocationsPerExecution: number;
  /** Key ranges backfilled at once (1: the sequential loop). */
  readonly parallelism: number;
}

/**
 * Resolves the spec's backfill settings. Mode: the spec's `mode`; absent means adaptive (the schema already turned
 * an explicit `batchSize` without `mode` into `mode: "fixed"`). In adaptive mode `batchSize` is the first batch's size,
 * clamped to [minBatchSize, maxBatchSize]; the bounds widen to include an explicit batchSize rather than reject it.
 */
export function resolveBackfillSettings(backfill: Spec['backfill'], limits?: { readonly maxBackfillInvocations?: number }): BackfillSettings {
  const mode = backfill.mode ?? 'adaptive';
  const minBatchSize = backfill.minBatchSize ?? Math.min(ADAPTIVE_DEFAULTS.minBatchSize, backfill.maxBatchSize ?? Infinity);
  const maxBatchSize = backfill.maxBatchSize ?? Math.max(ADAPTIVE_DEFAULTS.maxBatchSize, minBatchSize);
  return {
    mode,
    batchSize: mode === 'fixed' ? backfill.batchSize : Math.max(minBatchSize, Math.min(maxBatchSize, backfill.batchSize)),
    pauseMs: backfill.pauseMs,
    maxSecondsPerInvocation: backfill.maxSecondsPerInvocation,
    targetBatchMs: backfill.targetBatchMs ?? ADAPTIVE_DEFAULTS.targetBatchMs,
    minBatchSize,
    maxBatchSize,
    maxRowsPerSecond: backfill.maxRowsPerSecond,
    vacuumEveryRows: backfill.vacuumEveryRows,
    // The spec's budget, within what the execution's history has room for (the state machine says, PhaseEvent.limits).
    maxInvocationsPerExecution: Math.min(backfill.maxInvocationsPerExecution ?? DEFAULT_MAX_INVOCATIONS_PER_EXECUTION, limits?.maxBackfillInvocations ?? Infinity),
    parallelism: backfill.parallelism ?? 1,
  };
}
