/**
 * The JSON that flows through the state machine. The execution input is the spec as the user wrote it; the first
 * state (`Init`, a Pass) wraps it as `{ spec }`, and each phase task writes its result to `$.<slot>`.
 *
 * Every Lambda task receives the same payload shape, `PhaseEvent`:
 *   { "execution.$": "$$.Execution.Id", "state.$": "$", "slot": "<result key>" }
 * and returns a small JSON result that the state machine stores at `$.<slot>` (`payloadResponseOnly`).
 * A looping task (backfill, verify) reads its own previous result from `state[slot]` to continue from its cursor.
 */
export interface PhaseEvent {
  readonly execution?: string;
  readonly state: WorkflowState;
  /** Where the task's result is stored in the state; a loop reads its previous result from here. */
  readonly slot: string;
  /** What a phase with several steps does (the backfill: split key ranges, one range, summarize); absent: its main step. */
  readonly action?: BackfillAction;
  /** The execution's limits as the state machine was built (absent when a phase is called without one). */
  readonly limits?: ExecutionLimits;
}

/** What every phase task is told about its execution: what preflight checks the spec against, what caps the backfill. */
export interface ExecutionLimits {
  /** The state machine's `TimeoutSeconds`: an execution past it ends TIMED_OUT, no rollback, no notification. */
  readonly executionTimeoutSeconds: number;
  /** How long each approval gate waits for an answer. */
  readonly approvalTimeoutSeconds: number;
  /** Backfill invocations one execution's history has room for; `backfill.maxInvocationsPerExecution` is capped to it. */
  readonly maxBackfillInvocations: number;
  /** Calls of one verification loop per execution before it continues as new (also capped by the spec's budget). */
  readonly maxVerifyCalls: number;
  /** Longest wait for one long statement (retries of SW_STATEMENT_RUNNING), in seconds. */
  readonly longStatementSeconds: number;
  /** Longest wait for the cluster snapshot, in seconds (0 when the workflow takes none). */
  readonly snapshotSeconds: number;
}

/** The backfill's steps besides the sequential loop (parallel key ranges, `backfill.parallelism` > 1). */
export const BackfillAction = {
  /** Split the key space into ranges (or find the ranges of an interrupted run); returns the ranges to do. */
  SplitRanges: 'split-ranges',
  /** One time-boxed invocation on one range (`state.range`), inside the Map state. */
  Range: 'range',
  /** After the Map: totals, done or continue as new. */
  Summarize: 'summarize',
} as const;
export type BackfillAction = (typeof BackfillAction)[keyof typeof BackfillAction];

export interface WorkflowState {
  readonly spec: unknown;
  readonly preflight?: PreflightResult;
  readonly backup?: BackupResult;
  readonly expand?: PhaseSummary;
  readonly backfill?: BackfillResult;
  readonly verify?: VerifyResult;
  readonly constrain?: PhaseSummary;
  readonly verifyAfterSoak?: VerifyResult;
  readonly contract?: PhaseSummary;
  readonly rollback?: RollbackResult;
  /** Set by a Catch (`resultPath: '$.error'`): `{ Error, Cause }`. */
  readonly error?: { readonly Error: string; readonly Cause?: string };
  readonly [slot: string]: unknown;
}

export interface PreflightResult {
  readonly primaryKey: string;
  readonly primaryKeyType: string;
  readonly estimatedRows: number;
  readonly soakSeconds: number;
  readonly warnings: readonly string[];
  /** Every preflight check with its verdict (pass / warn / fail) and fix. */
  readonly checks?: readonly { name: string; status: string; message: string; hint?: string }[];
  /** The migration already succeeded and the column is converted: the workflow ends here, changing nothing. */
  readonly alreadyDone?: boolean;
  /** A resumed run: the gates and the soak (`Soak`) the run it carries on already passed; the workflow skips them. */
  readonly resume?: { readonly skip: Readonly<Record<string, true>> };
}

export interface BackupResult {
  /** Where the backup is: a snapshot identifier on AWS, a table name locally. */
  readonly location: string;
  readonly rows: number;
  /** `rows` is the table's estimate: the copy outlasted one Data API call, and counting it would too. */
  readonly rowsEstimated?: boolean;
}

export interface PhaseSummary {
  readonly steps: readonly string[];
  readonly seconds: number;
}

/** How a rollback ended (`RollbackResult.outcome`). */
export const RollbackOutcome = {
  /** Everything the migration added is gone (or it had added nothing); the table is as before the migration. */
  RolledBack: 'rolled-back',
  /** The application reads or writes the new column: only the sync machinery was removed; the column and backup stay. */
  Released: 'released',
  /** This execution never claimed the table: it changed nothing, so there was nothing to undo. */
  NothingToDo: 'nothing-to-do',
  /** The migration is not this execution's (another owns it, or it already ended): nothing was touched. */
  Skipped: 'skipped',
} as const;
export type RollbackOutcome = (typeof RollbackOutcome)[keyof typeof RollbackOutcome];

/**
 * Result of the rollback phase. `dropped` and `kept` are read back from the catalog after the rollback ran, so the
 * notification and the report name the table's real end state, never what the plan meant to do.
 */
export interface RollbackResult extends PhaseSummary {
  readonly outcome: RollbackOutcome;
  /** Short, for a notification title: `rolled back`, `sync removed, new column kept`, … */
  readonly headline: string;
  /** Full sentences: what was dropped, what was kept and why, and what to do next. */
  readonly summary: string;
  /** Objects this rollback dropped (present before, absent after). */
  readonly dropped: readonly string[];
  /** Objects of the migration that exist after the rollback. */
  readonly kept: readonly string[];
  /** Why something was kept or skipped; null when nothing was. */
  readonly reason: string | null;
  /** The command (or SQL) that does the work this rollback left; null when none is left. */
  readonly command: string | null;
}

/** Result of one backfill invocation: a cursor to continue from and running totals. */
export interface BackfillResult {
  readonly done: boolean;
  /** Last primary key processed, as text; null before the first batch. */
  readonly cursor: string | null;
  readonly rows: number;
  readonly batches: number;
  readonly seconds: number;
  readonly estimatedRows: number;
  /** Seconds the state machine waits before the next invocation. */
  readonly waitSeconds: number;
  /**
   * The highest progress milestone (25, 50, 75 or 100 %) this invocation newly crossed, announced on SNS by
   * `NotifyBackfillProgress`; null or absent when none was crossed.
   */
  readonly milestone?: number | null;
}

export interface VerifyResult {
  readonly done: boolean;
  readonly cursor: string | null;
  readonly rowsChecked: number;
  readonly nulls: number;
  readonly mismatches: number;
  readonly sampleIds: readonly string[];
  readonly seconds: number;
  /** The execution this call ran in, and its calls of this loop so far (the history budget counts them). */
  readonly execution?: string | null;
  readonly executionCalls?: number;
  /** The migration's executions (continue-as-new), as the backfill carries them. */
  readonly lineage?: { readonly root: string; readonly generation: number };
  /** True when the loop's budget is spent: the state machine continues in `continuation` (the row is offered to it). */
  readonly continueAsNew?: boolean;
  readonly continuation?: { readonly root: string; readonly generation: number; readonly name: string; readonly executionArn: string } | null;
}

/**
 * The execution a finished one continued in (continue-as-new): `continuedAs.executionArn` of its output, which the
 * `ContinueAsNew` state writes; undefined for an execution that ran to its own end.
 */
export function continuedExecutionOf(output: unknown): string | undefined {
  const parsed = typeof output === 'string' ? safeJson(output) : output;
  const arn = (parsed as { continuedAs?: { executionArn?: unknown } } | null | undefined)?.continuedAs?.executionArn;
  return typeof arn === 'string' ? arn : undefined;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
