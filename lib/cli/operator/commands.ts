/**
 * The operator's commands: `start`, `status`, `approve`, `reject`, `abort`, `history`. They talk to Step Functions
 * only through `@aws-sdk/client-sfn` (see sfn-client.ts), so they drive AWS, `stepwise local up` and LocalStack alike.
 * Each resolves with the exit code; failures throw a StepwiseError (printed with its fix, exit 1).
 */
import {
  DescribeExecutionCommand,
  ListExecutionsCommand,
  SendTaskFailureCommand,
  SendTaskSuccessCommand,
  StartExecutionCommand,
  StopExecutionCommand,
  type HistoryEvent,
  type SFNClient,
} from '@aws-sdk/client-sfn';
import { ConfigError, StepwiseError } from '../../errors';
import { applySoak, checkSpecExpression, loadSpecFile } from '../../spec';
import { StateName } from '../../workflow/state-names';
import { causeText } from '../output';
import { withResumeFlags, type ResumeFlags } from '../resume-from';
import { executionStatus, findWaitingGate, type ExecutionStatusView } from './execution-view';
import { followExecution } from './follow-command';
import { rejectEffect } from './reject-effect';
import { call, createSfnClient, fetchHistory, resolveExecutionArn, resolveStateMachineArn, type SfnConnectionOptions } from './sfn-client';

export type Write = (line: string) => void;

/** Phases that change nothing in the database: an abort there leaves nothing behind. */
const BEFORE_ANY_CHANGE = new Set<string>([StateName.Preflight, StateName.ApproveStart]);

/** The error name `stepwise reject` fails a gate with (the workflow's Catch routes it to rollback). */
export { REJECTED_ERROR } from '../../constants';
import { REJECTED_ERROR } from '../../constants';

/** Lets tests (and embedders) pass their own client; the commands create one from the flags otherwise. */
export interface ClientOverride {
  readonly client?: SFNClient;
}

async function withClient<T>(options: SfnConnectionOptions & ClientOverride, fn: (client: SFNClient) => Promise<T>): Promise<T> {
  if (options.client) return fn(options.client);
  const client = createSfnClient(options);
  try {
    return await fn(client);
  } finally {
    client.destroy();
  }
}

/** `<spec name>-<UTC timestamp>`, cut to Step Functions' 80 characters of `[A-Za-z0-9_-]`. */
export function defaultExecutionName(specName: string, now: Date = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  const base = specName.replace(/[^A-Za-z0-9_-]+/g, '-').replace(/^-+|-+$/g, '') || 'migration';
  return `${base.slice(0, 80 - stamp.length - 1)}-${stamp}`;
}

// ---------------------------------------------------------------------------------------------------------- start

export interface StartOptions extends SfnConnectionOptions, ClientOverride, ResumeFlags {
  readonly spec: string;
  readonly name?: string;
  readonly soak?: string;
  /** Follow the execution until it ends and resolve with its outcome (0 only for SUCCEEDED): `--wait`. */
  readonly wait?: boolean;
  /** Seconds between polls with `wait`. @default 5 */
  readonly intervalSeconds?: number;
  /** For tests: how `wait` sleeps between polls. */
  readonly sleep?: (ms: number) => Promise<void>;
}

/**
 * `stepwise start`: checks the spec here, starts an execution with it as input, prints the execution ARN. With
 * `--wait`, then streams its phases, gates and progress (`stepwise follow`) and exits with its outcome.
 */
export async function startCommand(options: StartOptions, write: Write, info: Write = () => undefined): Promise<number> {
  const spec = applySoak(await checkSpecExpression(loadSpecFile(options.spec), options.spec), options.soak);
  const name = options.name ?? defaultExecutionName(spec.name);
  if (!/^[A-Za-z0-9_-]{1,80}$/.test(name)) {
    throw new ConfigError(`--name "${name}" is not a valid execution name`, 'Use 1–80 letters, digits, - or _ (unique per state machine for 90 days).', { name });
  }
  return withClient(options, async (client) => {
    const stateMachineArn = await resolveStateMachineArn(client, options);
    const input = await withResumeFlags(client, spec, options);
    let executionArn: string | undefined;
    try {
      ({ executionArn } = await client.send(new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify(input) })));
    } catch (err) {
      if ((err as Error).name === 'ExecutionAlreadyExists') {
        throw new StepwiseError('SW_EXECUTION_EXISTS', `an execution named "${name}" already exists on ${stateMachineArn}`, 'Pick another --name (names stay reserved for 90 days), or omit --name for a timestamped one.', { name });
      }
      if ((err as Error).name === 'InvalidExecutionInput') {
        throw new StepwiseError('SW_SFN', `Step Functions refused the input: ${(err as Error).message}`, 'The spec must be JSON of at most 256 KiB.');
      }
      return call(() => Promise.reject(err), 'StartExecution');
    }
    write(executionArn ?? '');
    if (options.wait && executionArn) {
      info(`started ${name} of migration "${spec.name}"; following it until it ends (Ctrl-C stops following, not the migration)`);
      return followExecution(client, executionArn, write, options);
    }
    info(`started ${name} of migration "${spec.name}"; follow it with: stepwise follow ${name}`);
    return 0;
  });
}

// --------------------------------------------------------------------------------------------------------- status

export interface StatusOptions extends SfnConnectionOptions, ClientOverride {
  /** Execution name or ARN; the latest execution of the Stepwise state machine when absent. */
  readonly execution?: string;
  readonly json?: boolean;
}

/** Reads an execution's status view (DescribeExecution + the whole history). */
export async function readExecutionStatus(client: SFNClient, options: StatusOptions): Promise<ExecutionStatusView> {
  const executionArn = options.execution ? await resolveExecutionArn(client, options.execution, options) : await latestExecutionArn(client, options);
  const description = await call(() => client.send(new DescribeExecutionCommand({ executionArn })), 'DescribeExecution');
  const history = await fetchHistory(client, executionArn);
  return executionStatus(description, history);
}

async function latestExecutionArn(client: SFNClient, options: SfnConnectionOptions): Promise<string> {
  const stateMachineArn = await resolveStateMachineArn(client, options);
  const { executions = [] } = await call(() => client.send(new ListExecutionsCommand({ stateMachineArn, maxResults: 1 })), 'ListExecutions');
  const latest = executions[0]?.executionArn;
  if (!latest) throw new StepwiseError('SW_NOT_FOUND', `no executions on ${stateMachineArn} yet`, 'Start one with `stepwise start --spec <file>`.');
  return latest;
}

/** `stepwise status`: phase, progress, the waiting gate; `--json` for scripts. */
export async function statusCommand(options: StatusOptions, write: Write): Promise<number> {
  const view = await withClient(options, (client) => readExecutionStatus(client, options));
  write(options.json ? JSON.stringify(view, null, 2) : formatStatus(view));
  return 0;
}

const mark = (status: string) => (status === 'SUCCEEDED' ? '✓' : status === 'FAILED' ? '✗' : '…');

/** The human status. */
export function formatStatus(v: ExecutionStatusView): string {
  const lines = [`execution ${v.name}  ${v.status}${v.migration ? `  (migration "${v.migration}")` : ''}`, `  arn:     ${v.executionArn}`];
  if (v.phase) lines.push(`  phase:   ${v.phase}${v.state && v.state !== v.phase ? ` (state ${v.state})` : ''}`);
  if (v.waitingFor) {
    lines.push(`  waiting for approval: ${v.waitingFor}${v.waitingSince ? ` since ${v.waitingSince}` : ''}`);
    lines.push(`    approve: stepwise approve ${v.name}    reject (${rejectEffect(v.waitingFor)}): stepwise reject ${v.name} --reason "…"`);
  }
  if (v.progress) {
    const p = v.progress;
    lines.push(`  backfill: ${p.rows}${p.estimatedRows ? `/${Math.max(p.estimatedRows, p.rows)}` : ''} rows${p.percent !== null ? ` (${p.percent}%)` : ''}, ${p.batches} batches${p.done ? ', done' : ''}`);
  }
  if (v.phases.length) {
    lines.push('  phases:');
    for (const p of v.phases) lines.push(`    ${mark(p.status)} ${p.name.padEnd(28)} ${p.seconds === null ? '' : `${p.seconds.toFixed(2)} s`}`);
  }
  if (v.verify.rowsChecked > 0) lines.push(`  verify:  ${v.verify.rowsChecked} rows checked, ${v.verify.nulls} NULLs, ${v.verify.mismatches} mismatches`);
  if (v.continuedAs) lines.push(`  continued in: ${v.continuedAs} (the backfill continued as new; run stepwise status on it)`);
  if (v.error) lines.push(`  error:   ${v.error}${v.cause ? `\n  cause:   ${causeText(v.cause)}` : ''}`);
  return lines.join('\n');
}

// --------------------------------------------------------------------------------------------- approve / reject

export interface GateOptions extends SfnConnectionOptions, ClientOverride {
  readonly execution: string;
}

/** The execution's waiting gate and its token, or a clear error saying why there is none. */
async function waitingGate(client: SFNClient, options: GateOptions, verb: string): Promise<{ executionArn: string; stateName: string; token: string }> {
  const executionArn = await resolveExecutionArn(client, options.execution, options);
  const description = await call(() => client.send(new DescribeExecutionCommand({ executionArn })), 'DescribeExecution');
  const history = await fetchHistory(client, executionArn);
  if (description.status !== 'RUNNING') {
    throw new StepwiseError('SW_NOT_WAITING', `cannot ${verb}: execution ${description.name ?? executionArn} has ended (${description.status})`, 'Run `stepwise status` on it to see how it ended; start a new execution with `stepwise start`.');
  }
  const gate = findWaitingGate(history);
  if (!gate) {
    const view = executionStatus(description, history);
    throw new StepwiseError(
      'SW_NOT_WAITING',
      `cannot ${verb}: execution ${view.name} is not waiting for approval (it is in ${view.state ?? 'its first state'})`,
      `Wait until \`stepwise status ${view.name}\` shows "waiting for approval", then ${verb} again.`,
    );
  }
  if (!gate.token) {
    throw new StepwiseError(
      'SW_NO_TASK_TOKEN',
      `cannot ${verb}: gate ${gate.stateName} waits, but its task token is not in the execution history`,
      'The history may be fetched without execution data; check that your identity may read it (states:GetExecutionHistory) and that the gate publishes metadata.additionalContext.taskToken.',
    );
  }
  return { executionArn, stateName: gate.stateName, token: gate.token };
}

export interface ApproveOptions extends GateOptions {
  readonly comment?: string;
}

/** `stepwise approve`: SendTaskSuccess on the waiting gate. */
export async function approveCommand(options: ApproveOptions, write: Write): Promise<number> {
  return withClient(options, async (client) => {
    const gate = await waitingGate(client, options, 'approve');
    const output = JSON.stringify({ approved: true, comment: options.comment ?? null, at: new Date().toISOString() });
    await call(() => client.send(new SendTaskSuccessCommand({ taskToken: gate.token, output })), 'SendTaskSuccess');
    write(`approved ${gate.stateName} of ${gate.executionArn}`);
    return 0;
  });
}

export interface RejectOptions extends GateOptions {
  readonly reason: string;
}

/** `stepwise reject`: SendTaskFailure (error `Rejected`, the reason as cause); the workflow rolls back. */
export async function rejectCommand(options: RejectOptions, write: Write): Promise<number> {
  if (!options.reason?.trim()) throw new ConfigError('reject needs a reason', 'Pass --reason "why" (it is recorded in the history and the notifications).');
  return withClient(options, async (client) => {
    const gate = await waitingGate(client, options, 'reject');
    await call(() => client.send(new SendTaskFailureCommand({ taskToken: gate.token, error: REJECTED_ERROR, cause: options.reason })), 'SendTaskFailure');
    write(`rejected ${gate.stateName} of ${gate.executionArn}: the workflow rolls back (follow it with stepwise status)`);
    return 0;
  });
}

// ---------------------------------------------------------------------------------------------------------- abort

export interface AbortOptions extends GateOptions {
  readonly reason?: string;
}

/** `stepwise abort`: StopExecution. No rollback runs (Step Functions stops at once). */
export async function abortCommand(options: AbortOptions, write: Write): Promise<number> {
  return withClient(options, async (client) => {
    const executionArn = await resolveExecutionArn(client, options.execution, options);
    const description = await call(() => client.send(new DescribeExecutionCommand({ executionArn })), 'DescribeExecution');
    if (description.status !== 'RUNNING') {
      throw new StepwiseError('SW_NOT_RUNNING', `execution ${description.name ?? executionArn} has already ended (${description.status})`, 'Nothing to abort; `stepwise status` shows how it ended.');
    }
    await call(
      () => client.send(new StopExecutionCommand({ executionArn, error: 'Stepwise.Aborted', cause: options.reason ?? 'stopped with `stepwise abort`' })),
      'StopExecution',
    );
    write(`aborted ${executionArn}`);
    const view = executionStatus(description, await fetchHistory(client, executionArn));
    const changed = view.phases.some((p) => !BEFORE_ANY_CHANGE.has(p.name));
    if (!changed) write('  it had not changed the database yet (it stopped before Backup).');
    else {
      write(`  no rollback ran (abort skips it; \`reject\` at a gate rolls back). It stopped in ${view.phase}: what it created (new column, trigger, index) stays,`);
      write(`  and the migration stays claimed by this execution: a plain \`stepwise start\` of the spec is refused (SW_MIGRATION_RUNNING); carry it on with \`stepwise start --spec <file> --resume-from ${executionArn}\`, or undo it with \`stepwise rollback --spec <file>\`.`);
    }
    return 0;
  });
}

// -------------------------------------------------------------------------------------------------------- history

export interface HistoryOptions extends GateOptions {
  readonly json?: boolean;
}

/** `stepwise history`: every event, one line each (`--json`: the events as the API returns them). */
export async function historyCommand(options: HistoryOptions, write: Write): Promise<number> {
  const events = await withClient(options, async (client) => fetchHistory(client, await resolveExecutionArn(client, options.execution, options)));
  if (options.json) write(JSON.stringify(events, null, 2));
  else for (const line of formatHistory(events)) write(line);
  return 0;
}

/** One line per event: id, seconds since the first event, type, and the state name or the error. */
export function formatHistory(events: readonly HistoryEvent[]): string[] {
  const start = events[0]?.timestamp?.getTime() ?? 0;
  return events.map((e) => {
    const at = e.timestamp ? `+${((e.timestamp.getTime() - start) / 1000).toFixed(3)}s` : '';
    const failure = [
      e.executionFailedEventDetails,
      e.taskFailedEventDetails,
      e.lambdaFunctionFailedEventDetails,
      e.taskTimedOutEventDetails,
      e.lambdaFunctionTimedOutEventDetails,
      e.executionAbortedEventDetails,
    ].find((d) => d !== undefined) as { error?: string; cause?: string } | undefined;
    const detail =
      e.stateEnteredEventDetails?.name ??
      e.stateExitedEventDetails?.name ??
      (e.taskScheduledEventDetails ? `${e.taskScheduledEventDetails.resourceType}:${e.taskScheduledEventDetails.resource}` : undefined) ??
      (failure?.error ? `${failure.error}${failure.cause ? `: ${oneLine(causeText(failure.cause))}` : ''}` : '');
    return `${String(e.id ?? '').padStart(4)}  ${at.padStart(10)}  ${(e.type ?? '').padEnd(26)} ${detail}`.trimEnd();
  });
}

function oneLine(text: string, max = 160): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}
