import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Phase } from '../../constants';
import { Slot, StateName } from '../state-names';
import { fmt } from './chatbot-message';
import { SPEC_NAME_PATH, type DefinitionContext } from './context';
import { catchInto, continuesAsNew, loopUntil, milestoneSet } from './loop-until';
import { continueOnFailure, notify } from './notify';
import { phaseTask } from './phase-task';

const MILESTONE_PATH = `$.${Slot.Backfill}.milestone`;

/**
 * The backfill, job-poller shape: `Backfill` runs keyset batches for at most its time box and returns a cursor;
 * `BackfillMilestone` announces a newly crossed progress milestone (25/50/75/100 %) through `NotifyBackfillProgress`;
 * `BackfillDone` leaves when `$.backfill.done` is true, otherwise `BackfillWait` waits `$.backfill.waitSeconds`
 * (the handler's throttle) and loops. Many batches per invocation keep the execution history small; a milestone
 * costs two transitions at most four times per backfill. After `maxInvocationsPerExecution` invocations the handler
 * sets `continueAsNew` and the loop hands over to a new execution (continue-as-new), so the history stays bounded for
 * any table size. The returned chain's `startState` is the `Backfill` task (where a continued execution re-enters).
 */
export function backfillLoop(ctx: DefinitionContext, onFailure: sfn.IChainable, continueAsNew: sfn.IChainable): sfn.Chain {
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
  const progress = notify(ctx, StateName.NotifyBackfillProgress, {
    comment: 'Announces a backfill milestone (25/50/75/100 %) with the rows done, the rate and the time left.',
    event: 'backfill-progress',
    title: fmt('Stepwise {}: {}% backfilled', SPEC_NAME_PATH, MILESTONE_PATH),
    description: fmt(
      '{}% backfilled: {} of about {} rows, {} rows/s, ETA {}.',
      MILESTONE_PATH, `$.${Slot.Backfill}.rows`, `$.${Slot.Backfill}.estimatedRows`, `$.${Slot.Backfill}.rowsPerSecond`, `$.${Slot.Backfill}.eta`,
    ),
  });
  const milestone = new sfn.Choice(ctx.scope, StateName.BackfillMilestone, {
    stateName: StateName.BackfillMilestone,
    comment: 'Announces a milestone when this invocation crossed one ($.backfill.milestone set); otherwise goes straight on.',
  })
    .when(milestoneSet(`$.${Slot.Backfill}`), progress)
    .otherwise(done);
  done.when(continuesAsNew(`$.${Slot.Backfill}`), continueAsNew);
  continueOnFailure(progress, done);
  progress.next(done);
  catchInto(onFailure, backfill);
  backfill.next(milestone);
  wait.next(backfill);
  return loopUntil(backfill, done, sfn.Condition.booleanEquals(`$.${Slot.Backfill}.done`, true), wait);
}
