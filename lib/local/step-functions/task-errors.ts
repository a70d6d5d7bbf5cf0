/**
 * Turning what a handler throws into the `Error` / `Cause` pair Step Functions shows.
 *
 * `aws-local-stepfunctions` matches `Retry`/`Catch` on the thrown error's `name` and uses its `message` as `Cause`
 * (in the Catch output and in `StateFailed` events it prefers `error.cause` when set). So every task failure is
 * rethrown as a `TaskFailure` whose `name` is the Step Functions error and whose `message` is the exact cause string,
 * with no `cause` property.
 *
 * On AWS a Node.js Lambda that throws produces `Error` = `err.name` and `Cause` = the runtime's error document
 * `{"errorType":…,"errorMessage":…,"trace":[…]}` (JSON string), for both the function-ARN and the `lambda:invoke`
 * forms. That is what `lambdaFailure` reproduces; `includeDetails` adds the error's `toJSON()` fields, which AWS does
 * NOT do (off by default so nothing local depends on them).
 */

/** A failed task: `name` is the Step Functions error name, `message` the cause. */
export class TaskFailure extends Error {
  constructor(error: string, cause: string) {
    super(cause);
    this.name = error;
  }
}

/** Error and cause of a Lambda invocation that threw `thrown`, as Step Functions reports them. */
export function lambdaFailure(thrown: unknown, includeDetails = false): TaskFailure {
  // A payload over the limit is Step Functions' own terminal error, not the function's.
  if (thrown instanceof DataLimitFailure) return thrown;
  const isError = thrown instanceof Error;
  const errorType = isError ? thrown.name || 'Error' : 'Error';
  const document: Record<string, unknown> = {
    errorType,
    errorMessage: isError ? thrown.message : String(thrown),
    trace: isError && typeof thrown.stack === 'string' ? thrown.stack.split('\n') : [],
  };
  if (includeDetails && isError) {
    const toJSON = (thrown as { toJSON?: () => unknown }).toJSON;
    const extra = typeof toJSON === 'function' ? toJSON.call(thrown) : undefined;
    if (extra !== null && typeof extra === 'object') Object.assign(document, extra, { errorType, errorMessage: document.errorMessage });
  }
  return new TaskFailure(errorType, JSON.stringify(document));
}

/** An SDK-integration failure (`SNS.*`), named as Step Functions prefixes service exceptions. */
export function serviceFailure(service: string, thrown: unknown): TaskFailure {
  const name = thrown instanceof Error ? thrown.name : 'Error';
  const message = thrown instanceof Error ? thrown.message : String(thrown);
  return new TaskFailure(name.startsWith(`${service}.`) ? name : `${service}.${name}`, message);
}

/**
 * Step Functions' payload limit (256 KiB of UTF-8): a task result, a state's input or output, the execution input.
 * Larger fails with `States.DataLimitExceeded`, a terminal error that neither Retry nor Catch `States.ALL` handles.
 */
export const MAX_PAYLOAD_BYTES = 256 * 1024;

/** Error name of a payload over {@link MAX_PAYLOAD_BYTES}. */
export const DATA_LIMIT_EXCEEDED = 'States.DataLimitExceeded';

/** UTF-8 size of a value as JSON text (what Step Functions measures). */
export function payloadBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value) ?? 'null', 'utf8');
}

/**
 * `States.DataLimitExceeded`: terminal, like on AWS, where `States.ALL` matches it in no Retry and no Catch. (Locally
 * not even a Retry/Catch naming it explicitly applies: the library's flags are all or nothing; Stepwise has none.)
 */
export class DataLimitFailure extends TaskFailure {
  constructor(cause: string) {
    super(DATA_LIMIT_EXCEEDED, cause);
  }
  get isRetryable(): boolean {
    return false;
  }
  get isCatchable(): boolean {
    return false;
  }
}

/** JSON copy of `value` (undefined → null, like a Lambda response); fails like Step Functions when too large. */
export function toJsonPayload(value: unknown, what: string): unknown {
  const text = JSON.stringify(value) ?? 'null';
  if (Buffer.byteLength(text, 'utf8') > MAX_PAYLOAD_BYTES) {
    throw new DataLimitFailure(`The ${what} exceeds the maximum size of ${MAX_PAYLOAD_BYTES} bytes`);
  }
  return JSON.parse(text) as unknown;
}

/**
 * A `States.Runtime` failure: like on AWS, neither `Retry` nor `Catch` (not even `States.ALL`) handles it, so the
 * execution fails. (`aws-local-stepfunctions` honours the `isRetryable` / `isCatchable` flags.)
 */
export class RuntimeFailure extends TaskFailure {
  constructor(cause: string) {
    super('States.Runtime', cause);
  }
  get isRetryable(): boolean {
    return false;
  }
  get isCatchable(): boolean {
    return false;
  }
}

/** Any thrown value as a `TaskFailure` (already-mapped failures pass through). */
export function asTaskFailure(thrown: unknown): TaskFailure {
  if (thrown instanceof TaskFailure) return thrown;
  if (thrown instanceof Error) return new TaskFailure(thrown.name || 'Error', thrown.message);
  return new TaskFailure('Error', String(thrown));
}
