import { Aws, Duration } from 'aws-cdk-lib';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Slot, StateName } from '../state-names';
import { fmt } from './chatbot-message';
import { EXECUTION_ID_PATH, SPEC_NAME_PATH, type DefinitionContext } from './context';
import { notifyAndFail } from './fail-flow';
import { continueOnFailure, notify } from './notify';

/** Where the continued execution's input carries the whole state of the one that started it. */
export const CONTINUATION_INPUT_KEY = 'stepwiseContinuation';
const CONTINUATION_PATH = `$.${Slot.Backfill}.continuation`;

/**
 * Continue-as-new, the starting side: when the backfill says `continueAsNew`, start the next execution of this same
 * state machine (`$$.StateMachine.Id`) under the name the backfill chose (deterministic, so a retried StartExecution
 * is idempotent) with the whole state as input, announce it, and end this execution as `ContinuedAsNew`. The
 * migration's history so stays bounded for any table size; its progress never left the state table.
 *
 * If the next execution cannot be started, this one fails (`ContinueAsNewFailed`) without a rollback: the table is
 * consistent (the sync trigger keeps new rows right) and a new run resumes from the cursor.
 */
export function continueAsNew(ctx: DefinitionContext): sfn.IChainable {
  const start = new sfn.CustomState(ctx.scope, StateName.ContinueAsNew, {
    stateJson: {
      Type: 'Task',
      Comment: 'Starts the next execution of this state machine with the whole state; it resumes the backfill from the cursor in the state table.',
      Resource: `arn:${Aws.PARTITION}:states:::states:startExecution`,
      Parameters: {
        'StateMachineArn.$': '$$.StateMachine.Id',
        'Name.$': `${CONTINUATION_PATH}.name`,
        Input: {
          [CONTINUATION_INPUT_KEY]: { 'state.$': '$' },
          'AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID.$': EXECUTION_ID_PATH,
        },
      },
      ResultSelector: { 'executionArn.$': '$.ExecutionArn', 'startDate.$': '$.StartDate' },
      ResultPath: `$.${Slot.ContinuedAs}`,
      TimeoutSeconds: Duration.minutes(1).toSeconds(),
    },
  });
  start.addRetry({ errors: ['StepFunctions.ServiceUnavailableException', 'StepFunctions.ThrottlingException', 'States.Timeout', 'States.TaskFailed'], interval: Duration.seconds(2), maxAttempts: 4, backoffRate: 2 });
  start.addCatch(
    notifyAndFail(ctx, {
      notify: StateName.NotifyContinueAsNewFailed,
      fail: StateName.ContinueAsNewFailed,
      comment: 'The next execution could not be started; nothing is rolled back.',
      title: fmt('Stepwise {}: backfill stopped, action needed', SPEC_NAME_PATH),
      description: fmt(
        'The backfill could not continue in a new execution ({}: {}). Nothing was rolled back: the cursor is in the state table and the sync trigger keeps new writes right. Start the migration again to resume from the cursor (see docs/RELIABILITY.md).',
        '$.error.Error', '$.error.Cause',
      ),
      cause: 'The backfill could not continue in a new execution; start the migration again to resume from the cursor.',
    }),
    { errors: [sfn.Errors.ALL], resultPath: '$.error' },
  );
  const announce = notify(ctx, StateName.NotifyContinuedAsNew, {
    comment: 'Announces the execution the migration continues in.',
    event: 'continued-as-new',
    title: fmt('Stepwise {}: continues in a new execution', SPEC_NAME_PATH),
    description: fmt(
      '{} of about {} rows backfilled. To keep its history bounded the migration continues in execution {} (continuation {}); gates and notifications come from there.',
      `$.${Slot.Backfill}.rows`, `$.${Slot.Backfill}.estimatedRows`, `$.${Slot.ContinuedAs}.executionArn`, `${CONTINUATION_PATH}.generation`,
    ),
  });
  const ended = new sfn.Succeed(ctx.scope, StateName.ContinuedAsNew, {
    stateName: StateName.ContinuedAsNew,
    comment: 'This execution handed the migration to the next one ($.continuedAs.executionArn).',
  });
  continueOnFailure(announce, ended);
  return start.next(announce).next(ended);
}

/**
 * Continue-as-new, the receiving side: the first state of the workflow sends an execution started by
 * {@link continueAsNew} straight back into the backfill loop, with the state it carried.
 */
export function continuationEntry(ctx: DefinitionContext, init: sfn.IChainable, backfill: sfn.State): sfn.Choice {
  const resume = new sfn.Pass(ctx.scope, StateName.ResumeContinuation, {
    stateName: StateName.ResumeContinuation,
    comment: 'Restores the state the previous execution carried over; the backfill then takes the state row over.',
    inputPath: `$.${CONTINUATION_INPUT_KEY}.state`,
  });
  return new sfn.Choice(ctx.scope, StateName.IsContinuation, {
    stateName: StateName.IsContinuation,
    comment: 'An execution started by ContinueAsNew resumes the backfill; any other input is a migration spec.',
  })
    .when(sfn.Condition.isPresent(`$.${CONTINUATION_INPUT_KEY}`), resume.next(backfill))
    .otherwise(init);
}
