import { Duration, TimeZone } from 'aws-cdk-lib';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as targets from 'aws-cdk-lib/aws-scheduler-targets';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';

/** Props of {@link MaintenanceWindowSchedule}. */
export interface MaintenanceWindowScheduleProps {
  /** The migration state machine to start. */
  readonly stateMachine: sfn.IStateMachine;
  /** EventBridge Scheduler cron: `cron(0 2 ? * SAT *)`. Validated by the caller (`parseAwsCron`). */
  readonly schedule: string;
  /** IANA time zone the cron is read in. @default 'UTC' */
  readonly timeZone?: string;
  /** The migration spec, as the execution input. */
  readonly spec: unknown;
  /** Flexible time window: the start may be delayed by up to this much (spreads load; Scheduler's own feature). */
  readonly flexibleWindow?: Duration;
}

/** Default flexible time window of the maintenance-window schedule. */
export const DEFAULT_FLEXIBLE_WINDOW = Duration.minutes(15);

/**
 * An EventBridge Scheduler schedule that starts the migration state machine with a spec as its input, in a
 * maintenance window (cron with a time zone, flexible time window). Scheduler's target role may only
 * `states:StartExecution` on this state machine. Scheduler gives each execution a unique name, so a retried start
 * never collides; a second start of the same spec while the first runs is refused by the Backup phase's table claim.
 */
export class MaintenanceWindowSchedule extends Construct {
  readonly schedule: scheduler.Schedule;

  constructor(scope: Construct, id: string, props: MaintenanceWindowScheduleProps) {
    super(scope, id);
    this.schedule = new scheduler.Schedule(this, 'Schedule', {
      description: 'Stepwise: starts the migration in its maintenance window.',
      schedule: scheduler.ScheduleExpression.expression(props.schedule, TimeZone.of(props.timeZone ?? 'UTC')),
      timeWindow: scheduler.TimeWindow.flexible(props.flexibleWindow ?? DEFAULT_FLEXIBLE_WINDOW),
      target: new targets.StepFunctionsStartExecution(props.stateMachine, {
        input: scheduler.ScheduleTargetInput.fromObject(props.spec),
        retryAttempts: 3,
        maxEventAge: Duration.hours(1),
      }),
    });
  }
}
