import { Aws, Duration } from 'aws-cdk-lib';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Slot, StateName } from '../state-names';
import { fmt } from './chatbot-message';
import { EXECUTION_ID_PATH, SPEC_NAME_PATH, type DefinitionContext } from './context';
import { notifyAndFail } from './fail-flow';
import { continuesAsNew } from './loop-until';
import { continueOnFailure, notify } from './notify';

/** Where the continued execution's input carries the whole state of the one that started it. */
export const CONTINUATION_INPUT_KEY = 'stepwiseContinuation';

/** A loop that can hand the migration to a new execution: where its result (with `continuation`) is, its states. */
export interface ContinuingLoop {
  /** The loop's result slot: `$.<slot>.continuation.name` names the next execution. */
  readonly slot: Slot;
  /** The `states:startExecution` task. */
  readonly start: StateName;
  /** Its announcement. */
  readonly announce: StateName;
  /** The announcement's description, a `fmt` template, and the JSONPaths of its `{}`. */
  readonly announcement: { readonly template: string; readonly paths: readonly string[] };
}

/** The backfill loop (sequential or key ranges): the announcement says how far it got. */
const BACKFILL_LOOP: ContinuingLoop = {
  slot: Slot.Backfill,
  start: StateName.ContinueAsNew,
  announce: StateName.NotifyContinuedAsNew,
  announcement: {
    template: '{} of about {} rows backfilled. To keep its history bounded the migration continues in execution {} (continuation {}); gates and notifications come from there.',
    paths: [`$.${Slot.Backfill}.rows`, `$.${Slot.Backfill}.estimatedRows`, `$.${Slot.ContinuedAs}.executionArn`, `$.${Slot.Backfill}.continuation.generation`],
  },
};

/** A verification loop (`Verify`, `VerifyAfterSoak`): the announcement says how many rows it checked so far. */
export function verifyLoopContinuation(slot: Slot, start: StateName, announce: StateName): ContinuingLoop {
  return {
    slot,
    start,
    announce,
    announcement: {
      template: 'Verification has checked {} rows so far. To keep its history bounded the migration continues in execution {} (continuation {}), which verifies the rest; gates and notifications come from there.',
      paths: [`$.${slot}.rowsChecked`, `$.${Slot.ContinuedAs}.executionArn`, `$.${slot}.continuation.generation`],
    },
  };
}

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
  return continueLoopAsNew(ctx, BACKFILL_LOOP);
}

/** The end states every continuing loop shares (`ContinuedAsNew`, `ContinueAsNewFailed`), made once per scope. */
const sharedEnds = new WeakMap<object, { ended: sfn.State; failed: sfn.IChainable }>();

function continuationEnds(ctx: DefinitionContext): { ended: sfn.State; failed: sfn.IChainable } {
  const known = sharedEnds.get(ctx.scope);
  if (known) return known;
  const failed = notifyAndFail(ctx, {
    notify: StateName.NotifyContinueAsNewFailed,
    fail: StateName.ContinueAsNewFailed,
    comment: 'The next execution could not be started; nothing is rolled back.',
    title: fmt('Stepwise {}: migration stopped, action needed', SPEC_NAME_PATH),
    description: fmt(
      'The migration could not continue in a new execution ({}: {}). Nothing was rolled back: the cursor is in the state table and the sync trigger keeps new writes right. Start the migration again to resume from the cursor (see docs/RELIABILITY.md).',
      '$.error.Error', '$.error.Cause',
    ),
    cause: 'The migration could not continue in a new execution; start the migration again to resume from the cursor.',
  });
  const ended = new sfn.Succeed(ctx.scope, StateName.ContinuedAsNew, {
    stateName: StateName.ContinuedAsNew,
    comment: 'This execution handed the migration to the next one ($.continuedAs.executionArn).',
  });
  const ends = { ended, failed };
  sharedEnds.set(ctx.scope, ends);
  return ends;
}

/**
 * Continue-as-new for any loop whose result carries `continueAsNew` and `continuation` (the backfill, the two
 * verification loops): StartExecution of the next execution with the whole state, an announcement, `ContinuedAsNew`.
 */
export function continueLoopAsNew(ctx: DefinitionContext, loop: ContinuingLoop): sfn.IChainable {
  const { ended, failed } = continuationEnds(ctx);
  const start = new sfn.CustomState(ctx.scope, loop.start, {
    stateJson: {
      Type: 'Task',
      Comment: `Starts the next execution of this state machine with the whole state; it resumes from the cursor in $.${loop.slot}.`,
      Resource: `arn:${Aws.PARTITION}:states:::states:startExecution`,
      Parameters: {
        'StateMachineArn.$': '$$.StateMachine.Id',
        'Name.$': `$.${loop.slot}.continuation.name`,
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
  start.addCatch(failed, { errors: [sfn.Errors.ALL], resultPath: '$.error' });
  const announce = notify(ctx, loop.announce, {
    comment: 'Announces the execution the migration continues in.',
    event: 'continued-as-new',
    title: fmt('Stepwise {}: continues in a new execution', SPEC_NAME_PATH),
    description: fmt(loop.announcement.template, ...loop.announcement.paths),
  });
  continueOnFailure(announce, ended);
  return start.next(announce).next(ended);
}

/** Where a continued execution re-enters: the loop that handed over (its result says `continueAsNew`). */
export interface ResumePoints {
  readonly backfill: sfn.State;
  readonly verify: sfn.State;
  readonly verifyAfterSoak: sfn.State;
  readonly verifyBeforeContract: sfn.State;
}

/**
 * Continue-as-new, the receiving side: the first state of the workflow sends an execution started by a continuing
 * loop straight back into that loop, with the state it carried: the later verification first (an earlier loop's
 * `continueAsNew` may still be in the state), then the first one, otherwise the backfill.
 */
export function continuationEntry(ctx: DefinitionContext, init: sfn.IChainable, resumeAt: ResumePoints): sfn.Choice {
  const resume = new sfn.Pass(ctx.scope, StateName.ResumeContinuation, {
    stateName: StateName.ResumeContinuation,
    comment: 'Restores the state the previous execution carried over; the loop it resumes then takes the state row over.',
    inputPath: `$.${CONTINUATION_INPUT_KEY}.state`,
  });
  const where = new sfn.Choice(ctx.scope, StateName.ResumeAt, {
    stateName: StateName.ResumeAt,
    comment: 'Re-enters the loop that handed over: a verification that continued as new, otherwise the backfill.',
  })
    .when(continuesAsNew(`$.${Slot.VerifyBeforeContract}`), resumeAt.verifyBeforeContract)
    .when(continuesAsNew(`$.${Slot.VerifyAfterSoak}`), resumeAt.verifyAfterSoak)
    .when(continuesAsNew(`$.${Slot.Verify}`), resumeAt.verify)
    .otherwise(resumeAt.backfill);
  return new sfn.Choice(ctx.scope, StateName.IsContinuation, {
    stateName: StateName.IsContinuation,
    comment: 'An execution started by a continue-as-new resumes its loop; any other input is a migration spec.',
  })
    .when(sfn.Condition.isPresent(`$.${CONTINUATION_INPUT_KEY}`), resume.next(where))
    .otherwise(init);
}
