/**
 * Reads an ASL definition once, before any execution: classifies every Task state (Lambda, SNS, approval gate),
 * remembers each state's type for the history, and produces the patched copy that `aws-local-stepfunctions` runs.
 *
 * Patches (the caller's object is never modified):
 * - Task states without `TimeoutSeconds` get Step Functions' real default (no 60 s local default), clamped to what a
 *   Node timer can hold (24.8 days).
 * - Wait states whose duration is only known at run time (`SecondsPath`, `TimestampPath`, `Timestamp`) or exceeds a
 *   Node timer become a Task that the runner answers with a sleep, so `maxWaitMs` can cap them per execution; their
 *   history still says `WaitStateEntered`/`WaitStateExited`.
 */
import type { AslDefinition } from './types';

/** Resource of the synthetic Task that replaces a dynamic Wait state. Never sent anywhere. */
export const LOCAL_WAIT_RESOURCE = 'arn:aws:states:::stepwise-local:wait';
/** Longest delay a Node timer holds (2^31 − 1 ms); longer timers fire at once. */
export const MAX_TIMER_MS = 2_147_483_647;
const MAX_TIMER_SECONDS = Math.floor(MAX_TIMER_MS / 1000);

/** How a Task state is answered locally. */
export type TaskTarget =
  /** Lambda, `Resource` = the function ARN (CDK `payloadResponseOnly`): the result is the bare payload. */
  | { readonly kind: 'lambda-arn'; readonly functionRef: string; readonly waitForTaskToken: false }
  /** `arn:aws:states:::lambda:invoke[.waitForTaskToken]`: the function is `Parameters.FunctionName`. */
  | { readonly kind: 'lambda-invoke'; readonly waitForTaskToken: boolean }
  /** `arn:aws:states:::sns:publish[.waitForTaskToken]`. */
  | { readonly kind: 'sns-publish'; readonly waitForTaskToken: boolean }
  /** `arn:aws:states:::states:startExecution` (request-response): starts an execution of a local state machine. */
  | { readonly kind: 'start-execution' }
  /** A dynamic Wait state rewritten as a Task (see module doc). */
  | { readonly kind: 'local-wait' }
  /** Anything else: answered only by a `taskOverrides` entry. */
  | { readonly kind: 'other'; readonly resource: string; readonly waitForTaskToken: boolean };

export interface TaskInfo {
  readonly stateName: string;
  readonly resource: string;
  readonly target: TaskTarget;
  /** Effective timeout in seconds (after defaults and clamping); undefined when `TimeoutSecondsPath` decides. */
  readonly timeoutSeconds: number | undefined;
}

export interface PreparedDefinition {
  /** The patched definition handed to `aws-local-stepfunctions`. */
  readonly definition: AslDefinition;
  /** Every Task state of the original definition (nested branches included), by state name. */
  readonly tasks: ReadonlyMap<string, TaskInfo>;
  /** Original `Type` of every state, by name (a rewritten Wait still says `Wait`). */
  readonly stateTypes: ReadonlyMap<string, string>;
  /** Wait states the library runs itself, with their static duration in ms. */
  readonly staticWaits: ReadonlyMap<string, number>;
}

type Json = Record<string, unknown>;

const LAMBDA_ARN = /^arn:aws[a-z-]*:lambda:[^:]*:[^:]*:function:([^:]+)(:[^:]+)?$/;
const TOKEN_SUFFIX = '.waitForTaskToken';

/** Real Step Functions' default Task timeout is 99999999 s; a Node timer holds at most 24.8 days. */
function effectiveTimeout(state: Json): number | undefined {
  if (typeof state.TimeoutSeconds === 'number') return Math.min(state.TimeoutSeconds, MAX_TIMER_SECONDS);
  if (typeof state.TimeoutSecondsPath === 'string') return undefined;
  return MAX_TIMER_SECONDS;
}

/** Classifies a Task state's `Resource`. */
export function classifyResource(resource: string): TaskTarget {
  const waitForTaskToken = resource.endsWith(TOKEN_SUFFIX);
  const base = waitForTaskToken ? resource.slice(0, -TOKEN_SUFFIX.length) : resource;
  const arn = LAMBDA_ARN.exec(resource);
  if (arn) return { kind: 'lambda-arn', functionRef: resource, waitForTaskToken: false };
  if (/^arn:aws[a-z-]*:states:::lambda:invoke$/.test(base)) return { kind: 'lambda-invoke', waitForTaskToken };
  if (/^arn:aws[a-z-]*:states:::sns:publish$/.test(base)) return { kind: 'sns-publish', waitForTaskToken };
  if (/^arn:aws[a-z-]*:states:::states:startExecution$/.test(resource)) return { kind: 'start-execution' };
  if (resource === LOCAL_WAIT_RESOURCE) return { kind: 'local-wait' };
  return { kind: 'other', resource, waitForTaskToken };
}

/** The function name in a Lambda ARN (`…:function:<name>[:qualifier]`), or the reference itself. */
export function functionNameOf(ref: string): string {
  return LAMBDA_ARN.exec(ref)?.[1] ?? ref;
}

/** A Wait whose duration is known now and fits a timer stays a Wait; returns its ms, or undefined to rewrite it. */
function staticWaitMs(state: Json): number | undefined {
  if (typeof state.Seconds !== 'number') return undefined;
  const ms = state.Seconds * 1000;
  return ms <= MAX_TIMER_MS ? ms : undefined;
}

function rewriteWait(state: Json): Json {
  const { Seconds, SecondsPath, Timestamp, TimestampPath, Type: _type, ...rest } = state;
  const parameters: Json = { 'input.$': '$' };
  if (typeof SecondsPath === 'string') parameters['seconds.$'] = SecondsPath;
  else if (typeof TimestampPath === 'string') parameters['timestamp.$'] = TimestampPath;
  else if (typeof Timestamp === 'string') parameters.timestamp = Timestamp;
  else parameters.seconds = Seconds;
  return { ...rest, Type: 'Task', Resource: LOCAL_WAIT_RESOURCE, Parameters: parameters, TimeoutSeconds: MAX_TIMER_SECONDS };
}

/**
 * Walks the definition (Parallel branches and Map processors included) and returns the patched copy plus the
 * per-state facts the runner needs. Throws when two states share a name (overrides are keyed by name).
 */
export function prepareDefinition(source: AslDefinition): PreparedDefinition {
  const tasks = new Map<string, TaskInfo>();
  const stateTypes = new Map<string, string>();
  const staticWaits = new Map<string, number>();

  const walk = (machine: Json): Json => {
    if (machine.QueryLanguage === 'JSONata') throw new Error('JSONata definitions are not supported locally: use JSONPath');
    const states = (machine.States ?? {}) as Record<string, Json>;
    const patched: Record<string, Json> = {};
    for (const [name, state] of Object.entries(states)) {
      if (stateTypes.has(name)) throw new Error(`State name "${name}" is used twice; local overrides need unique names`);
      if (state.QueryLanguage === 'JSONata') throw new Error(`State "${name}" uses JSONata, which is not supported locally`);
      stateTypes.set(name, String(state.Type));
      patched[name] = patchState(name, state);
    }
    return { ...machine, States: patched };
  };

  const patchState = (name: string, state: Json): Json => {
    switch (state.Type) {
      case 'Task': {
        const resource = String(state.Resource);
        const timeoutSeconds = effectiveTimeout(state);
        tasks.set(name, { stateName: name, resource, target: classifyResource(resource), timeoutSeconds });
        return timeoutSeconds === undefined ? state : { ...state, TimeoutSeconds: timeoutSeconds };
      }
      case 'Wait': {
        const ms = staticWaitMs(state);
        if (ms !== undefined) {
          staticWaits.set(name, ms);
          return state;
        }
        tasks.set(name, { stateName: name, resource: LOCAL_WAIT_RESOURCE, target: { kind: 'local-wait' }, timeoutSeconds: MAX_TIMER_SECONDS });
        return rewriteWait(state);
      }
      case 'Parallel':
        return { ...state, Branches: ((state.Branches ?? []) as Json[]).map(walk) };
      case 'Map': {
        const key = state.ItemProcessor !== undefined ? 'ItemProcessor' : 'Iterator';
        return state[key] === undefined ? state : { ...state, [key]: walk(state[key] as Json) };
      }
      default:
        return state;
    }
  };

  // A JSON copy, not structuredClone: the library resolves nested `.$` fields only in objects whose prototype is its
  // own realm's Object.prototype (structuredClone returns objects of the outer realm under Jest's vm).
  const walked = walk(JSON.parse(JSON.stringify(source)) as Json);
  // The execution's own TimeoutSeconds (e.g. 90 days) is clamped too: a longer Node timer fires at once.
  if (typeof walked.TimeoutSeconds === 'number') walked.TimeoutSeconds = Math.min(walked.TimeoutSeconds, MAX_TIMER_SECONDS);
  const definition = walked as AslDefinition;
  return { definition, tasks, stateTypes, staticWaits };
}
