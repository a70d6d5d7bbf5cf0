import type { Continuation, Lineage } from '../backfill';
import type { BackfillResult } from '../workflow/state';

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
  /** Time left at this invocation's rate, for humans (`1m 40s`, `0s` when done, `unknown` without a rate). */
  readonly eta: string;
  /** The execution this invocation ran in (null without one, e.g. a direct call). */
  readonly execution: string | null;
  /** Backfill invocations in this execution so far, this one included. */
  readonly executionInvocations: number;
  /** The execution the migration started in, and how many times it continued as new since. */
  readonly lineage: Lineage;
  /** True when the workflow must continue in a new execution now (`continuation` says which). */
  readonly continueAsNew: boolean;
  /** The next execution, set with `continueAsNew`; it resumes from the state table's cursor. */
  readonly continuation: Continuation | null;
}
