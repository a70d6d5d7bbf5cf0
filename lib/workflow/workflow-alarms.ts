import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { ALARM_PERIOD, BACKFILL_ACTIVE_WINDOW, DEFAULT_BACKFILL_STALL_AFTER } from './defaults';

/** Props of {@link WorkflowAlarms}. */
export interface WorkflowAlarmsProps {
  readonly stateMachine: sfn.IStateMachine;
  /** The Backfill phase function (its invocations are the backfill's heartbeat). */
  readonly backfill: lambda.IFunction;
  /** Functions whose invocation means the workflow left the backfill loop (verify: done; rollback: failed). */
  readonly after: readonly lambda.IFunction[];
  /** Where alarm state changes go. */
  readonly topic: sns.ITopic;
  /** The topic's KMS key, if the construct can change its policy: CloudWatch is allowed to use it. */
  readonly topicKey?: kms.IKey;
  /**
   * Minutes without a Backfill invocation, while the backfill is active, before the stall alarm fires.
   * @default Duration.minutes(15)
   */
  readonly backfillStallAfter?: Duration;
}

/**
 * CloudWatch alarms on the migration workflow, each publishing ALARM and OK to the notification topic:
 *
 * - `ExecutionsFailed`: any execution ended FAILED (rolled back, refused by preflight, contract failed) in 5 minutes.
 * - `ExecutionsTimedOut`: any execution hit its execution timeout. This one matters most: a timed-out execution skips
 *   every Catch, so neither the rollback nor its notification ran.
 * - `BackfillStalled` (composite): the backfill was running (a Backfill invocation within the last hour), it has not
 *   been invoked for `backfillStallAfter`, and the workflow did not move on (no Verify/Rollback invocation and no
 *   execution ended within the hour). While the loop is healthy Backfill runs every time box + wait (< 2 minutes),
 *   so silence means the loop is stuck: Lambda throttled, the state machine throttled or its retries backing off,
 *   or an execution paused by hand. Quiet between migrations and during gates and the soak, because it needs recent
 *   backfill activity. With several migrations at once it can stay quiet while one of them stalls (another keeps
 *   invoking Backfill): it watches the Backfill function, not a single execution.
 */
export class WorkflowAlarms extends Construct {
  readonly executionsFailed: cloudwatch.Alarm;
  readonly executionsTimedOut: cloudwatch.Alarm;
  readonly backfillStalled: cloudwatch.CompositeAlarm;
  /** The child alarms of `backfillStalled` (no actions of their own). */
  readonly backfillStallInputs: readonly cloudwatch.Alarm[];

  constructor(scope: Construct, id: string, props: WorkflowAlarmsProps) {
    super(scope, id);
    const action = new actions.SnsAction(props.topic);
    const stallAfter = props.backfillStallAfter ?? DEFAULT_BACKFILL_STALL_AFTER;
    const period = ALARM_PERIOD;
    const periodsIn = (window: Duration): number => Math.max(1, Math.ceil(window.toSeconds() / period.toSeconds()));

    // CloudWatch publishes to an SSE-KMS topic only with the key (AWS managed keys cannot grant it) and a topic policy.
    props.topicKey?.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchAlarmsToPublish',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
      }),
    );
    props.topic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchAlarmsToPublish',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [props.topic.topicArn],
        conditions: { StringEquals: { 'aws:SourceAccount': props.topic.env.account } },
      }),
    );

    const sum = { period, statistic: cloudwatch.Stats.SUM };
    const onAlarm = <T extends cloudwatch.AlarmBase>(alarm: T): T => {
      alarm.addAlarmAction(action);
      alarm.addOkAction(action);
      return alarm;
    };

    this.executionsFailed = onAlarm(
      props.stateMachine.metricFailed(sum).createAlarm(this, 'ExecutionsFailed', {
        alarmDescription: 'Stepwise: a migration execution FAILED (rolled back, refused by preflight, or contract failed). See the topic for its cause.',
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
    );
    this.executionsTimedOut = onAlarm(
      props.stateMachine.metricTimedOut(sum).createAlarm(this, 'ExecutionsTimedOut', {
        alarmDescription: 'Stepwise: a migration execution TIMED OUT. No rollback and no notification ran: inspect the table and the execution now.',
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
    );

    // ---- Backfill stalled: recently active AND silent for stallAfter AND not moved on ----
    const backfillInvocations = props.backfill.metricInvocations(sum);
    const activeWindow = periodsIn(BACKFILL_ACTIVE_WINDOW);
    const wasActive = backfillInvocations.createAlarm(this, 'BackfillRecentlyActive', {
      alarmDescription: `Stepwise (input of BackfillStalled): Backfill ran within the last ${BACKFILL_ACTIVE_WINDOW.toHumanString()}.`,
      threshold: 1,
      evaluationPeriods: activeWindow,
      datapointsToAlarm: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    const silentPeriods = periodsIn(stallAfter);
    const silent = backfillInvocations.createAlarm(this, 'BackfillSilent', {
      alarmDescription: `Stepwise (input of BackfillStalled): no Backfill invocation for ${stallAfter.toHumanString()}.`,
      threshold: 1,
      evaluationPeriods: silentPeriods,
      datapointsToAlarm: silentPeriods,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      // No data point means no invocation: that is exactly the silence this alarm looks for.
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    });
    const movedOnMetrics: Record<string, cloudwatch.IMetric> = {
      ...Object.fromEntries(props.after.map((fn, i) => [`after${i}`, fn.metricInvocations(sum)])),
      ended: new cloudwatch.MathExpression({
        expression: 'FILL(ok, 0) + FILL(failed, 0) + FILL(aborted, 0) + FILL(timedout, 0)',
        usingMetrics: {
          ok: props.stateMachine.metricSucceeded(sum),
          failed: props.stateMachine.metricFailed(sum),
          aborted: props.stateMachine.metricAborted(sum),
          timedout: props.stateMachine.metricTimedOut(sum),
        },
        period,
      }),
    };
    const movedOn = new cloudwatch.MathExpression({
      expression: Object.keys(movedOnMetrics).map((k) => `FILL(${k}, 0)`).join(' + '),
      usingMetrics: movedOnMetrics,
      period,
      label: 'Verify/Rollback invocations and ended executions',
    }).createAlarm(this, 'BackfillMovedOn', {
      alarmDescription: `Stepwise (input of BackfillStalled): the workflow left the backfill loop within the last ${BACKFILL_ACTIVE_WINDOW.toHumanString()}.`,
      threshold: 1,
      evaluationPeriods: activeWindow,
      datapointsToAlarm: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.backfillStallInputs = [wasActive, silent, movedOn];
    this.backfillStalled = onAlarm(
      new cloudwatch.CompositeAlarm(this, 'BackfillStalled', {
        alarmDescription:
          `Stepwise: the backfill was running and Backfill has not been invoked for ${stallAfter.toHumanString()}, ` +
          'while no verification, rollback or execution end followed. Check `stepwise status` and the state machine history.',
        alarmRule: cloudwatch.AlarmRule.allOf(
          cloudwatch.AlarmRule.fromAlarm(wasActive, cloudwatch.AlarmState.ALARM),
          cloudwatch.AlarmRule.fromAlarm(silent, cloudwatch.AlarmState.ALARM),
          cloudwatch.AlarmRule.not(cloudwatch.AlarmRule.fromAlarm(movedOn, cloudwatch.AlarmState.ALARM)),
        ),
      }),
    );
  }
}
