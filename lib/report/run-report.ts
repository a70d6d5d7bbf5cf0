import type { HistoryEvent } from '@aws-sdk/client-sfn';
import { StateName } from '../workflow/state-names';
import type { BackfillResult, RollbackResult, VerifyResult, WorkflowState } from '../workflow/state';

/** The states a report lists as phases, in workflow order (loops and their Choice/Wait states are folded in). */
export const REPORTED_STATES: readonly string[] = [
  StateName.Preflight,
  StateName.ApproveStart,
  StateName.Backup,
  StateName.Expand,
  StateName.ConfirmDualWriteDeployed,
  StateName.Backfill,
  // The parallel backfill (backfill.parallelism > 1): the Map state of the key ranges.
  StateName.BackfillRanges,
  StateName.Verify,
  StateName.Constrain,
  StateName.ConfirmReadFromNewDeployed,
  StateName.Soak,
  StateName.VerifyAfterSoak,
  StateName.ApproveContract,
  StateName.VerifyBeforeContract,
  StateName.Contract,
  StateName.Rollback,
];

export interface PhaseReport {
  name: string;
  status: 'SUCCEEDED' | 'FAILED' | 'RUNNING';
  startedAt: string;
  endedAt: string | null;
  seconds: number | null;
}

/** The JSON `stepwise run --report FILE` writes: a contract for scripts, fields are only ever added. */
export interface RunReport {
  migration: string;
  executionArn: string;
  status: 'SUCCEEDED' | 'FAILED' | 'ABORTED' | 'TIMED_OUT' | 'RUNNING';
  error: string | null;
  cause: string | null;
  phases: PhaseReport[];
  backfill: { rows: number; batches: number; seconds: number; rowsPerSecond: number };
  verify: { nulls: number; mismatches: number; rowsChecked: number; sampleIds: string[] };
  transitions: number;
  startedAt: string;
  endedAt: string | null;
  /**
   * How the rollback ended, when one ran and returned: its outcome (`rolled-back`, `released`, `nothing-to-do`,
   * `skipped`), what it dropped and kept (read back from the catalog), why, and the command left to run. Null otherwise.
   */
  rollback: { outcome: string; summary: string; dropped: string[]; kept: string[]; reason: string | null; command: string | null } | null;
}

export interface ReportInput {
  readonly migration: string;
  readonly executionArn: string;
  readonly status: RunReport['status'];
  readonly error?: string | undefined;
  readonly cause?: string | undefined;
  readonly history: readonly HistoryEvent[];
  readonly transitions: number;
}

/** Builds the run report from an execution's history: the same code reads AWS's GetExecutionHistory and the twin's. */
export function buildRunReport(input: ReportInput): RunReport {
  const phases: PhaseReport[] = [];
  let lastState: WorkflowState | undefined;
  // A task that failed (and was caught) still exits its state; its last attempt decides the phase's status.
  let lastAttemptFailed = false;
  for (const event of input.history) {
    const at = new Date(event.timestamp ?? 0);
    if (event.lambdaFunctionFailedEventDetails || event.lambdaFunctionTimedOutEventDetails || event.taskFailedEventDetails || event.taskTimedOutEventDetails) {
      lastAttemptFailed = true;
    }
    if (event.lambdaFunctionSucceededEventDetails || event.taskSucceededEventDetails) lastAttemptFailed = false;
    const entered = event.stateEnteredEventDetails;
    if (entered?.name) lastAttemptFailed = false;
    if (entered?.name && REPORTED_STATES.includes(entered.name)) {
      const last = phases[phases.length - 1];
      if (last?.name === entered.name) {
        last.status = 'RUNNING';
        last.endedAt = null;
      } else {
        phases.push({ name: entered.name, status: 'RUNNING', startedAt: at.toISOString(), endedAt: null, seconds: null });
      }
    }
    const exited = event.stateExitedEventDetails;
    if (exited?.name) {
      if (exited.output) lastState = parseJson(exited.output) ?? lastState;
      const phase = phases.findLast((p) => p.name === exited.name);
      if (phase) {
        phase.status = lastAttemptFailed ? 'FAILED' : 'SUCCEEDED';
        phase.endedAt = at.toISOString();
        phase.seconds = round((at.getTime() - Date.parse(phase.startedAt)) / 1000);
      }
    }
  }
  if (input.status !== 'SUCCEEDED') {
    for (const phase of phases) if (phase.status === 'RUNNING' && input.status !== 'RUNNING') phase.status = 'FAILED';
  }
  const backfill = (lastState?.backfill as BackfillResult | undefined) ?? undefined;
  const verify = verifyFigures(lastState, input.cause);
  const first = input.history[0]?.timestamp;
  const last = input.history[input.history.length - 1]?.timestamp;
  return {
    migration: input.migration,
    executionArn: input.executionArn,
    status: input.status,
    error: input.error ?? null,
    cause: input.cause ?? null,
    phases,
    backfill: {
      rows: backfill?.rows ?? 0,
      batches: backfill?.batches ?? 0,
      seconds: round(backfill?.seconds ?? 0),
      rowsPerSecond: backfill && backfill.seconds > 0 ? Math.round(backfill.rows / backfill.seconds) : 0,
    },
    verify,
    transitions: input.transitions,
    startedAt: new Date(first ?? Date.now()).toISOString(),
    endedAt: input.status === 'RUNNING' ? null : new Date(last ?? Date.now()).toISOString(),
    rollback: rollbackFigures(lastState),
  };
}

function rollbackFigures(state: WorkflowState | undefined): RunReport['rollback'] {
  const r = state?.rollback as Partial<RollbackResult> | undefined;
  if (!r?.outcome) return null;
  return { outcome: r.outcome, summary: r.summary ?? '', dropped: [...(r.dropped ?? [])], kept: [...(r.kept ?? [])], reason: r.reason ?? null, command: r.command ?? null };
}

/** Verification figures: the last finished verification in the state, else those a VerificationError carried. */
function verifyFigures(state: WorkflowState | undefined, cause: string | undefined): RunReport['verify'] {
  const fromState = (state?.verifyBeforeContract as VerifyResult | undefined) ?? (state?.verifyAfterSoak as VerifyResult | undefined) ?? (state?.verify as VerifyResult | undefined);
  const v: Partial<VerifyResult> = verifyFromCause(cause) ?? fromState ?? {};
  return { nulls: v.nulls ?? 0, mismatches: v.mismatches ?? 0, rowsChecked: v.rowsChecked ?? 0, sampleIds: [...(v.sampleIds ?? [])] };
}

/** A failed verification's figures, from the Lambda error's Cause (`details` locally, the message on AWS). */
function verifyFromCause(cause: string | undefined): Partial<VerifyResult> | undefined {
  if (!cause?.includes('SW_VERIFY_FAILED')) return undefined;
  const parsed = parseJson(cause) as { details?: Partial<VerifyResult>; errorMessage?: string } | undefined;
  if (parsed?.details?.mismatches !== undefined) return parsed.details;
  const m = /found (\d+) rows where .* and (\d+) NULLs in (\d+) rows/.exec(parsed?.errorMessage ?? cause);
  return m ? { mismatches: Number(m[1]), nulls: Number(m[2]), rowsChecked: Number(m[3]) } : undefined;
}

function parseJson(text: string): WorkflowState | undefined {
  try {
    return JSON.parse(text) as WorkflowState;
  } catch {
    return undefined;
  }
}

const round = (n: number) => Math.round(n * 1000) / 1000;
