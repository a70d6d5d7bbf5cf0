import { Arn, ArnFormat, Duration, Names, Stack, Token, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { Phase } from '../constants';
import {
  BACKFILL_TIMEOUT_MARGIN,
  DEFAULT_APPROVAL_REMINDER,
  DEFAULT_APPROVAL_TIMEOUT,
  DEFAULT_BACKFILL_MAX_SECONDS,
  DEFAULT_EXECUTION_TIMEOUT,
  DEFAULT_SNAPSHOT_MAX_POLLS,
  DEFAULT_SNAPSHOT_POLL_INTERVAL,
  LONG_STATEMENT_RETRY,
  MAX_BACKFILL_INVOCATIONS_PER_EXECUTION,
  MAX_VERIFY_CALLS_PER_EXECUTION,
  PHASE_TIMEOUT,
  STATE_MACHINE_LOG_PREFIX,
  STATE_MACHINE_LOG_RETENTION,
  TASK_TIMEOUT_MARGIN,
} from './defaults';
import { migrationDefinition, SNAPSHOT_ID_PREFIX, type ClusterSnapshotContext } from './definition';
import { retrierSeconds } from './history-budget';
import { PhaseFunction, type PhaseFunctionProps } from './phase-function';
import type { ExecutionLimits } from './state';
import { StepwiseTopic } from './stepwise-topic';
import { ApprovalLinkFunction } from './approval-link-function';
import { assertValidWorkflowProps } from './validate-props';

/** Builds the function of one phase; `id` is the phase key (`Preflight`, `Backfill`, ...). */
export type PhaseFunctionFactory = (scope: Construct, id: string, props: PhaseFunctionProps) => lambda.IFunction;

/** Props of {@link MigrationWorkflow}. */
export interface MigrationWorkflowProps {
  /** ARN of the Aurora cluster (Data API enabled): `arn:aws:rds:<region>:<account>:cluster:<id>`. */
  readonly clusterArn: string;
  /** ARN of the Secrets Manager secret with the database credentials. */
  readonly secretArn: string;
  /** Database (name) the migrations run in. */
  readonly database: string;
  /**
   * Where notifications and approval requests go. If it is encrypted with a key the construct can see
   * (`topic.masterKey`), the state machine is granted `kms:GenerateDataKey` and `kms:Decrypt` on it.
   * @default - a new topic with its own KMS key (rotation on) that enforces TLS
   */
  readonly topic?: sns.ITopic;
  /**
   * Folder with the handler entry files `<phase>.ts`.
   * @default - the repository's `lambdas/` folder
   */
  readonly lambdaEntryDir?: string;
  /**
   * Longest time one backfill invocation runs batches; the backfill Lambda times out 30 s later.
   * @default 40
   */
  readonly backfillMaxSeconds?: number;
  /**
   * Reserved concurrency of the backfill function: caps how many backfill invocations (one per running migration,
   * plus retries) can write to the database at once. Needs an account concurrency quota above the default 10.
   * @default none
   */
  readonly backfillReservedConcurrency?: number;
  /**
   * How long each approval gate waits; no answer in time rolls the migration back.
   * @default Duration.days(7)
   */
  readonly approvalTimeout?: Duration;
  /**
   * How long a gate waits before it publishes a reminder (with a fresh task token); reminders repeat until
   * `approvalTimeout` is spent.
   * @default Duration.days(1)
   */
  readonly approvalReminderAfter?: Duration;
  /**
   * Backstop on the whole execution. It must outlast every gate, the soak and the backfill: a timed-out execution
   * skips rollback and notifications.
   * @default Duration.days(90)
   */
  readonly executionTimeout?: Duration;
  /**
   * Escape hatch: builds each phase function instead of {@link PhaseFunction} (for example from prebuilt code).
   * The factory owns permissions; `grantDataApiAccess` gives the ones a phase needs.
   * @default - a `PhaseFunction` per phase
   */
  readonly functionFactory?: PhaseFunctionFactory;
  /**
   * Take an Aurora cluster snapshot (Step Functions AWS SDK integration, no Lambda) right after the Backup phase and
   * wait until it is available. Its identifier, `stepwise-<sha1 of the execution ARN>`, appears in every later
   * notification. Turn it off only when another mechanism (AWS Backup) guarantees a restore point.
   * @default true
   */
  readonly clusterSnapshot?: boolean;
  /**
   * Approval links: the approval notifications link to an approval page (a Lambda Function URL) that approves or
   * rejects the gate through Step Functions, recording the approver's name (lib/approvals/approval-link.ts).
   * @default false
   */
  readonly approvalLinks?: boolean;
}

/**
 * A zero-downtime column migration as a Standard Step Functions workflow: one Lambda per phase, reaching the
 * database only through the RDS Data API, approval gates answered by `stepwise approve|reject`, notifications on SNS
 * in AWS Chatbot's custom format, automatic rollback up to the contract phase.
 *
 * @example
 * const workflow = new MigrationWorkflow(this, 'Workflow', {
 *   clusterArn: 'arn:aws:rds:us-east-1:123456789012:cluster:shop',
 *   secretArn: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:shop-admin-AbCdEf',
 *   database: 'shop',
 * });
 * workflow.stateMachine.grantStartExecution(deployRole);
 */
export class MigrationWorkflow extends Construct {
  /** The state machine; its execution input is a migration spec. */
  readonly stateMachine: sfn.StateMachine;
  /** The approval-link function and its URL (with `approvalLinks: true`). */
  readonly approvalLink?: ApprovalLinkFunction;
  /** The function of each phase. */
  readonly phaseFunctions: Readonly<Record<Phase, lambda.IFunction>>;
  /** The notification topic (given or created). */
  readonly topic: sns.ITopic;
  /** The state machine's execution log group, under `/aws/vendedlogs/states/`. */
  readonly logGroup: logs.LogGroup;
  /** ARN pattern of the cluster snapshots the workflow creates (`...:cluster-snapshot:stepwise-*`); undefined when off. */
  readonly snapshotArnPattern?: string;

  constructor(scope: Construct, id: string, props: MigrationWorkflowProps) {
    super(scope, id);
    const approvalTimeout = props.approvalTimeout ?? DEFAULT_APPROVAL_TIMEOUT;
    const executionTimeout = props.executionTimeout ?? DEFAULT_EXECUTION_TIMEOUT;
    const backfillMaxSeconds = props.backfillMaxSeconds ?? DEFAULT_BACKFILL_MAX_SECONDS;

    // ---- Validate everything first, then report every problem at once ----
    assertValidWorkflowProps({ ...props, approvalTimeout, executionTimeout, backfillMaxSeconds, region: Stack.of(this).region });

    // ---- Topic ----
    this.topic = props.topic ?? new StepwiseTopic(this, 'Topic').topic;

    // ---- Phase functions ----
    const lambdaTimeouts = Object.fromEntries(
      Object.values(Phase).map((phase) => [
        phase,
        phase === Phase.Backfill ? Duration.seconds(backfillMaxSeconds).plus(BACKFILL_TIMEOUT_MARGIN) : PHASE_TIMEOUT,
      ]),
    ) as Record<Phase, Duration>;
    const factory: PhaseFunctionFactory =
      props.functionFactory ?? ((fnScope, fnId, fnProps) => new PhaseFunction(fnScope, fnId, fnProps).function);
    this.phaseFunctions = Object.fromEntries(
      Object.entries(Phase).map(([key, phase]) => [
        phase,
        factory(this, key, {
          phase,
          clusterArn: props.clusterArn,
          secretArn: props.secretArn,
          database: props.database,
          entryDir: props.lambdaEntryDir,
          timeout: lambdaTimeouts[phase],
          ...(phase === Phase.Backfill && props.backfillReservedConcurrency !== undefined
            ? { reservedConcurrency: props.backfillReservedConcurrency }
            : {}),
        }),
      ]),
    ) as Record<Phase, lambda.IFunction>;

    // ---- State machine ----
    this.logGroup = new logs.LogGroup(this, 'LogGroup', {
      logGroupName: `${STATE_MACHINE_LOG_PREFIX}${Names.uniqueResourceName(this, { maxLength: 200, separator: '-' })}`,
      retention: STATE_MACHINE_LOG_RETENTION,
    });
    const snapshot = props.clusterSnapshot === false ? undefined : this.snapshotContext(props.clusterArn);
    if (props.approvalLinks) this.approvalLink = new ApprovalLinkFunction(this, 'ApprovalLink', { entryDir: props.lambdaEntryDir });
    this.snapshotArnPattern = snapshot?.snapshotArnPattern;
    const taskTimeouts = Object.fromEntries(
      Object.values(Phase).map((phase) => [phase, lambdaTimeouts[phase].plus(TASK_TIMEOUT_MARGIN)]),
    ) as Record<Phase, Duration>;
    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      comment: 'Stepwise: one zero-downtime column migration per execution; the input is the migration spec.',
      stateMachineType: sfn.StateMachineType.STANDARD,
      definitionBody: sfn.DefinitionBody.fromChainable(
        migrationDefinition({
          scope: new Construct(this, 'Definition'),
          functions: this.phaseFunctions,
          taskTimeouts,
          topic: this.topic,
          approvalTimeout,
          approvalReminderAfter: props.approvalReminderAfter ?? DEFAULT_APPROVAL_REMINDER,
          ...executionLimits(executionTimeout, approvalTimeout, snapshot),
          ...(snapshot === undefined ? {} : { snapshot }),
          ...(this.approvalLink ? { approvalLinkUrl: this.approvalLink.url.url } : {}),
        }),
      ),
      timeout: executionTimeout,
      tracingEnabled: true,
      logs: { destination: this.logGroup, level: sfn.LogLevel.ALL, includeExecutionData: false },
    });

    // ---- Wiring ----
    // Publishing to an SSE-KMS topic needs the key; SnsPublish grants only sns:Publish.
    this.topic.masterKey?.grant(this.stateMachine, 'kms:GenerateDataKey', 'kms:Decrypt');
    // Continue-as-new starts the next execution of this same state machine. A separate policy, not the role's default
    // one: the state machine depends on its default policy, so granting on its own ARN there would be a cycle.
    new iam.Policy(this, 'ContinueAsNewPolicy', {
      roles: [this.stateMachine.role],
      statements: [new iam.PolicyStatement({ actions: ['states:StartExecution'], resources: [this.stateMachine.stateMachineArn] })],
    });
    this.acknowledgeNagFindings();
  }

  /** Where the snapshot states point: the cluster identifier and the ARN pattern of Stepwise's snapshots. */
  private snapshotContext(clusterArn: string): ClusterSnapshotContext {
    const parts = Arn.split(clusterArn, ArnFormat.COLON_RESOURCE_NAME);
    const snapshotArnPattern = Stack.of(this).formatArn({
      partition: parts.partition,
      service: 'rds',
      region: parts.region,
      account: parts.account,
      resource: 'cluster-snapshot',
      resourceName: `${SNAPSHOT_ID_PREFIX}*`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    return {
      clusterArn,
      clusterIdentifier: parts.resourceName ?? clusterArn,
      snapshotArnPattern,
      pollInterval: DEFAULT_SNAPSHOT_POLL_INTERVAL,
      maxPolls: DEFAULT_SNAPSHOT_MAX_POLLS,
    };
  }

  /** Wildcards CDK puts on the state machine role that have no narrower form. */
  private acknowledgeNagFindings(): void {
    const role = this.stateMachine.role;
    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'Step Functions vended log delivery (logs:CreateLogDelivery and friends) and X-Ray (PutTraceSegments, ' +
        'GetSamplingRules) have no resource-level permissions; AWS documents "*" for both.',
    });
    if (this.snapshotArnPattern !== undefined) {
      Validations.of(role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::${flattenArn(Stack.of(this).resolve(this.snapshotArnPattern))}]`,
        reason:
          'rds:CreateDBClusterSnapshot, rds:AddTagsToResource and rds:DescribeDBClusterSnapshots on the snapshots this ' +
          'workflow names (stepwise-<sha1 of the execution ARN>): the identifier is computed per execution, so the ' +
          'narrowest ARN is the stepwise- prefix in the cluster\'s account and region.',
      });
    }
    for (const fn of Object.values(this.phaseFunctions)) {
      Validations.of(role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::${flattenArn(Stack.of(this).resolve(fn.functionArn))}:*]`,
        reason: 'lambda:InvokeFunction on the versions and aliases (":*") of one phase function, as LambdaInvoke grants it.',
      });
    }
  }
}

/** The ARN pattern of every execution of `stateMachine` (`…:execution:<machine name>:*`), for IAM statements. */
export function executionArnsOf(scope: Construct, stateMachine: sfn.IStateMachine): string {
  return Stack.of(scope).formatArn({
    service: 'states',
    resource: 'execution',
    resourceName: `${Arn.split(stateMachine.stateMachineArn, ArnFormat.COLON_RESOURCE_NAME).resourceName}:*`,
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
  });
}

/** Renders an ARN the way cdk-nag names it in findings: `<LogicalId.Arn>` for a GetAtt, the string otherwise. */
export function flattenArn(resolved: unknown): string {
  if (typeof resolved === 'string') return resolved;
  const join = (resolved as { 'Fn::Join'?: [string, unknown[]] })['Fn::Join'];
  if (join) return join[1].map(flattenArn).join(join[0]);
  const getAtt = (resolved as { 'Fn::GetAtt'?: [string, string] })['Fn::GetAtt'];
  if (getAtt) return `<${getAtt[0]}.${getAtt[1]}>`;
  const ref = (resolved as { Ref?: string }).Ref;
  return ref === undefined ? JSON.stringify(resolved) : `<${ref}>`;
}

/**
 * What every phase task is told about its execution (`PhaseEvent.limits`): preflight refuses a spec whose waits
 * outlast the execution timeout, the backfill and verify loops continue as new within the history budget. Absent
 * when a timeout is an unresolved token (checked at deploy time only).
 */
function executionLimits(executionTimeout: Duration, approvalTimeout: Duration, snapshot: ClusterSnapshotContext | undefined): { limits?: ExecutionLimits } {
  if (executionTimeout.isUnresolved() || approvalTimeout.isUnresolved()) return {};
  const long = LONG_STATEMENT_RETRY;
  return {
    limits: {
      executionTimeoutSeconds: executionTimeout.toSeconds(),
      approvalTimeoutSeconds: approvalTimeout.toSeconds(),
      maxBackfillInvocations: MAX_BACKFILL_INVOCATIONS_PER_EXECUTION,
      maxVerifyCalls: MAX_VERIFY_CALLS_PER_EXECUTION,
      // Each attempt runs up to the phase timeout, then waits its pause.
      longStatementSeconds: Math.ceil(retrierSeconds({ interval: long.interval.toSeconds(), backoffRate: long.backoffRate, maxAttempts: long.maxAttempts, maxDelay: long.maxDelay.toSeconds() }, PHASE_TIMEOUT.toSeconds())),
      snapshotSeconds: snapshot === undefined ? 0 : snapshot.pollInterval.toSeconds() * snapshot.maxPolls,
    },
  };
}
