/**
 * Runs a synthesized ASL definition on this machine with `aws-local-stepfunctions`: Lambda tasks call handler
 * modules in process, SNS publishes go to a sink, `.waitForTaskToken` gates wait in an `ApprovalRegistry`, and the
 * history reads like `GetExecutionHistory`.
 *
 * AWS's limits are enforced as on AWS: 25,000 history events per execution (then `States.Runtime`, no Catch), 256 KiB
 * per execution input (`InvalidExecutionInput`), state input, state output and task result
 * (`States.DataLimitExceeded`, terminal), and the definition's own `TimeoutSeconds` (TIMED_OUT, no Catch).
 *
 * Limits (of the library, or of running in one process): a running Lambda handler cannot be cancelled — `abort()`
 * ends the execution at once but the handler runs to completion and its result is ignored; waits and task timeouts
 * longer than 24.8 days (a Node timer) are capped; JSONata, distributed Map, heartbeats, `.sync` integrations and
 * redrive are unsupported; `$$.State.*` and `$$.Task.Token` outside gates are not provided by the context object.
 */
import './polyfill';
import { randomUUID } from 'node:crypto';
import {
  ExecutionAbortedError,
  ExecutionError,
  ExecutionTimeoutError,
  StateMachine,
  type RunOptions,
  type StateMachineDefinition,
} from 'aws-local-stepfunctions';
import { ApprovalRegistry, GateClosedError } from './approval-registry';
import { prepareDefinition, type PreparedDefinition } from './definition';
import { HistoryRecorder, jsonText, MAX_HISTORY_EVENTS } from './history';
import { MAX_PAYLOAD_BYTES } from './task-errors';
import { buildTaskHandlers, unsupportedTasks, type TaskRuntime } from './task-handlers';
import type {
  AslDefinition,
  ExecutionResult,
  HistoryEvent,
  LambdaHandler,
  LocalExecutionDescription,
  SnsPublisher,
  TaskOverride,
} from './types';

/** The local state machine ARN when none is given. */
export const DEFAULT_STATE_MACHINE_ARN = 'arn:aws:states:us-east-1:000000000000:stateMachine:stepwise';
const ROLE_ARN = 'arn:aws:iam::000000000000:role/stepwise-local';

/** What a local state machine runs and what answers its tasks. */
export interface LocalStateMachineOptions {
  /** ASL with tokens resolved (e.g. `synthesizeDefinition().definition`). Never modified. */
  readonly definition: AslDefinition;
  readonly stateMachineArn?: string;
  /** Handlers by function name (last ARN segment, e.g. the phase) or by full function ARN. */
  readonly lambdas: Readonly<Record<string, LambdaHandler>>;
  /** Receives every `sns:publish` (gates included). */
  readonly sns: SnsPublisher;
  /** Where gates wait; a new registry when omitted (see `LocalStateMachine.approvals`). */
  readonly approvals?: ApprovalRegistry;
  /** Answers for other Task states (e.g. `aws-sdk:*`), by state name. Missing ones make the constructor throw. */
  readonly taskOverrides?: Readonly<Record<string, TaskOverride>>;
  /** Wait duration in ms by Wait state name (beats `maxWaitMs`). */
  readonly waitOverrides?: Readonly<Record<string, number>>;
  /** Caps every Wait state without an override at this many ms. Real durations by default. */
  readonly maxWaitMs?: number;
  /** Retry pause in ms by state name (one number, or one per retrier), like the library's option. */
  readonly retryIntervalOverrides?: Readonly<Record<string, number | readonly number[]>>;
  /** Lambda timeout the handlers' `context.getRemainingTimeInMillis()` counts down from (default 900 s; not enforced). */
  readonly lambdaTimeoutSeconds?: number;
  /** Adds the error's `toJSON()` fields to a Lambda failure's Cause (AWS does not; off by default). */
  readonly includeErrorDetails?: boolean;
  /** Validate the definition with asl-validator first (default true). */
  readonly validate?: boolean;
  /** History events per execution before it fails with `States.Runtime` (default 25,000, AWS's hard limit). */
  readonly maxHistoryEvents?: number;
}

/** Per-execution options. */
export interface StartExecutionOptions {
  /** Execution name (1–80 of `[A-Za-z0-9_-]`); a UUID when omitted. */
  readonly name?: string;
  /** Execution input (any JSON); `{}` when omitted. */
  readonly input?: unknown;
  /** Called with every history event as it is recorded. */
  readonly onEvent?: (event: HistoryEvent) => void;
}

/** A running (or finished) local execution. */
export interface LocalExecution {
  readonly executionArn: string;
  readonly name: string;
  /** Settles once the execution has ended and its history is complete; never rejects. */
  readonly done: Promise<ExecutionResult>;
  /** Stops the execution (status ABORTED). A Lambda handler already running is not interrupted. */
  abort(): void;
  /** The history so far, `GetExecutionHistory`-shaped. */
  history(): HistoryEvent[];
  /** State transitions so far (states entered + retries: the billing unit). */
  readonly transitionCount: number;
  describe(): LocalExecutionDescription;
}

/** Error named like the AWS API error (`ExecutionAlreadyExists`, `InvalidName`, `InvalidExecutionInput`). */
export class ExecutionStartError extends Error {
  constructor(name: 'ExecutionAlreadyExists' | 'InvalidName' | 'InvalidExecutionInput' | 'StateMachineDoesNotExist', message: string) {
    super(message);
    this.name = name;
  }
}

type LibraryHandlers = NonNullable<NonNullable<RunOptions['overrides']>['taskResourceLocalHandlers']>;
type LibraryInput = Parameters<StateMachine['run']>[0];

function arnParts(stateMachineArn: string): { region: string; account: string; name: string } {
  const m = /^arn:aws[a-z-]*:states:([^:]+):([^:]+):stateMachine:([^:]+)$/.exec(stateMachineArn);
  if (!m) throw new Error(`Not a state machine ARN: ${stateMachineArn}`);
  return { region: m[1] as string, account: m[2] as string, name: m[3] as string };
}

function failureOf(err: unknown): { error: string; cause: string } {
  const inner = err instanceof ExecutionError ? err.cause : err;
  if (inner instanceof Error) {
    const cause = (inner as { cause?: unknown }).cause ?? inner.message;
    return { error: inner.name, cause: typeof cause === 'string' ? cause : jsonText(cause) };
  }
  return { error: 'States.Runtime', cause: String(inner) };
}

/** Definitions (as JSON text) that passed validation; asl-validator takes ~0.4–1.4 s per call. */
const validated = new Set<string>();

/** Validates with asl-validator (what the library does on construction), once per distinct definition. */
function validateOnce(definition: AslDefinition): void {
  const key = JSON.stringify(definition);
  if (validated.has(key)) return;
  new StateMachine(definition as unknown as StateMachineDefinition, { validationOptions: { checkArn: true, checkPaths: true } });
  validated.add(key);
}

/** One state machine definition, ready to start executions locally. */
export class LocalStateMachine {
  readonly stateMachineArn: string;
  /** Where this machine's gates wait (the one passed in, or its own). */
  readonly approvals: ApprovalRegistry;
  private readonly prepared: PreparedDefinition;
  private readonly machine: StateMachine;
  private readonly executions = new Map<string, { execution: LocalExecution; input: string }>();

  /** Validates and prepares the definition; throws on an invalid one or on a Task no local handler can answer. */
  constructor(private readonly options: LocalStateMachineOptions) {
    this.stateMachineArn = options.stateMachineArn ?? DEFAULT_STATE_MACHINE_ARN;
    arnParts(this.stateMachineArn);
    this.approvals = options.approvals ?? new ApprovalRegistry();
    if (options.validate !== false) validateOnce(options.definition);
    this.prepared = prepareDefinition(options.definition);
    const missing = unsupportedTasks(this.prepared.tasks, options.taskOverrides ?? {});
    if (missing.length > 0) {
      const list = missing.map((t) => `${t.stateName} (${t.resource})`).join(', ');
      throw new Error(`No local handler for Task state(s) ${list}: pass them in taskOverrides`);
    }
    this.machine = new StateMachine(this.prepared.definition as unknown as StateMachineDefinition, { validationOptions: { noValidate: true } });
  }

  /** Executions started by this machine, oldest first. */
  listExecutions(): LocalExecution[] {
    return [...this.executions.values()].map((e) => e.execution);
  }

  /** An execution by name or ARN. */
  getExecution(nameOrArn: string): LocalExecution | undefined {
    return this.executions.get(nameOrArn)?.execution ?? this.listExecutions().find((e) => e.executionArn === nameOrArn);
  }

  /**
   * Starts an execution. Like `StartExecution`: the same name with the same input while running returns that
   * execution; a reused name otherwise throws `ExecutionAlreadyExists`.
   */
  start(startOptions: StartExecutionOptions = {}): LocalExecution {
    const name = startOptions.name ?? randomUUID();
    if (!/^[A-Za-z0-9_-]{1,80}$/.test(name)) throw new ExecutionStartError('InvalidName', `Invalid execution name: ${name}`);
    const inputText = JSON.stringify(startOptions.input ?? {});
    if (inputText === undefined) throw new ExecutionStartError('InvalidExecutionInput', 'Execution input is not JSON');
    if (Buffer.byteLength(inputText, 'utf8') > MAX_PAYLOAD_BYTES) {
      throw new ExecutionStartError('InvalidExecutionInput', `The execution input exceeds the maximum size of ${MAX_PAYLOAD_BYTES} bytes`);
    }
    const existing = this.executions.get(name);
    if (existing) {
      if (existing.execution.describe().status === 'RUNNING' && existing.input === inputText) return existing.execution;
      throw new ExecutionStartError('ExecutionAlreadyExists', `Execution already exists: ${existing.execution.executionArn}`);
    }
    const execution = this.run(name, inputText, startOptions.onEvent);
    this.executions.set(name, { execution, input: inputText });
    return execution;
  }

  private run(name: string, inputText: string, onEvent?: (event: HistoryEvent) => void): LocalExecution {
    const { region, account, name: machineName } = arnParts(this.stateMachineArn);
    const executionArn = `arn:aws:states:${region}:${account}:execution:${machineName}:${name}`;
    const startDate = new Date();
    const stopper = new AbortController();
    const approvals = this.approvals;
    // A broken limit (history events, payload size) ends the execution FAILED at once, as on AWS: no Retry, no Catch.
    const stopRun = { abort: (): void => undefined };
    const recorder = new HistoryRecorder(this.prepared.stateTypes, this.prepared.tasks, ROLE_ARN, onEvent, {
      maxEvents: this.options.maxHistoryEvents ?? MAX_HISTORY_EVENTS,
      onBreach: () => stopRun.abort(),
    });
    const tokenPlaceholder = `__stepwise_task_token_${randomUUID()}__`;
    const runtime: TaskRuntime = {
      executionArn,
      region,
      signal: stopper.signal,
      lambdas: this.options.lambdas,
      sns: this.options.sns,
      approvals,
      taskOverrides: this.options.taskOverrides ?? {},
      waitOverrides: this.options.waitOverrides ?? {},
      maxWaitMs: this.options.maxWaitMs,
      includeErrorDetails: this.options.includeErrorDetails ?? false,
      lambdaTimeoutSeconds: this.options.lambdaTimeoutSeconds ?? 900,
      tokenPlaceholder,
      // After a broken limit no task goes on: the handler that recorded the last event stops before calling anything.
      record: (draft) => {
        recorder.add(draft);
        if (recorder.breach) throw new GateClosedError('discarded');
      },
      // A continued execution (continue-as-new) runs on this machine and reports to the same listener.
      startExecution: (request) => {
        if (request.stateMachineArn !== this.stateMachineArn) {
          throw new ExecutionStartError('StateMachineDoesNotExist', `State machine does not exist: ${request.stateMachineArn}`);
        }
        const child = this.start({ ...(request.name ? { name: request.name } : {}), input: request.input, ...(onEvent ? { onEvent } : {}) });
        return { executionArn: child.executionArn, startDate: child.describe().startDate };
      },
    };
    const run = this.machine.run(JSON.parse(inputText) as LibraryInput, {
      overrides: {
        taskResourceLocalHandlers: buildTaskHandlers(this.prepared.tasks, runtime) as unknown as LibraryHandlers,
        waitTimeOverrides: this.staticWaitOverrides(),
        retryIntervalOverrides: { ...(this.options.retryIntervalOverrides as Record<string, number | number[]> | undefined) },
      },
      context: {
        Execution: { Id: executionArn, Name: name, RoleArn: ROLE_ARN, RedriveCount: 0 },
        StateMachine: { Id: this.stateMachineArn, Name: machineName },
        Task: { Token: tokenPlaceholder },
      },
    });
    stopRun.abort = () => run.abort();

    const consumer = (async () => {
      for await (const event of run.eventLogs) {
        recorder.consume(event);
        if (event.type === 'StateFailed' && event.Error === 'States.Timeout') {
          approvals.discard({ executionArn, stateName: event.state.name }, 'timed-out');
        }
      }
    })().catch((err: unknown) => process.emitWarning(`local execution history failed: ${String(err)}`));

    const outcome = run.result.then(
      (output): Omit<ExecutionResult, 'startedAt' | 'stoppedAt'> => ({ status: 'SUCCEEDED', output }),
      (err: unknown): Omit<ExecutionResult, 'startedAt' | 'stoppedAt'> => {
        if (err instanceof ExecutionAbortedError) return { status: 'ABORTED' };
        if (err instanceof ExecutionTimeoutError) return { status: 'TIMED_OUT', error: 'States.Timeout', cause: 'The execution timed out' };
        return { status: 'FAILED', ...failureOf(err) };
      },
    );
    let result: ExecutionResult | undefined;
    const stop = (): void => {
      stopper.abort();
      approvals.discard({ executionArn }, 'discarded');
    };
    const done = Promise.all([outcome, consumer]).then(([ended]) => {
      stop();
      // Once the whole history is read: a broken limit decides the outcome whatever the library concluded.
      const breach = recorder.breach;
      const final = breach ? { status: 'FAILED' as const, error: breach.error, cause: breach.cause } : ended;
      result = { ...final, startedAt: startDate, stoppedAt: new Date() };
      return result;
    });

    return {
      executionArn,
      name,
      done,
      abort: () => {
        if (result) return;
        run.abort();
        stop();
      },
      history: () => recorder.events(),
      get transitionCount() {
        return recorder.transitionCount;
      },
      describe: () => ({
        executionArn,
        stateMachineArn: this.stateMachineArn,
        name,
        status: result?.status ?? 'RUNNING',
        startDate,
        input: inputText,
        ...(result ? { stopDate: result.stoppedAt } : {}),
        ...(result?.status === 'SUCCEEDED' ? { output: jsonText(result.output) } : {}),
        ...(result?.error !== undefined ? { error: result.error } : {}),
        ...(result?.cause !== undefined ? { cause: result.cause } : {}),
      }),
    };
  }

  /** Library Wait overrides for Wait states it runs itself: explicit overrides, else durations capped at `maxWaitMs`. */
  private staticWaitOverrides(): Record<string, number> {
    const overrides: Record<string, number> = {};
    const { waitOverrides = {}, maxWaitMs } = this.options;
    for (const [name, ms] of this.prepared.staticWaits) {
      const explicit = waitOverrides[name];
      if (explicit !== undefined) overrides[name] = explicit;
      else if (maxWaitMs !== undefined) overrides[name] = Math.min(ms, maxWaitMs);
    }
    return overrides;
  }
}

/** Starts one execution of `definition` (a `LocalStateMachine` made for it). */
export function startLocalExecution(options: LocalStateMachineOptions & StartExecutionOptions): LocalExecution {
  const { name, input, onEvent, ...machineOptions } = options;
  return new LocalStateMachine(machineOptions).start({ name, input, onEvent });
}

/** Runs one execution to its end and returns how it ended. */
export function runLocalExecution(options: LocalStateMachineOptions & StartExecutionOptions): Promise<ExecutionResult> {
  return startLocalExecution(options).done;
}
