import * as sfn from 'aws-cdk-lib/aws-stepfunctions';

/**
 * Closes a job-poller loop: `choice` leaves the loop when `exit` holds and otherwise goes to `loopBack`. Returns a
 * chain from `start` whose next state becomes the exit branch, so a loop reads as one step in a `Chain`:
 * `.next(backfillLoop(...)).next(notifyBackfilled)` renders as `BackfillDone: done == true -> NotifyBackfilled`.
 */
export function loopUntil(start: sfn.State, choice: sfn.Choice, exit: sfn.Condition, loopBack: sfn.IChainable): sfn.Chain {
  choice.otherwise(loopBack);
  return chainWithExit(start, choice, (state) => choice.when(exit, state));
}

/**
 * A chain from `start` to `last` that leaves by one or several branches: `.next(state)` calls `connect(state)` to
 * wire each branch to `state`, so a sub-workflow with several ways out (a loop's exit, a Choice's branches, a polled
 * snapshot) still reads as one step in a `Chain`.
 */
export function chainWithExit(start: sfn.State, last: sfn.State, connect: (next: sfn.IChainable) => void): sfn.Chain {
  const exit: sfn.INextable = {
    next(state: sfn.IChainable): sfn.Chain {
      connect(state);
      return sfn.Chain.sequence(last, state);
    },
  };
  return sfn.Chain.custom(start, [exit], last);
}

/** `<result>.continueAsNew` is true: the loop hands over to a new execution (both backfill loops). */
export const continuesAsNew = (result: string) =>
  sfn.Condition.and(sfn.Condition.isPresent(`${result}.continueAsNew`), sfn.Condition.booleanEquals(`${result}.continueAsNew`, true));

/**
 * `<result>.milestone` is set. IsNumeric rather than IsNull false: a number is exactly "set and not null", and
 * aws-local-stepfunctions (the local twin) evaluates `IsNull: false` as always false.
 */
export const milestoneSet = (result: string) =>
  sfn.Condition.and(sfn.Condition.isPresent(`${result}.milestone`), sfn.Condition.isNumeric(`${result}.milestone`));

/** Adds the same Catch (`resultPath: '$.error'`, every error) to each task. */
export function catchInto(handler: sfn.IChainable, ...states: sfn.TaskStateBase[]): void {
  for (const state of states) state.addCatch(handler, { errors: [sfn.Errors.ALL], resultPath: '$.error' });
}
