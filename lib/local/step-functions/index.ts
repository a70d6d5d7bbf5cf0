/**
 * The Step Functions side of the local twin: runs the CDK-synthesized definition in process
 * (`aws-local-stepfunctions`), with Lambda handlers called in process, SNS publishes sent to a sink and approval
 * gates answered through an `ApprovalRegistry`.
 */
export {
  DEFAULT_STATE_MACHINE_ARN,
  ExecutionStartError,
  LocalStateMachine,
  runLocalExecution,
  startLocalExecution,
  type LocalExecution,
  type LocalStateMachineOptions,
  type StartExecutionOptions,
} from './local-state-machine';
export {
  ApprovalRegistry,
  GateClosedError,
  TaskFailedByCaller,
  TaskTokenError,
  type ApprovalOutcome,
  type ApprovalRequest,
  type PendingApproval,
} from './approval-registry';
export { TaskFailure, lambdaFailure } from './task-errors';
export { resourceParts } from './history';
export type {
  AslDefinition,
  ExecutionResult,
  ExecutionStatus,
  HistoryEvent,
  LambdaHandler,
  LocalExecutionDescription,
  SnsMessage,
  SnsPublisher,
  TaskOverride,
} from './types';
