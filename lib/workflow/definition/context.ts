import type { Duration } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import type { Phase } from '../../constants';
import type { ExecutionLimits } from '../state';

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
  /** How long a gate waits before it publishes a reminder. */
  readonly approvalReminderAfter: Duration;
  /** Sent to every phase task (`PhaseEvent.limits`): the execution's timeouts and history budget. */
  readonly limits?: ExecutionLimits;
  /** The Aurora cluster snapshot taken after the Backup phase; absent, the workflow takes none. */
  readonly snapshot?: ClusterSnapshotContext;
  /** URL of the approval page (a Function URL); absent, approval notifications carry no link. */
  readonly approvalLinkUrl?: string;
}

/** What the cluster-snapshot states need (see `cluster-snapshot.ts`). */
export interface ClusterSnapshotContext {
  /** Cluster identifier (the last segment of the cluster ARN): `DbClusterIdentifier` of CreateDBClusterSnapshot. */
  readonly clusterIdentifier: string;
  /** The cluster ARN, for IAM. */
  readonly clusterArn: string;
  /** ARN pattern of the snapshots Stepwise creates (`...:cluster-snapshot:stepwise-*`), for IAM. */
  readonly snapshotArnPattern: string;
  /** Pause between two DescribeDBClusterSnapshots polls. */
  readonly pollInterval: Duration;
  /** Polls before the snapshot counts as failed (pollInterval x maxPolls is the longest wait). */
  readonly maxPolls: number;
}

/** JSONPath of the execution ARN, as `stepwise approve|reject|status` take it. */
export const EXECUTION_ID_PATH = '$$.Execution.Id';
/** JSONPath of the migration name: threads every Slack message of one migration together. */
export const SPEC_NAME_PATH = '$.spec.name';
/** JSONPath of the cluster snapshot identifier: in every notification from Init on (a placeholder until it is taken). */
export const SNAPSHOT_ID_PATH = '$.snapshot.id';
/** JSONPath of the cluster snapshot status (`not-taken`, `creating`, `available`, ...). */
export const SNAPSHOT_STATUS_PATH = '$.snapshot.status';
/** Where a Catch puts `{ Error, Cause }`. */
export const ERROR_PATH = '$.error';
