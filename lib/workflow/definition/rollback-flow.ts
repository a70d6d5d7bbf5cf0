import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Phase } from '../../constants';
import { ROLLBACK_RETRY } from '../defaults';
import { Slot, StateName } from '../state-names';
import { fmt } from './chatbot-message';
import { ERROR_PATH, EXECUTION_ID_PATH, SNAPSHOT_ID_PATH, SPEC_NAME_PATH, type DefinitionContext } from './context';
import { failWithCause, notifyAndFail } from './fail-flow';
import { catchInto } from './loop-until';
import { continueOnFailure, notify } from './notify';
import { phaseTask } from './phase-task';

/**
 * The compensation path for any failure between `ApproveStart` and `ApproveContract`: announce the failure with its
 * cause, run the phase-aware rollback (drops what expand added; the old column was never touched), announce the
 * result, and end in `MigrationRolledBack`. If the rollback itself fails, `RollbackFailed` asks for a human.
 * Returns the entry state, the target of every Catch in that range.
 */
export function rollbackFlow(ctx: DefinitionContext): sfn.IChainable {
  const notifyFailed = notify(ctx, StateName.NotifyFailed, {
    comment: 'Announces the failure and its cause before anything is undone.',
    event: 'failed',
    title: fmt('Stepwise {}: failed, rolling back', SPEC_NAME_PATH),
    description: fmt('{}: {} Rolling back now; the old column is untouched. Cluster snapshot: {}.', `${ERROR_PATH}.Error`, `${ERROR_PATH}.Cause`, SNAPSHOT_ID_PATH),
  });
  const rollback = phaseTask(ctx, StateName.Rollback, {
    phase: Phase.Rollback,
    slot: Slot.Rollback,
    retry: ROLLBACK_RETRY,
    longStatements: true,
    comment: 'Undoes what this migration added and still exists (trigger, index, new column; only the sync trigger once the app uses the new column), idempotently; gives up on a held lock within its lock_timeout budget.',
  });
  // Title and text come from the rollback's result, read back from the catalog: what was dropped, kept and why.
  const notifyRolledBack = notify(ctx, StateName.NotifyRolledBack, {
    comment: 'Announces how the rollback ended: what it dropped, what it kept and why, what is left to do.',
    event: 'rolled-back',
    title: fmt('Stepwise {}: {}', SPEC_NAME_PATH, '$.rollback.headline'),
    description: fmt('{} Cause: {} Cluster snapshot: {}.', '$.rollback.summary', `${ERROR_PATH}.Cause`, SNAPSHOT_ID_PATH),
  });
  const rolledBack = failWithCause(
    ctx,
    StateName.MigrationRolledBack,
    'The migration failed and the rollback ran; $.rollback says what it dropped, what it kept and why (read back from the catalog).',
    'The migration failed; the old column is untouched.',
  );
  const rollbackFailed = notifyAndFail(ctx, {
    notify: StateName.NotifyRollbackFailed,
    fail: StateName.RollbackFailed,
    comment: 'Rollback failed after its retries: a human must finish it.',
    title: fmt('Stepwise {}: ROLLBACK FAILED, action needed', SPEC_NAME_PATH),
    description: fmt('{}: {} Inspect with `stepwise status {}`, fix the cause, then finish the rollback with `stepwise rollback --spec <spec file>`. Cluster snapshot: {}.', `${ERROR_PATH}.Error`, `${ERROR_PATH}.Cause`, EXECUTION_ID_PATH, SNAPSHOT_ID_PATH),
    cause: 'The rollback failed; objects the migration added may remain. Run `stepwise status`, fix the cause, then `stepwise rollback --spec <spec file>`.',
  });

  continueOnFailure(notifyFailed, rollback);
  continueOnFailure(notifyRolledBack, rolledBack);
  catchInto(rollbackFailed, rollback);
  notifyFailed.next(rollback).next(notifyRolledBack).next(rolledBack);
  return notifyFailed;
}
