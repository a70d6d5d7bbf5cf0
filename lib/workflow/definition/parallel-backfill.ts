import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { MAX_PARALLELISM } from '../../backfill/settings';
import { Phase } from '../../constants';
import { BackfillAction } from '../state';
import { Slot, StateName } from '../state-names';
import { fmt } from './chatbot-message';
import { SPEC_NAME_PATH, type DefinitionContext } from './context';
import { catchInto, chainWithExit, continuesAsNew, milestoneSet } from './loop-until';
import { continueOnFailure, notify } from './notify';
import { phaseTask } from './phase-task';

const RANGE = `$.${Slot.Backfill}`;

/**
 * The parallel backfill (`backfill.parallelism` > 1), in three steps:
 * `SplitKeyRanges` splits the primary key into ranges by quantiles (or finds an interrupted run's ranges);
 * `BackfillRanges`, a Map state, runs each range's own job-poller loop (`BackfillRange` → `BackfillRangeDone` →
 * `BackfillRangeWait`) side by side; `SummarizeBackfill` adds them up: done, or continue as new when ranges used their
 * share of the execution's invocation budget. A failing range fails the Map, which rolls the migration back.
 * The returned chain continues, like the sequential loop's, once the backfill is done.
 */
export function parallelBackfill(ctx: DefinitionContext, onFailure: sfn.IChainable, continueAsNew: sfn.IChainable): sfn.Chain {
  const split = phaseTask(ctx, StateName.SplitKeyRanges, {
    phase: Phase.Backfill,
    slot: Slot.BackfillRanges,
    action: BackfillAction.SplitRanges,
    comment: 'Splits the primary key into backfill.parallelism ranges of about equal rows (planner statistics), or finds the ranges of an interrupted run.',
  });

  // ---- One range: the sequential loop's shape, its cursor in the range's row ----
  const range = phaseTask(ctx, StateName.BackfillRange, {
    phase: Phase.Backfill,
    slot: Slot.Backfill,
    action: BackfillAction.Range,
    comment: 'Keyset batches inside one key range ($.range), for a bounded time; the cursor moves in the range row.',
  });
  const rangeDone = new sfn.Choice(ctx.scope, StateName.BackfillRangeDone, {
    stateName: StateName.BackfillRangeDone,
    comment: 'Ends this range when it is done or has used its share of the invocation budget; otherwise waits and loops.',
  });
  const rangeProgress = notify(ctx, StateName.NotifyBackfillRangeProgress, {
    comment: 'Announces a backfill milestone (25/50/75 %), claimed in the state row so each is announced once.',
    event: 'backfill-progress',
    title: fmt('Stepwise {}: {}% backfilled', SPEC_NAME_PATH, `${RANGE}.milestone`),
    description: fmt('{}% backfilled: {} of about {} rows ({} key ranges at once), ETA {}.', `${RANGE}.milestone`, `${RANGE}.rows`, `${RANGE}.estimatedRows`, '$.spec.backfill.parallelism', `${RANGE}.eta`),
  });
  const rangeMilestone = new sfn.Choice(ctx.scope, StateName.BackfillRangeMilestone, {
    stateName: StateName.BackfillRangeMilestone,
    comment: 'Announces a milestone this invocation claimed; otherwise goes straight on.',
  })
    .when(milestoneSet(RANGE), rangeProgress)
    .otherwise(rangeDone);
  continueOnFailure(rangeProgress, rangeDone);
  rangeProgress.next(rangeDone);
  const wait = new sfn.Wait(ctx.scope, StateName.BackfillRangeWait, {
    stateName: StateName.BackfillRangeWait,
    comment: 'Throttle between invocations of this range ($.backfill.waitSeconds).',
    time: sfn.WaitTime.secondsPath(`${RANGE}.waitSeconds`),
  });
  rangeDone
    .when(sfn.Condition.booleanEquals(`${RANGE}.done`, true), new sfn.Succeed(ctx.scope, StateName.BackfillRangeFinished, { stateName: StateName.BackfillRangeFinished, comment: 'This key range is backfilled.' }))
    .when(continuesAsNew(RANGE), new sfn.Succeed(ctx.scope, StateName.BackfillRangeYielded, { stateName: StateName.BackfillRangeYielded, comment: 'This range used its invocation budget; the next execution goes on from its cursor.' }))
    .otherwise(wait);
  wait.next(range);
  range.next(rangeMilestone);

  const map = new sfn.Map(ctx.scope, StateName.BackfillRanges, {
    stateName: StateName.BackfillRanges,
    comment: 'Backfills the key ranges side by side, one loop per range.',
    itemsPath: `$.${Slot.BackfillRanges}.ranges`,
    itemSelector: { 'spec.$': '$.spec', 'range.$': '$$.Map.Item.Value.range' },
    maxConcurrency: MAX_PARALLELISM,
    resultPath: sfn.JsonPath.DISCARD,
  });
  map.itemProcessor(range);
  map.addCatch(onFailure, { errors: [sfn.Errors.ALL], resultPath: '$.error' });
  catchInto(onFailure, split);

  // ---- After the Map: totals; done, or continue as new ----
  const summary = phaseTask(ctx, StateName.SummarizeBackfill, {
    phase: Phase.Backfill,
    slot: Slot.Backfill,
    action: BackfillAction.Summarize,
    comment: 'Adds up the ranges: done when every range is, otherwise names the next execution (continue-as-new).',
  });
  catchInto(onFailure, summary);
  const complete = notify(ctx, StateName.NotifyBackfillComplete, {
    comment: 'Announces the 100 % milestone of a parallel backfill.',
    event: 'backfill-progress',
    title: fmt('Stepwise {}: 100% backfilled', SPEC_NAME_PATH),
    description: fmt('100% backfilled: {} rows in {} batches over {} key ranges, {} rows/s.', `${RANGE}.rows`, `${RANGE}.batches`, `${RANGE}.rangeCount`, `${RANGE}.rowsPerSecond`),
  });
  const done = new sfn.Choice(ctx.scope, StateName.BackfillRangesDone, {
    stateName: StateName.BackfillRangesDone,
    comment: 'Continues as new when ranges are left; otherwise the backfill is done.',
  }).when(continuesAsNew(RANGE), continueAsNew);
  split.next(map).next(summary).next(done);
  return chainWithExit(split, done, (state) => {
    continueOnFailure(complete, state);
    complete.next(state);
    done.when(milestoneSet(RANGE), complete).otherwise(state);
  });
}
