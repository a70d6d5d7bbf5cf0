/**
 * Execution history in the shape of `GetExecutionHistory` (`@aws-sdk/client-sfn` `HistoryEvent`), built from the
 * event log of `aws-local-stepfunctions` plus the task-level events the runner's handlers add themselves
 * (`TaskScheduled`, `LambdaFunctionSucceeded`, …).
 */
import type { StateMachine } from 'aws-local-stepfunctions';
import type { HistoryEventType } from '@aws-sdk/client-sfn';
import type { TaskInfo } from './definition';
import { DATA_LIMIT_EXCEEDED, MAX_PAYLOAD_BYTES, payloadBytes } from './task-errors';
import type { HistoryEvent } from './types';

/** Step Functions' hard limit of history events per Standard execution. */
export const MAX_HISTORY_EVENTS = 25_000;

/** A limit the recorder enforces was broken: the execution fails with this error (no Retry, no Catch). */
export interface LimitBreach {
  readonly error: string;
  readonly cause: string;
}

/** Limits of {@link HistoryRecorder}. */
export interface HistoryLimits {
  /** History events per execution, the failing `ExecutionFailed` included (default {@link MAX_HISTORY_EVENTS}). */
  readonly maxEvents?: number;
  /** Called once when a limit is broken, after `ExecutionFailed` was recorded: the runner stops the execution. */
  readonly onBreach?: (breach: LimitBreach) => void;
}

/** AWS's cause when an execution reaches its history limit (error `States.Runtime`). */
export function historyLimitCause(maxEvents: number): string {
  return `The execution reached the maximum number of history events (${maxEvents}).`;
}

/** One entry of the library's `eventLogs` generator. */
export type LibraryEvent = ReturnType<StateMachine['run']>['eventLogs'] extends AsyncGenerator<infer E> ? E : never;

/** A history event before the recorder numbers and timestamps it. */
export type HistoryDraft = Omit<HistoryEvent, 'id' | 'previousEventId' | 'timestamp'>;

/** `resourceType` / `resource` of a Task's history events (`lambda` / `invoke.waitForTaskToken`, `sns` / `publish`). */
export function resourceParts(resourceArn: string): { readonly resourceType: string; readonly resource: string } {
  const rest = resourceArn.replace(/^arn:aws[a-z-]*:states:::/, '');
  const cut = rest.lastIndexOf(':');
  return cut < 0 ? { resourceType: rest, resource: rest } : { resourceType: rest.slice(0, cut), resource: rest.slice(cut + 1) };
}

/** JSON text of a value, as the history API carries data. */
export function jsonText(value: unknown): string {
  return JSON.stringify(value) ?? 'null';
}

function causeText(cause: unknown): string {
  return typeof cause === 'string' ? cause : jsonText(cause);
}

/** Collects the history of one execution and counts its state transitions. */
export class HistoryRecorder {
  private readonly list: HistoryEvent[] = [];
  private transitions = 0;
  private closed = false;
  private broken: LimitBreach | undefined;

  /**
   * @param stateTypes original `Type` of every state by name (a Wait rewritten as a Task still reads `Wait`)
   * @param tasks the definition's Task states, to name timeout events
   * @param roleArn reported in `ExecutionStarted`
   * @param listener called with every event as it is recorded; its failures are reported as process warnings
   * @param limits the history and payload limits of Step Functions, enforced as on AWS
   */
  constructor(
    private readonly stateTypes: ReadonlyMap<string, string>,
    private readonly tasks: ReadonlyMap<string, TaskInfo>,
    private readonly roleArn: string,
    private readonly listener?: (event: HistoryEvent) => void,
    private readonly limits: HistoryLimits = {},
  ) {}

  /** The limit that ended the execution, if one did. */
  get breach(): LimitBreach | undefined {
    return this.broken;
  }

  /** Every event so far, oldest first (a copy). */
  events(): HistoryEvent[] {
    return [...this.list];
  }

  /** State transitions so far, the billing unit: every state entered, plus every retry of a state. */
  get transitionCount(): number {
    return this.transitions;
  }

  /**
   * Appends an event, numbering it after the last one; ignored once the execution has ended (like AWS). An event that
   * would leave no room for the execution's last one fails the execution instead: `States.Runtime`, as on AWS.
   */
  add(draft: HistoryDraft, at: Date = new Date()): HistoryEvent | undefined {
    if (this.closed) return undefined;
    const terminal = typeof draft.type === 'string' && draft.type.startsWith('Execution') && draft.type !== 'ExecutionStarted';
    const maxEvents = this.limits.maxEvents ?? MAX_HISTORY_EVENTS;
    if (!terminal && this.list.length >= maxEvents - 1) {
      this.fail({ error: 'States.Runtime', cause: historyLimitCause(maxEvents) }, at);
      return undefined;
    }
    return this.push(draft, at, terminal);
  }

  /** Ends the history with `ExecutionFailed` for a broken limit and tells the runner (once). */
  private fail(breach: LimitBreach, at: Date): void {
    this.push({ type: 'ExecutionFailed', executionFailedEventDetails: { error: breach.error, cause: breach.cause } }, at, true);
    this.broken = breach;
    this.limits.onBreach?.(breach);
  }

  /** A state's input or output over the payload limit fails the execution with `States.DataLimitExceeded`. */
  private payloadFits(name: string, what: 'input' | 'output', value: unknown, at: Date): boolean {
    if (payloadBytes(value) <= MAX_PAYLOAD_BYTES) return true;
    const verb = what === 'input' ? 'received an input' : 'returned a result';
    this.fail({ error: DATA_LIMIT_EXCEEDED, cause: `The state/task '${name}' ${verb} with a size exceeding the maximum number of bytes service limit.` }, at);
    return false;
  }

  private push(draft: HistoryDraft, at: Date, terminal: boolean): HistoryEvent | undefined {
    if (this.closed) return undefined;
    if (terminal) this.closed = true;
    const id = this.list.length + 1;
    const event = { ...draft, id, previousEventId: id - 1, timestamp: at } as HistoryEvent;
    this.list.push(event);
    if (this.listener) {
      try {
        this.listener(event);
      } catch (err) {
        process.emitWarning(`history listener failed: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    return event;
  }

  /** Translates one library event (ignores the ones Step Functions has no counterpart for). */
  consume(event: LibraryEvent): void {
    const at = new Date(event.timestamp);
    switch (event.type) {
      case 'ExecutionStarted':
        this.add({ type: 'ExecutionStarted', executionStartedEventDetails: { input: jsonText(event.input), roleArn: this.roleArn } }, at);
        return;
      case 'ExecutionSucceeded':
        this.add({ type: 'ExecutionSucceeded', executionSucceededEventDetails: { output: jsonText(event.output) } }, at);
        return;
      case 'ExecutionFailed':
        this.add({ type: 'ExecutionFailed', executionFailedEventDetails: { error: event.Error, cause: causeText(event.Cause) } }, at);
        return;
      case 'ExecutionAborted':
        this.add({ type: 'ExecutionAborted', executionAbortedEventDetails: {} }, at);
        return;
      case 'ExecutionTimeout':
        this.add({ type: 'ExecutionTimedOut', executionTimedOutEventDetails: {} }, at);
        return;
      case 'StateEntered':
        if (!this.payloadFits(event.state.name, 'input', event.state.input, at)) return;
        this.transitions += 1;
        this.add(
          {
            type: `${this.typeOf(event.state.name, event.state.type)}StateEntered` as HistoryEventType,
            stateEnteredEventDetails: { name: event.state.name, input: jsonText(event.state.input) },
          },
          at,
        );
        return;
      case 'StateExited':
        if (!this.payloadFits(event.state.name, 'output', event.state.output, at)) return;
        this.add(
          {
            type: `${this.typeOf(event.state.name, event.state.type)}StateExited` as HistoryEventType,
            stateExitedEventDetails: { name: event.state.name, output: jsonText(event.state.output) },
          },
          at,
        );
        return;
      case 'StateRetried':
        this.transitions += 1;
        return;
      case 'StateFailed':
        this.stateFailed(event.state.name, event.state.type, event.Error, causeText(event.Cause), at);
        return;
      case 'MapIterationStarted':
      case 'MapIterationSucceeded':
      case 'MapIterationFailed': {
        const key = `${event.type.charAt(0).toLowerCase()}${event.type.slice(1)}EventDetails`;
        this.add({ type: event.type, [key]: { name: event.parentState.name, index: event.index } }, at);
        return;
      }
      default:
        return;
    }
  }

  private typeOf(name: string, libraryType: string): string {
    return this.stateTypes.get(name) ?? libraryType;
  }

  private stateFailed(name: string, libraryType: string, error: string, cause: string, at: Date): void {
    const type = this.typeOf(name, libraryType);
    if (type === 'Map' || type === 'Parallel') {
      this.add({ type: `${type}StateFailed` as HistoryEventType }, at);
      return;
    }
    const task = this.tasks.get(name);
    if (type !== 'Task' || !task || error !== 'States.Timeout') return;
    if (task.target.kind === 'lambda-arn') {
      this.add({ type: 'LambdaFunctionTimedOut', lambdaFunctionTimedOutEventDetails: { error, cause } }, at);
    } else {
      this.add({ type: 'TaskTimedOut', taskTimedOutEventDetails: { ...resourceParts(task.resource), error, cause } }, at);
    }
  }
}
