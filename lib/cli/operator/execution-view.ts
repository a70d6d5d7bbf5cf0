/**
 * What the operator commands read from an execution's history (the same on AWS and on the local twin): the gate
 * waiting for approval and its task token, backfill progress, the current state, and the status summary.
 * Pure functions over `DescribeExecution` + `GetExecutionHistory` results.
 */
import type { DescribeExecutionCommandOutput, HistoryEvent } from '@aws-sdk/client-sfn';
import { buildRunReport, type PhaseReport, type RunReport } from '../../report/run-report';
import { continuedExecutionOf, type BackfillResult } from '../../workflow/state';
import { StateName } from '../../workflow/state-names';

/** A `.waitForTaskToken` gate that has been scheduled and not answered. */
export interface WaitingGate {
  readonly stateName: string;
  /** The task token, from the gate's SNS message in the `TaskScheduled` parameters (undefined when not there). */
  readonly token: string | undefined;
  readonly scheduledEventId: number;
  readonly since: Date | undefined;
}

const COMPLETIONS = new Set(['TaskSucceeded', 'TaskFailed', 'TaskTimedOut', 'TaskSubmitFailed', 'TaskStartFailed', 'TaskStateAborted']);

function parse(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * The task token of a gate, from its resolved `Parameters`: the approval gate publishes a Chatbot message whose
 * `metadata.additionalContext.taskToken` is `$$.Task.Token` (lib/workflow/definition/approval-gate.ts). The message
 * may be an object or a JSON string; any `taskToken`/`TaskToken` field is accepted as a fallback.
 */
export function taskTokenOf(parametersJson: string | undefined): string | undefined {
  const params = parse(parametersJson) as Record<string, unknown> | undefined;
  if (!params || typeof params !== 'object') return undefined;
  const message = typeof params.Message === 'string' ? parse(params.Message) : params.Message;
  const direct = (message as { metadata?: { additionalContext?: { taskToken?: unknown } } } | undefined)?.metadata?.additionalContext?.taskToken;
  if (typeof direct === 'string' && direct) return direct;
  return findTokenField(params) ?? (message !== undefined ? findTokenField(message) : undefined);
}

function findTokenField(value: unknown, depth = 0): string | undefined {
  if (depth > 8 || value === null || typeof value !== 'object') return undefined;
  for (const [key, v] of Object.entries(value)) {
    if ((key === 'taskToken' || key === 'TaskToken') && typeof v === 'string' && v) return v;
    const nested = findTokenField(typeof v === 'string' && v.startsWith('{') ? parse(v) : v, depth + 1);
    if (nested) return nested;
  }
  return undefined;
}

/**
 * The latest gate still waiting: a `TaskScheduled` of a `.waitForTaskToken` resource with no completion
 * (`TaskSucceeded`/`TaskFailed`/`TaskTimedOut`/…, linked back through `previousEventId`), no exit of its state, and
 * no end of the execution after it.
 */
export function findWaitingGate(history: readonly HistoryEvent[]): WaitingGate | undefined {
  const byId = new Map<number, HistoryEvent>();
  for (const e of history) if (e.id !== undefined) byId.set(e.id, e);
  const open = new Map<number, WaitingGate>();
  let lastEntered: string | undefined;
  const scheduledBefore = (event: HistoryEvent): number | undefined => {
    // Walk previousEventId back to the TaskScheduled this completion belongs to.
    let cursor = event.previousEventId !== undefined ? byId.get(event.previousEventId) : undefined;
    for (let hops = 0; cursor && hops < 50; hops += 1) {
      if (cursor.type === 'TaskScheduled') return cursor.id;
      if (cursor.type?.endsWith('StateEntered')) return undefined;
      cursor = cursor.previousEventId !== undefined ? byId.get(cursor.previousEventId) : undefined;
    }
    return undefined;
  };
  for (const event of history) {
    const type = event.type ?? '';
    if (event.stateEnteredEventDetails?.name) lastEntered = event.stateEnteredEventDetails.name;
    if (type === 'TaskScheduled') {
      const d = event.taskScheduledEventDetails;
      if (d?.resource?.endsWith('.waitForTaskToken') && event.id !== undefined) {
        open.set(event.id, {
          stateName: lastEntered ?? '(unknown state)',
          token: taskTokenOf(d.parameters),
          scheduledEventId: event.id,
          since: event.timestamp,
        });
      }
    } else if (COMPLETIONS.has(type)) {
      const id = scheduledBefore(event);
      if (id !== undefined) open.delete(id);
    } else if (event.stateExitedEventDetails?.name) {
      for (const [id, gate] of open) if (gate.stateName === event.stateExitedEventDetails.name) open.delete(id);
    } else if (type.startsWith('Execution') && type !== 'ExecutionStarted') {
      open.clear();
    }
  }
  let latest: WaitingGate | undefined;
  for (const gate of open.values()) if (!latest || gate.scheduledEventId > latest.scheduledEventId) latest = gate;
  return latest;
}

/** Backfill progress from the latest Backfill result in the history. */
export interface BackfillProgress {
  readonly rows: number;
  readonly estimatedRows: number;
  readonly batches: number;
  readonly done: boolean;
  /** rows / max(estimate, rows), 0–100; null before an estimate exists. */
  readonly percent: number | null;
}

function asBackfill(value: unknown): BackfillResult | undefined {
  const v = value as Partial<BackfillResult> | undefined;
  return v && typeof v === 'object' && typeof v.rows === 'number' && typeof v.done === 'boolean' ? (v as BackfillResult) : undefined;
}

/** The latest backfill result: the Backfill task's output, or `$.backfill` in a later state's output. */
export function backfillProgress(history: readonly HistoryEvent[]): BackfillProgress | null {
  let latest: BackfillResult | undefined;
  let current: string | undefined;
  for (const event of history) {
    if (event.stateEnteredEventDetails?.name) current = event.stateEnteredEventDetails.name;
    const output = event.lambdaFunctionSucceededEventDetails?.output ?? event.taskSucceededEventDetails?.output;
    if (output !== undefined && current === StateName.Backfill) {
      const parsed = parse(output) as { Payload?: unknown } | undefined;
      latest = asBackfill(parsed?.Payload ?? parsed) ?? latest;
    }
    const exited = event.stateExitedEventDetails;
    if (exited?.output !== undefined) latest = asBackfill((parse(exited.output) as { backfill?: unknown } | undefined)?.backfill) ?? latest;
  }
  if (!latest) return null;
  const estimate = latest.estimatedRows ?? 0;
  const total = Math.max(estimate, latest.rows);
  return {
    rows: latest.rows,
    estimatedRows: estimate,
    batches: latest.batches,
    done: latest.done,
    percent: latest.done ? 100 : total > 0 ? Math.min(100, Math.round((1000 * latest.rows) / total) / 10) : null,
  };
}

/** What `stepwise status --json` prints: a contract for scripts, fields are only ever added. */
export interface ExecutionStatusView {
  readonly executionArn: string;
  readonly name: string;
  readonly stateMachineArn: string | null;
  readonly migration: string | null;
  /** RUNNING, SUCCEEDED, FAILED, ABORTED (or AWS's TIMED_OUT, PENDING_REDRIVE). */
  readonly status: string;
  /** The state the execution is in (RUNNING) or ended in; null before the first state. */
  readonly state: string | null;
  /** The latest workflow phase entered (Preflight, Backfill, …, Rollback); null before Preflight. */
  readonly phase: string | null;
  /** The gate waiting for `stepwise approve`/`reject`, or null. */
  readonly waitingFor: string | null;
  readonly waitingSince: string | null;
  readonly progress: BackfillProgress | null;
  readonly phases: PhaseReport[];
  readonly backfill: RunReport['backfill'];
  readonly verify: RunReport['verify'];
  readonly error: string | null;
  readonly cause: string | null;
  readonly startedAt: string | null;
  readonly stoppedAt: string | null;
  readonly transitions: number;
  /** The execution this one handed the migration to (continue-as-new), or null: follow it with `stepwise status`. */
  readonly continuedAs: string | null;
}

/** Builds the status view from DescribeExecution and the full history. */
export function executionStatus(description: DescribeExecutionCommandOutput | Omit<DescribeExecutionCommandOutput, '$metadata'>, history: readonly HistoryEvent[]): ExecutionStatusView {
  const status = description.status ?? 'RUNNING';
  type Input = { name?: unknown; spec?: { name?: unknown }; stepwiseContinuation?: { state?: Input } };
  const given = parse(description.input) as Input | undefined;
  // A continued execution's input is the previous one's state: the spec is inside.
  const input = given?.stepwiseContinuation?.state ?? given;
  const migration = typeof input?.name === 'string' ? input.name : typeof input?.spec?.name === 'string' ? input.spec.name : null;
  const reportStatus = (['SUCCEEDED', 'FAILED', 'ABORTED', 'TIMED_OUT', 'RUNNING'] as const).find((s) => s === status) ?? 'FAILED';
  const report = buildRunReport({
    migration: migration ?? '',
    executionArn: description.executionArn ?? '',
    status: reportStatus,
    error: description.error,
    cause: description.cause,
    history,
    transitions: history.filter((e) => e.stateEnteredEventDetails).length,
  });
  const entered = history.filter((e) => e.stateEnteredEventDetails?.name);
  const gate = status === 'RUNNING' ? findWaitingGate(history) : undefined;
  return {
    executionArn: description.executionArn ?? '',
    name: description.name ?? description.executionArn?.split(':').pop() ?? '',
    stateMachineArn: description.stateMachineArn ?? null,
    migration,
    status,
    state: entered[entered.length - 1]?.stateEnteredEventDetails?.name ?? null,
    phase: report.phases[report.phases.length - 1]?.name ?? null,
    waitingFor: gate?.stateName ?? null,
    waitingSince: gate?.since ? gate.since.toISOString() : null,
    progress: backfillProgress(history),
    phases: report.phases,
    backfill: report.backfill,
    verify: report.verify,
    error: description.error ?? null,
    cause: description.cause ?? null,
    startedAt: description.startDate ? description.startDate.toISOString() : null,
    stoppedAt: description.stopDate ? description.stopDate.toISOString() : null,
    transitions: report.transitions,
    continuedAs: status === 'SUCCEEDED' ? (continuedExecutionOf(description.output) ?? null) : null,
  };
}
