/**
 * `stepwise follow EXECUTION` and `stepwise start --wait`: stream an execution's phase changes, approval gates and
 * backfill progress until it ends (following continue-as-new executions), and exit with its outcome, so CI/CD can
 * run a migration and gate a deploy on it. Only DescribeExecution and GetExecutionHistory, through the same
 * `SFNClient` as every operator command.
 */
import { rejectEffect } from './reject-effect';
import { DescribeExecutionCommand, type SFNClient } from '@aws-sdk/client-sfn';
import { causeText } from '../output';
import { executionStatus, type ExecutionStatusView } from './execution-view';
import { call, createSfnClient, fetchHistory, resolveExecutionArn, type SfnConnectionOptions } from './sfn-client';

type Write = (line: string) => void;

/** Seconds between two polls on AWS (GetExecutionHistory is throttled per account). */
export const DEFAULT_FOLLOW_INTERVAL_SECONDS = 5;

/** Exit code of `follow` / `start --wait` for each end status: 0 only for SUCCEEDED. */
export const FOLLOW_EXIT_CODES: Readonly<Record<string, number>> = { SUCCEEDED: 0, FAILED: 1, TIMED_OUT: 2, ABORTED: 3 };

/** The exit code of an end status (1 for any status not listed, e.g. PENDING_REDRIVE). */
export function exitCodeOf(status: string): number {
  return FOLLOW_EXIT_CODES[status] ?? 1;
}

export interface FollowOptions extends SfnConnectionOptions {
  /** Seconds between polls. @default 5 */
  readonly intervalSeconds?: number;
  readonly client?: SFNClient;
  /** For tests: how to wait between polls. */
  readonly sleep?: (ms: number) => Promise<void>;
}

export interface FollowCommandOptions extends FollowOptions {
  /** Execution name or ARN. */
  readonly execution: string;
}

/** `stepwise follow EXECUTION`. */
export async function followCommand(options: FollowCommandOptions, write: Write): Promise<number> {
  const client = options.client ?? createSfnClient(options);
  try {
    const executionArn = await resolveExecutionArn(client, options.execution, options);
    return await followExecution(client, executionArn, write, options);
  } finally {
    if (!options.client) client.destroy();
  }
}

/**
 * Polls the execution until it ends, writing one line per change (phase entered, gate waiting, backfill progress,
 * continued as new), then the outcome. Resolves with {@link exitCodeOf} the final status of the last execution of a
 * continue-as-new chain.
 */
export async function followExecution(client: SFNClient, executionArn: string, write: Write, options: FollowOptions = {}): Promise<number> {
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const intervalMs = Math.max(0, (options.intervalSeconds ?? DEFAULT_FOLLOW_INTERVAL_SECONDS) * 1000);
  let arn = executionArn;
  let previous: ExecutionStatusView | undefined;
  for (;;) {
    const description = await call(() => client.send(new DescribeExecutionCommand({ executionArn: arn })), 'DescribeExecution');
    const view = executionStatus(description, await fetchHistory(client, arn));
    for (const line of changes(previous, view)) write(line);
    previous = view;
    if (view.status === 'RUNNING') {
      await sleep(intervalMs);
      continue;
    }
    if (view.continuedAs) {
      write(`continued as new in ${view.continuedAs.split(':').pop()}: following it`);
      arn = view.continuedAs;
      previous = { ...view, status: 'RUNNING', waitingFor: null };
      continue;
    }
    write(outcome(view));
    return exitCodeOf(view.status);
  }
}

/** What changed between two views of the same execution, as lines (the first view reports where it stands). */
export function changes(before: ExecutionStatusView | undefined, now: ExecutionStatusView): string[] {
  const lines: string[] = [];
  if (!before || before.executionArn !== now.executionArn) {
    lines.push(`following ${now.name}${now.migration ? ` (migration "${now.migration}")` : ''}: ${now.status}`);
  }
  if (now.phase && now.phase !== before?.phase) lines.push(`phase ${now.phase}`);
  if (now.waitingFor && now.waitingFor !== before?.waitingFor) {
    lines.push(`waiting for approval at ${now.waitingFor}: stepwise approve ${now.name}   or reject (${rejectEffect(now.waitingFor)}): stepwise reject ${now.name} --reason "…"`);
  }
  const p = now.progress;
  if (p && (p.rows !== before?.progress?.rows || p.done !== before?.progress?.done)) {
    lines.push(`backfill ${p.rows}${p.estimatedRows ? `/${Math.max(p.estimatedRows, p.rows)}` : ''} rows${p.percent !== null ? ` (${p.percent}%)` : ''}, ${p.batches} batches${p.done ? ', done' : ''}`);
  }
  return lines;
}

function outcome(view: ExecutionStatusView): string {
  const took = view.startedAt && view.stoppedAt ? ` in ${((Date.parse(view.stoppedAt) - Date.parse(view.startedAt)) / 1000).toFixed(1)} s` : '';
  if (view.status === 'SUCCEEDED') return `${view.name} SUCCEEDED${took}${view.state ? ` (ended in ${view.state})` : ''}`;
  const why = view.error ? `: ${view.error}${view.cause ? `: ${causeText(view.cause)}` : ''}` : '';
  return `${view.name} ${view.status}${took}${view.state ? ` (ended in ${view.state})` : ''}${why}`;
}
