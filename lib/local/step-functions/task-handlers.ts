/**
 * The `taskResourceLocalHandlers` of one execution: every Task state of the definition answered in process, with
 * the result shapes and history events of the real service integration.
 *
 * Every handler first yields one macrotask (`setImmediate`): `aws-local-stepfunctions` calls it synchronously right
 * after dispatching `StateEntered`, before its async event log has been read, so without the yield `TaskScheduled`
 * would be recorded before `TaskStateEntered`.
 */
import { randomUUID } from 'node:crypto';
import type { Context } from 'aws-lambda';
import { setImmediate as nextMacrotask } from 'node:timers/promises';
import { GateClosedError, type ApprovalRegistry } from './approval-registry';
import { functionNameOf, MAX_TIMER_MS, type TaskInfo } from './definition';
import { jsonText, resourceParts, type HistoryDraft } from './history';
import { asTaskFailure, lambdaFailure, RuntimeFailure, serviceFailure, TaskFailure, toJsonPayload } from './task-errors';
import type { LambdaHandler, SnsPublisher, TaskOverride } from './types';

/** What the handlers of one execution need. */
export interface TaskRuntime {
  readonly executionArn: string;
  readonly region: string;
  /** Aborted when the execution stops (abort, timeout, end). */
  readonly signal: AbortSignal;
  readonly lambdas: Readonly<Record<string, LambdaHandler>>;
  readonly sns: SnsPublisher;
  readonly approvals: ApprovalRegistry;
  readonly taskOverrides: Readonly<Record<string, TaskOverride>>;
  readonly waitOverrides: Readonly<Record<string, number>>;
  readonly maxWaitMs: number | undefined;
  readonly includeErrorDetails: boolean;
  /** Timeout the handlers' context reports (not enforced: a handler cannot be stopped in process). */
  readonly lambdaTimeoutSeconds: number;
  /** The value `$$.Task.Token` resolves to in the context object; replaced by the real token in a gate's Parameters. */
  readonly tokenPlaceholder: string;
  readonly record: (draft: HistoryDraft) => void;
  /**
   * Starts an execution (`states:startExecution`): on the running machine when the ARN is its own. Throws an error
   * named like the API's (`StateMachineDoesNotExist`, `ExecutionAlreadyExists`, `InvalidName`).
   */
  readonly startExecution: (request: { stateMachineArn: string; name?: string; input: unknown }) => { executionArn: string; startDate: Date };
}

/** A local stand-in for a Task resource. */
export type TaskHandler = (input: unknown) => Promise<unknown>;

type Params = Record<string, unknown>;


function asParams(input: unknown): Params {
  return input !== null && typeof input === 'object' && !Array.isArray(input) ? (input as Params) : {};
}

/** Deep copy of `value` with every occurrence of `placeholder` inside strings replaced by `token`. */
export function substituteToken(value: unknown, placeholder: string, token: string): unknown {
  if (typeof value === 'string') return value.split(placeholder).join(token);
  if (Array.isArray(value)) return value.map((v) => substituteToken(v, placeholder, token));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substituteToken(v, placeholder, token)]));
  }
  return value;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted || ms <= 0) return resolve();
    const timer = setTimeout(done, Math.min(ms, MAX_TIMER_MS));
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

/** A Lambda-like context object for an in-process invocation. */
function lambdaContext(rt: TaskRuntime, functionRef: string): Context {
  const functionName = functionNameOf(functionRef);
  const deadline = Date.now() + rt.lambdaTimeoutSeconds * 1000;
  const unsupported = (): never => {
    throw new Error('Callback-style completion is not supported; return a value or a promise');
  };
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: functionRef.startsWith('arn:') ? functionRef : `arn:aws:lambda:${rt.region}:000000000000:function:${functionName}`,
    memoryLimitInMB: '1024',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: unsupported,
    fail: unsupported,
    succeed: unsupported,
  };
}

async function invokeLambda(rt: TaskRuntime, functionRef: string, payload: unknown): Promise<unknown> {
  const handler = rt.lambdas[functionRef] ?? rt.lambdas[functionNameOf(functionRef)];
  if (!handler) throw new TaskFailure('Lambda.ResourceNotFoundException', `Function not found: ${functionRef}`);
  let result: unknown;
  try {
    result = await handler(toJsonPayload(payload, 'Lambda payload'), lambdaContext(rt, functionRef));
  } catch (err) {
    // Failures of the Lambda service itself (Lambda.Unknown, Lambda.TooManyRequestsException) are already named.
    if (err instanceof TaskFailure) throw err;
    throw lambdaFailure(err, rt.includeErrorDetails);
  }
  return toJsonPayload(result, 'Lambda result');
}

/** `lambda:invoke` response as Step Functions returns it (the library only needs `StatusCode` and `Payload`). */
function invokeResponse(payload: unknown, statusCode = 200): Params {
  const requestId = randomUUID();
  return {
    ExecutedVersion: '$LATEST',
    Payload: payload,
    SdkHttpMetadata: { HttpHeaders: { 'Content-Type': 'application/json', 'X-Amzn-Requestid': requestId }, HttpStatusCode: statusCode },
    SdkResponseMetadata: { RequestId: requestId },
    StatusCode: statusCode,
  };
}

async function lambdaInvoke(rt: TaskRuntime, params: Params): Promise<unknown> {
  const functionRef = typeof params.FunctionName === 'string' ? params.FunctionName : '';
  const payload = 'Payload' in params ? params.Payload : {};
  if (params.InvocationType === 'Event') {
    void invokeLambda(rt, functionRef, payload).catch(() => undefined);
    return invokeResponse('', 202);
  }
  return invokeResponse(await invokeLambda(rt, functionRef, payload));
}

async function snsPublish(rt: TaskRuntime, stateName: string, params: Params): Promise<unknown> {
  const raw = params.Message;
  if (raw === undefined || raw === null || raw === '') throw new TaskFailure('SNS.InvalidParameterException', 'Invalid parameter: Empty message');
  const subject = typeof params.Subject === 'string' ? params.Subject : undefined;
  if (subject !== undefined && (subject.length === 0 || subject.length > 100)) {
    throw new TaskFailure('SNS.InvalidParameterException', 'Invalid parameter: Subject');
  }
  const topic = params.TopicArn ?? params.TargetArn;
  try {
    await rt.sns({
      ...(typeof topic === 'string' ? { topicArn: topic } : {}),
      ...(subject !== undefined ? { subject } : {}),
      message: typeof raw === 'string' ? raw : JSON.stringify(raw),
      ...(params.MessageAttributes !== undefined ? { messageAttributes: params.MessageAttributes } : {}),
      parameters: params,
      executionArn: rt.executionArn,
      stateName,
    });
  } catch (err) {
    throw serviceFailure('SNS', err);
  }
  const requestId = randomUUID();
  return {
    MessageId: randomUUID(),
    SdkHttpMetadata: { HttpHeaders: { 'Content-Type': 'text/xml', 'x-amzn-RequestId': requestId }, HttpStatusCode: 200 },
    SdkResponseMetadata: { RequestId: requestId },
  };
}

/** A dynamic Wait rewritten as a Task (see `definition.ts`): sleeps, then passes its input through. */
async function localWait(rt: TaskRuntime, stateName: string, params: Params): Promise<unknown> {
  const override = rt.waitOverrides[stateName];
  let ms: number;
  if (override !== undefined) ms = override;
  else if (params.seconds !== undefined) {
    if (!Number.isInteger(params.seconds) || (params.seconds as number) < 0) {
      throw new RuntimeFailure(`Wait state ${stateName}: seconds must be a non-negative integer, got ${jsonText(params.seconds)}`);
    }
    ms = (params.seconds as number) * 1000;
  } else {
    const at = typeof params.timestamp === 'string' ? Date.parse(params.timestamp) : Number.NaN;
    if (Number.isNaN(at)) throw new RuntimeFailure(`Wait state ${stateName}: invalid timestamp ${jsonText(params.timestamp)}`);
    ms = at - Date.now();
  }
  if (override === undefined && rt.maxWaitMs !== undefined) ms = Math.min(ms, rt.maxWaitMs);
  await sleep(ms, rt.signal);
  return params.input;
}

/** What the gate announces in the registry: the SNS message, the Lambda payload, or the whole Parameters. */
function gateMessage(info: TaskInfo, params: Params): unknown {
  if (info.target.kind === 'sns-publish') return params.Message;
  if (info.target.kind === 'lambda-invoke') return params.Payload;
  return params;
}

/** Runs an integration task: `TaskScheduled`/`TaskStarted`, the call, then success/failure (gates: submit + wait). */
async function integrationTask(rt: TaskRuntime, info: TaskInfo, input: unknown, call: (params: Params) => Promise<unknown>): Promise<unknown> {
  const parts = resourceParts(info.resource);
  const waitForTaskToken = 'waitForTaskToken' in info.target && info.target.waitForTaskToken;
  let params = asParams(input);
  let gate: { token: string; result: Promise<unknown> } | undefined;
  if (waitForTaskToken) {
    const token = `${randomUUID()}${randomUUID()}`.replace(/-/g, '');
    params = substituteToken(params, rt.tokenPlaceholder, token) as Params;
    const request = { executionArn: rt.executionArn, stateName: info.stateName, message: gateMessage(info, params), parameters: params, token };
    gate = rt.approvals.register(request, { announce: false });
  }
  const scheduled = { ...parts, region: rt.region, parameters: jsonText(params), ...(info.timeoutSeconds ? { timeoutInSeconds: info.timeoutSeconds } : {}) };
  rt.record({ type: 'TaskScheduled', taskScheduledEventDetails: scheduled });
  rt.record({ type: 'TaskStarted', taskStartedEventDetails: parts });
  try {
    const response = await call(params);
    if (!gate) {
      rt.record({ type: 'TaskSucceeded', taskSucceededEventDetails: { ...parts, output: jsonText(response) } });
      return response;
    }
    rt.record({ type: 'TaskSubmitted', taskSubmittedEventDetails: { ...parts, output: jsonText(response) } });
    rt.approvals.announce(gate.token);
    const output = await gate.result;
    rt.record({ type: 'TaskSucceeded', taskSucceededEventDetails: { ...parts, output: jsonText(output) } });
    return output;
  } catch (err) {
    if (err instanceof GateClosedError) throw err;
    if (gate) rt.approvals.discard({ executionArn: rt.executionArn, token: gate.token }, 'discarded');
    const failure = asTaskFailure(err);
    rt.record({ type: 'TaskFailed', taskFailedEventDetails: { ...parts, error: failure.name, cause: failure.message } });
    throw failure;
  }
}

/** Lambda through its function ARN (`payloadResponseOnly`): `LambdaFunction*` events, bare payload as result. */
async function lambdaArnTask(rt: TaskRuntime, info: TaskInfo, input: unknown): Promise<unknown> {
  const details = { resource: info.resource, input: jsonText(input), ...(info.timeoutSeconds ? { timeoutInSeconds: info.timeoutSeconds } : {}) };
  rt.record({ type: 'LambdaFunctionScheduled', lambdaFunctionScheduledEventDetails: details });
  rt.record({ type: 'LambdaFunctionStarted' });
  try {
    const output = await invokeLambda(rt, info.resource, input);
    rt.record({ type: 'LambdaFunctionSucceeded', lambdaFunctionSucceededEventDetails: { output: jsonText(output) } });
    return output;
  } catch (err) {
    const failure = asTaskFailure(err);
    rt.record({ type: 'LambdaFunctionFailed', lambdaFunctionFailedEventDetails: { error: failure.name, cause: failure.message } });
    throw failure;
  }
}

/**
 * `states:startExecution` (request-response): `Input` may be an object or JSON text, as on AWS; the result is
 * `{ ExecutionArn, StartDate }`. A failure surfaces as `StepFunctions.<ApiError>Exception`, AWS's error name.
 */
function startExecution(rt: TaskRuntime, params: Params): unknown {
  const input = typeof params.Input === 'string' ? (JSON.parse(params.Input) as unknown) : (params.Input ?? {});
  try {
    const started = rt.startExecution({
      stateMachineArn: String(params.StateMachineArn ?? ''),
      ...(typeof params.Name === 'string' ? { name: params.Name } : {}),
      input,
    });
    return { ExecutionArn: started.executionArn, StartDate: started.startDate.toISOString() };
  } catch (err) {
    const name = err instanceof Error ? err.name : 'Error';
    throw serviceFailure('StepFunctions', Object.assign(new Error(err instanceof Error ? err.message : String(err)), { name: name.endsWith('Exception') ? name : `${name}Exception` }));
  }
}

/** Task states no handler can answer (neither Lambda, SNS nor a `taskOverrides` entry). */
export function unsupportedTasks(tasks: ReadonlyMap<string, TaskInfo>, overrides: Readonly<Record<string, TaskOverride>>): TaskInfo[] {
  return [...tasks.values()].filter((t) => t.target.kind === 'other' && overrides[t.stateName] === undefined);
}

/** One handler per Task state (nested branches included), keyed by state name as the library expects. */
export function buildTaskHandlers(tasks: ReadonlyMap<string, TaskInfo>, rt: TaskRuntime): Record<string, TaskHandler> {
  const handlers: Record<string, TaskHandler> = {};
  for (const info of tasks.values()) {
    const name = info.stateName;
    const run = (input: unknown): Promise<unknown> => {
      const target = info.target;
      switch (target.kind) {
        case 'lambda-arn':
          return lambdaArnTask(rt, info, input);
        case 'lambda-invoke':
          return integrationTask(rt, info, input, (params) => lambdaInvoke(rt, params));
        case 'sns-publish':
          return integrationTask(rt, info, input, (params) => snsPublish(rt, name, params));
        case 'start-execution':
          return integrationTask(rt, info, input, async (params) => startExecution(rt, params));
        case 'local-wait':
          return localWait(rt, name, asParams(input));
        case 'other': {
          const override = rt.taskOverrides[name];
          if (!override) return Promise.reject(new RuntimeFailure(`No local handler for ${target.resource} (state ${name})`));
          return integrationTask(rt, info, input, async (params) => toJsonPayload(await override(params), 'task result'));
        }
      }
    };
    handlers[name] = async (input) => {
      await nextMacrotask();
      if (rt.signal.aborted) throw new GateClosedError('discarded');
      return run(input);
    };
  }
  return handlers;
}
