import type { Duration } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import type { Phase } from '../../constants';

/** What the definition builders need: where to create states, the phase functions, the topic and the timeouts. */
export interface DefinitionContext {
  /** Scope of every state. */
  readonly scope: Construct;
  /** One function per phase. */
  readonly functions: Readonly<Record<Phase, lambda.IFunction>>;
  /** `TimeoutSeconds` of each phase's task (its Lambda timeout plus a margin). */
  readonly taskTimeouts: Readonly<Record<Phase, Duration>>;
  /** Where notifications and approval requests go. */
  readonly topic: sns.ITopic;
  /** How long a gate waits for a decision. */
  readonly approvalTimeout: Duration;
}

/** JSONPath of the execution ARN, as `stepwise approve|reject|status` take it. */
export const EXECUTION_ID_PATH = '$$.Execution.Id';
/** JSONPath of the migration name: threads every Slack message of one migration together. */
export const SPEC_NAME_PATH = '$.spec.name';
/** Where a Catch puts `{ Error, Cause }`. */
export const ERROR_PATH = '$.error';
