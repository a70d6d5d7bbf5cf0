import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Phase } from '../../constants';
import { Slot, StateName } from '../state-names';
import type { DefinitionContext } from './context';
import { catchInto, loopUntil } from './loop-until';
import { phaseTask } from './phase-task';

/**
 * The backfill, job-poller shape: `Backfill` runs keyset batches for at most its time box and returns a cursor;
 * `BackfillDone` leaves when `$.backfill.done` is true, otherwise `BackfillWait` waits `$.backfill.waitSeconds`
 * (the handler's throttle) and loops. Many batches per invocation keep the execution history bounded.
 */
export function backfillLoop(ctx: DefinitionContext, onFailure: sfn.IChainable): sfn.Chain {
  const backfill = phaseTask(ctx, StateName.Backfill, {
    phase: Phase.Backfill,
    slot: Slot.Backfill,
    comment: 'Copies old into new in keyset batches (one autocommit UPDATE each) from the cursor in $.backfill, for a bounded time.',
  });
  const done = new sfn.Choice(ctx.scope, StateName.BackfillDone, {
    stateName: StateName.BackfillDone,
    comment: 'Leaves the loop when the backfill reports done; otherwise waits and runs the next invocation.',
  });
  const wait = new sfn.Wait(ctx.scope, StateName.BackfillWait, {
    stateName: StateName.BackfillWait,
    comment: 'Throttle between invocations, chosen by the handler ($.backfill.waitSeconds; 0 runs back to back).',
    time: sfn.WaitTime.secondsPath(`$.${Slot.Backfill}.waitSeconds`),
  });
  catchInto(onFailure, backfill);
  backfill.next(done);
  wait.next(backfill);
  return loopUntil(backfill, done, sfn.Condition.booleanEquals(`$.${Slot.Backfill}.done`, true), wait);
}
