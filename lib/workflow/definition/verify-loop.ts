import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Phase } from '../../constants';
import type { Slot, StateName } from '../state-names';
import type { DefinitionContext } from './context';
import { continueLoopAsNew, verifyLoopContinuation } from './continue-as-new';
import { catchInto, continuesAsNew, loopUntil } from './loop-until';
import { phaseTask } from './phase-task';

/** Options of {@link verifyLoop}: the same verify function runs twice, after the backfill and after the soak. */
export interface VerifyLoopOptions {
  /** Task state name (`Verify`, `VerifyAfterSoak`). */
  readonly name: StateName;
  /** Choice state name (`VerifyDone`, `VerifyAfterSoakDone`). */
  readonly doneName: StateName;
  /** Result slot; the loop continues from the cursor it holds. */
  readonly slot: Slot;
  /** Task comment. */
  readonly comment: string;
  /** Its continue-as-new states: StartExecution and the announcement. */
  readonly continueAs: { readonly start: StateName; readonly announce: StateName };
}

/**
 * Batched verification, job-poller shape without a wait: the task checks a range of rows (nulls, mismatches against
 * the `using` expression) from its cursor and returns `done` once the table is covered. Mismatches fail the task with
 * `VerificationError`, which the caller catches into rollback. Once the loop has spent its calls of this execution
 * (`PhaseEvent.limits.maxVerifyCalls`) it continues as new, like the backfill: the next execution enters at this task.
 */
export function verifyLoop(ctx: DefinitionContext, options: VerifyLoopOptions, onFailure: sfn.IChainable): sfn.Chain {
  const verify = phaseTask(ctx, options.name, { phase: Phase.Verify, slot: options.slot, comment: options.comment });
  const done = new sfn.Choice(ctx.scope, options.doneName, {
    stateName: options.doneName,
    comment: `Leaves the loop when $.${options.slot}.done is true; otherwise verifies the next range at once.`,
  });
  catchInto(onFailure, verify);
  done.when(continuesAsNew(`$.${options.slot}`), continueLoopAsNew(ctx, verifyLoopContinuation(options.slot, options.continueAs.start, options.continueAs.announce)));
  verify.next(done);
  return loopUntil(verify, done, sfn.Condition.booleanEquals(`$.${options.slot}.done`, true), verify);
}
