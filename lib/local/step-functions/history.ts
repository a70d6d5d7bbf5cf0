/**
 * Execution history in the shape of `GetExecutionHistory` (`@aws-sdk/client-sfn` `HistoryEvent`), built from the
 * event log of `aws-local-stepfunctions` plus the task-level events the runner's handlers add themselves
 * (`TaskScheduled`, `LambdaFunctionSucceeded`, …).
 */
import type { StateMachine } from 'aws-local-stepfunctions';
import type { HistoryEventType } from '@aws-sdk/client-sfn';
import type { TaskInfo } from './definition';
import type { HistoryEvent } from './types';

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

  /**
   * @param stateTypes original `Type` of every state by name (a Wait rewritten as a Task still reads `Wait`)
   * @param tasks the definition's Task states, to name timeout events
   * @param roleArn reported in `ExecutionStarted`
   * @param listener called with every event as it is recorded; its failures are reported as process warnings
   */
  constructor(
    private readonly stateTypes: ReadonlyMap<string, string>,
    private readonly tasks: ReadonlyMap<string, TaskInfo>,
    private readonly roleArn: string,
    private readonly listener?: (event: HistoryEvent) => void,
  ) {}

  /** Every event so far, oldest first (a copy). */
  events(): HistoryEvent[] {
    return [...this.list];
  }

  /** State transitions so far, the billing unit: every state entered, plus every retry of a state. */
  get transitionCount(): number {
    return this.transitions;
  }

  /** Appends an event, numbering it after the last one; ignored once the execution has ended (like AWS). */
  add(draft: HistoryDraft, at: Date = new Date()): HistoryEvent | undefined {
    if (this.closed) return undefined;
    if (typeof draft.type === 'string' && draft.type.startsWith('Execution') && draft.type !== 'ExecutionStarted') this.closed = true;
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
