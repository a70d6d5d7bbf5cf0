/**
 * In-process stand-in for Step Functions' task tokens (`.waitForTaskToken`), which `aws-local-stepfunctions` lacks.
 * A gate registers here while its Task state waits; `sendTaskSuccess` / `sendTaskFailure` answer it exactly as the
 * `SendTaskSuccess` / `SendTaskFailure` APIs do, with the same error names for bad tokens.
 */
import { randomBytes } from 'node:crypto';

/** A gate waiting for an answer. */
export interface PendingApproval {
  readonly token: string;
  readonly executionArn: string;
  readonly stateName: string;
  /** What the gate announced: the SNS `Message` (or Lambda `Payload`) with the token substituted. */
  readonly message: unknown;
  /** All resolved `Parameters` of the task. */
  readonly parameters?: unknown;
  readonly since: Date;
}

/** What a gate provides when it starts waiting. */
export interface ApprovalRequest {
  readonly executionArn: string;
  readonly stateName: string;
  readonly message: unknown;
  readonly parameters?: unknown;
  /** Token to use; a random one (like AWS's opaque tokens) when omitted. */
  readonly token?: string;
}

/** How a gate stopped waiting. */
export type ApprovalOutcome = 'succeeded' | 'failed' | 'timed-out' | 'discarded';

/** The task failed through `sendTaskFailure`: `name` is the error (Catch matches it), `message` the cause. */
export class TaskFailedByCaller extends Error {
  constructor(error: string, cause: string) {
    super(cause);
    this.name = error;
  }
}

/** Error named like the AWS API error for an unknown, answered or expired token. */
export class TaskTokenError extends Error {
  constructor(name: 'TaskDoesNotExist' | 'TaskTimedOut' | 'InvalidToken' | 'InvalidOutput', message: string) {
    super(message);
    this.name = name;
  }
}

/**
 * Settles a gate that stopped waiting without an answer (task timeout, execution ended). Retry and Catch ignore it
 * (`aws-local-stepfunctions` reads `isRetryable`/`isCatchable`), so a stopped execution does not run on; settling
 * lets the library clear its task-timeout timer, which would otherwise keep the process alive.
 */
export class GateClosedError extends Error {
  constructor(readonly outcome: 'timed-out' | 'discarded') {
    super(outcome === 'timed-out' ? 'Task Timed Out' : 'The execution stopped while the task waited');
    this.name = 'States.Runtime';
  }
  get isRetryable(): boolean {
    return false;
  }
  get isCatchable(): boolean {
    return false;
  }
}

interface Entry extends PendingApproval {
  readonly resolve: (output: unknown) => void;
  readonly reject: (error: Error) => void;
}

const MAX_OUTPUT_BYTES = 256 * 1024;
/** Answered/expired tokens remembered for error names; the oldest are forgotten past this. */
const MAX_CLOSED_TOKENS = 10_000;

/** Holds every waiting gate of every local execution in this process. */
export class ApprovalRegistry {
  private readonly entries = new Map<string, Entry>();
  /** Tokens that no longer wait, with the reason, so a late answer gets the right error. */
  private readonly closed = new Map<string, ApprovalOutcome>();
  private readonly pendingListeners = new Set<(gate: PendingApproval) => void>();
  private readonly closedListeners = new Set<(gate: PendingApproval, outcome: ApprovalOutcome) => void>();

  /**
   * Starts waiting for an answer. `result` resolves with the parsed output of `sendTaskSuccess`, rejects with a
   * `TaskFailedByCaller` on `sendTaskFailure` and with a `GateClosedError` when the gate is discarded.
   * `onPending` listeners run synchronously, after the token is live, so they may answer at once; with
   * `announce: false` they run only when `announce(token)` is called (a gate announces once its message is out).
   */
  register(
    request: ApprovalRequest,
    options: { readonly announce?: boolean } = {},
  ): { readonly token: string; readonly result: Promise<unknown> } {
    const token = request.token ?? randomBytes(48).toString('base64url');
    if (this.entries.has(token)) throw new Error(`Task token already registered: ${token}`);
    let resolve!: (output: unknown) => void;
    let reject!: (error: Error) => void;
    const result = new Promise<unknown>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const entry: Entry = {
      token,
      executionArn: request.executionArn,
      stateName: request.stateName,
      message: request.message,
      parameters: request.parameters,
      since: new Date(),
      resolve,
      reject,
    };
    // Nobody may be awaiting a gate that gets discarded: keep that rejection from being "unhandled".
    result.catch(() => undefined);
    this.entries.set(token, entry);
    if (options.announce !== false) this.announce(token);
    return { token, result };
  }

  /** Runs the `onPending` listeners for a waiting gate (no-op when it no longer waits). */
  announce(token: string): void {
    const entry = this.entries.get(token);
    if (!entry) return;
    const gate = publicView(entry);
    for (const listener of this.pendingListeners) safely(() => listener(gate));
  }

  /** Gates waiting now, oldest first; only those of one execution when `executionArn` is given. */
  pending(executionArn?: string): PendingApproval[] {
    return [...this.entries.values()]
      .filter((e) => executionArn === undefined || e.executionArn === executionArn)
      .sort((a, b) => a.since.getTime() - b.since.getTime())
      .map(publicView);
  }

  /** The waiting gate holding `token`, if any. */
  get(token: string): PendingApproval | undefined {
    const entry = this.entries.get(token);
    return entry && publicView(entry);
  }

  /** `SendTaskSuccess`: `output` is a JSON string (≤ 256 KiB); it becomes the task's result. */
  sendTaskSuccess(token: string, output: string): void {
    if (Buffer.byteLength(output, 'utf8') > MAX_OUTPUT_BYTES) {
      throw new TaskTokenError('InvalidOutput', 'Task output exceeds the 256 KiB limit');
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(output);
    } catch {
      throw new TaskTokenError('InvalidOutput', 'Task output is not valid JSON');
    }
    const entry = this.take(token, 'succeeded');
    entry.resolve(parsed);
  }

  /**
   * `SendTaskFailure`: the task fails with `error` as its error name (what `Retry`/`Catch` match) and `cause` as its
   * cause. Without `error`, the name is `States.TaskFailed` (local assumption).
   */
  sendTaskFailure(token: string, error?: string, cause?: string): void {
    const entry = this.take(token, 'failed');
    entry.reject(new TaskFailedByCaller(error ?? 'States.TaskFailed', cause ?? ''));
  }

  /**
   * Stops gates from waiting without an answer — a task timeout (`'timed-out'`, later answers get `TaskTimedOut`)
   * or the end of an execution (`'discarded'`) — rejecting them with a `GateClosedError`. Returns how many.
   */
  discard(
    filter: { readonly executionArn: string; readonly stateName?: string; readonly token?: string },
    outcome: 'timed-out' | 'discarded',
  ): number {
    let count = 0;
    for (const entry of [...this.entries.values()]) {
      if (entry.executionArn !== filter.executionArn) continue;
      if (filter.stateName !== undefined && entry.stateName !== filter.stateName) continue;
      if (filter.token !== undefined && entry.token !== filter.token) continue;
      this.take(entry.token, outcome).reject(new GateClosedError(outcome));
      count += 1;
    }
    return count;
  }

  /** Calls `listener` whenever a gate starts waiting (a CLI prompts or auto-approves here). Returns an unsubscribe. */
  onPending(listener: (gate: PendingApproval) => void): () => void {
    this.pendingListeners.add(listener);
    return () => this.pendingListeners.delete(listener);
  }

  /** Calls `listener` whenever a gate stops waiting, with the reason. Returns an unsubscribe. */
  onClosed(listener: (gate: PendingApproval, outcome: ApprovalOutcome) => void): () => void {
    this.closedListeners.add(listener);
    return () => this.closedListeners.delete(listener);
  }

  private take(token: string, outcome: ApprovalOutcome): Entry {
    const entry = this.entries.get(token);
    if (!entry) {
      const previous = this.closed.get(token);
      if (previous === 'timed-out') throw new TaskTokenError('TaskTimedOut', 'Task Timed Out');
      throw new TaskTokenError('TaskDoesNotExist', previous ? 'Task already completed or its execution ended' : 'Task does not exist');
    }
    this.entries.delete(token);
    this.closed.set(token, outcome);
    if (this.closed.size > MAX_CLOSED_TOKENS) this.closed.delete(this.closed.keys().next().value as string);
    const gate = publicView(entry);
    for (const listener of this.closedListeners) safely(() => listener(gate, outcome));
    return entry;
  }
}

function publicView(entry: Entry): PendingApproval {
  const { resolve: _resolve, reject: _reject, ...gate } = entry;
  return gate;
}

/** A listener's failure must not break the workflow; it is reported as a process warning. */
function safely(fn: () => void): void {
  try {
    fn();
  } catch (err) {
    process.emitWarning(`approval listener failed: ${err instanceof Error ? err.message : String(err)}`);
  }
}
