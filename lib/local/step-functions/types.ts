/** Types shared by the local Step Functions runner. */
import type { HistoryEvent } from '@aws-sdk/client-sfn';
import type { Context } from 'aws-lambda';

export type { HistoryEvent };

/**
 * An Amazon States Language definition with every CDK token resolved to plain strings (JSONPath only). Typed loosely
 * so JSON read from disk or produced by `synthesizeDefinition()` fits without casts.
 */
export interface AslDefinition {
  readonly StartAt: string;
  readonly States: Readonly<Record<string, unknown>>;
  readonly [field: string]: unknown;
}

/**
 * A Lambda handler run in process: receives the task's payload (a JSON copy) and a Lambda-like context
 * (`getRemainingTimeInMillis` counts down from `lambdaTimeoutSeconds`), returns a JSON-serialisable result.
 */
export type LambdaHandler = (event: unknown, context: Context) => Promise<unknown> | unknown;

/** Answers a Task state that is neither Lambda nor SNS (e.g. an `aws-sdk:*` integration), by state name. */
export type TaskOverride = (input: unknown) => Promise<unknown> | unknown;

/** One `sns:publish` as the workflow made it (Parameters resolved, task token substituted). */
export interface SnsMessage {
  readonly topicArn?: string;
  readonly subject?: string;
  /** The message body as SNS delivers it: an object `Message` is JSON-serialised, as Step Functions does. */
  readonly message: string;
  readonly messageAttributes?: unknown;
  /** All resolved `Parameters` of the task. */
  readonly parameters: Readonly<Record<string, unknown>>;
  readonly executionArn: string;
  readonly stateName: string;
}

/** Receives every SNS publish of an execution (see `createSnsSink`). */
export type SnsPublisher = (message: SnsMessage) => Promise<void> | void;

/** Terminal status of an execution, as `DescribeExecution` reports it. */
export type ExecutionStatus = 'SUCCEEDED' | 'FAILED' | 'ABORTED' | 'TIMED_OUT';

/** How an execution ended. */
export interface ExecutionResult {
  readonly status: ExecutionStatus;
  /** The execution output (SUCCEEDED only). */
  readonly output?: unknown;
  /** Error name (FAILED, TIMED_OUT). */
  readonly error?: string;
  readonly cause?: string;
  readonly startedAt: Date;
  readonly stoppedAt: Date;
}

/** `DescribeExecution`-shaped view of a local execution (JSON fields as strings, like the API). */
export interface LocalExecutionDescription {
  readonly executionArn: string;
  readonly stateMachineArn: string;
  readonly name: string;
  readonly status: ExecutionStatus | 'RUNNING';
  readonly startDate: Date;
  readonly stopDate?: Date;
  readonly input: string;
  readonly output?: string;
  readonly error?: string;
  readonly cause?: string;
}
