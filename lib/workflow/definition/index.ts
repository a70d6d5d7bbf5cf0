import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Gate, Phase } from '../../constants';
import { Slot, StateName } from '../state-names';
import { approvalGate } from './approval-gate';
import { backfillLoop } from './backfill-loop';
import { fmt } from './chatbot-message';
import { clusterSnapshot, initialSnapshotState } from './cluster-snapshot';
import { continuationEntry, continueAsNew } from './continue-as-new';
import { parallelBackfill } from './parallel-backfill';
import { ERROR_PATH, SNAPSHOT_ID_PATH, SPEC_NAME_PATH, type DefinitionContext } from './context';
import { notifyAndFail } from './fail-flow';
import { catchInto, chainWithExit } from './loop-until';
import { continueOnFailure, notify } from './notify';
import { phaseTask } from './phase-task';
import { rollbackFlow } from './rollback-flow';
import { verifyLoop } from './verify-loop';

export type { ClusterSnapshotContext, DefinitionContext } from './context';

/**
 * The window Lambda says when the next window-only phase may start (now, when no window applies or it is open);
 * a Wait sleeps until then. Waiting costs nothing: one state transition, however many days.
 */
function windowGate(ctx: DefinitionContext, taskName: StateName, waitName: StateName, slot: Slot) {
  const task = phaseTask(ctx, taskName, {
    phase: Phase.Window,
    slot,
    comment: 'Computes when the next phase may start: the next maintenance window of spec.window, or now.',
  });
  const wait = new sfn.Wait(ctx.scope, waitName, {
    stateName: waitName,
    comment: 'Waits for the maintenance window (spec.window); passes at once when none applies.',
    time: sfn.WaitTime.timestampPath(`$.${slot}.waitUntil`),
  });
  return { task, chain: sfn.Chain.start(task).next(wait) };
}
export { RdsErrors, SNAPSHOT_ID_PREFIX } from './cluster-snapshot';

/** What a resumed execution may skip: the gates and the soak (preflight's `resume.skip`, read from the state row). */
type Skippable = Gate | typeof StateName.Soak;

/**
 * `ResumeSkips<step>`: an execution that carries on a run whose `step` was already passed (a gate approved, the soak
 * served: recorded in the state row, reported by preflight as `resume.skip.<step>`) goes past it through
 * `Skipped<step>`; every other execution runs `step`. `--repeat-gates` (spec `repeatGates`) makes preflight report none.
 */
function unlessPassed(ctx: DefinitionContext, step: Skippable, target: sfn.IChainable): sfn.Chain {
  // A skipped gate counts as approved in this execution too (`$.approvals.<gate>`): the rollback's read-switch guard
  // and the state row's record see the same decision as in the run that took it.
  const skipped = new sfn.Pass(ctx.scope, `Skipped${step}`, {
    stateName: `Skipped${step}`,
    comment: `${step} was passed by the run this execution carries on (state row): not asked or served again.`,
    ...(step === StateName.Soak
      ? { resultPath: sfn.JsonPath.DISCARD }
      : { result: sfn.Result.fromObject({ approved: true, resumed: true, comment: 'approved in the run this execution carries on' }), resultPath: `$.approvals.${step}` }),
  });
  return new sfn.Choice(ctx.scope, `ResumeSkips${step}`, {
    stateName: `ResumeSkips${step}`,
    comment: `A resumed run skips ${step} when the run it carries on already passed it.`,
  })
    .when(sfn.Condition.isPresent(`$.preflight.resume.skip.${step}`), skipped)
    .otherwise(target)
    .afterwards();
}

/**
 * The whole migration as one chain, in phase order. Failure handling, from the top:
 * - Preflight fails: nothing has changed; notify and end in `PreflightFailed`.
 * - Anything from `ApproveStart` through `ApproveContract` fails (a task error, a rejected or timed-out gate, a
 *   verification mismatch): `rollbackFlow`, ending in `MigrationRolledBack` (or `RollbackFailed`).
 * - Contract fails: `ContractFailed`, no automatic rollback (see below).
 * Notifications are best effort: a failed publish continues with the next state.
 */
export function migrationDefinition(ctx: DefinitionContext): sfn.IChainable {
  const { scope } = ctx;
  const rollback = rollbackFlow(ctx);

  // ---- Plan: nothing changes in the database before ApproveStart ----
  const init = new sfn.Pass(scope, StateName.Init, {
    stateName: StateName.Init,
    comment: 'Wraps the execution input (the migration spec) as { spec } beside the snapshot id it will take; every phase writes its result beside them.',
    parameters: { spec: sfn.JsonPath.entirePayload, snapshot: initialSnapshotState(ctx.snapshot), snapshotPolls: { count: 0 } },
  });
  const preflight = phaseTask(ctx, StateName.Preflight, {
    phase: Phase.Preflight,
    slot: Slot.Preflight,
    comment: 'Read-only checks of the spec against the live table: key, types, data that would not convert, estimates.',
  });
  const notifyPlanned = notify(ctx, StateName.NotifyPlanned, {
    comment: 'Announces the plan and the preflight estimate; the start approval follows.',
    event: 'planned',
    title: fmt('Stepwise {}: planned', SPEC_NAME_PATH),
    description: fmt('Preflight passed: about {} rows, primary key {}. Waiting for ApproveStart.', '$.preflight.estimatedRows', '$.preflight.primaryKey'),
  });
  const approveStart = approvalGate(ctx, Gate.Start, {
    onTimeout: rollback,
    comment: 'Human approval before the first change: backup, then expand.',
    next: 'Stepwise backs the table up, then adds the new column, the sync trigger and the index (no long locks).',
  });
  const startGate = unlessPassed(ctx, Gate.Start, approveStart);

  // ---- Expand: additive only; the old column is never touched until contract ----
  const backup = phaseTask(ctx, StateName.Backup, {
    phase: Phase.Backup,
    slot: Slot.Backup,
    longStatements: true,
    comment: 'Claims the table and copies its key and old column into _stepwise (the table-level restore copy); the cluster snapshot follows.',
  });
  const expand = phaseTask(ctx, StateName.Expand, {
    phase: Phase.Expand,
    slot: Slot.Expand,
    longStatements: true,
    comment: 'Adds the nullable new column, the sync trigger and CREATE INDEX CONCURRENTLY, each under a short lock_timeout.',
  });
  const notifyExpanded = notify(ctx, StateName.NotifyExpanded, {
    comment: 'Announces the backup and the expanded schema; the backfill follows.',
    event: 'expanded',
    title: fmt('Stepwise {}: expanded', SPEC_NAME_PATH),
    description: fmt('Backup at {} ({} rows), cluster snapshot {}. New column, sync trigger and index in place; backfill starting.', '$.backup.location', '$.backup.rows', SNAPSHOT_ID_PATH),
  });
  const confirmDualWrite = approvalGate(ctx, Gate.DualWriteDeployed, {
    onTimeout: rollback,
    comment: 'With application dual-write, the backfill must not start before the app writes both columns.',
    next: 'The backfill starts once the application writing both columns is deployed everywhere.',
  });
  const dualWriteMode = new sfn.Choice(scope, StateName.DualWriteMode, {
    stateName: StateName.DualWriteMode,
    comment: 'spec.dualWrite = application waits for the app deploy; trigger (the default, field absent) goes straight on.',
  })
    .when(
      sfn.Condition.and(sfn.Condition.isPresent('$.spec.dualWrite'), sfn.Condition.stringEquals('$.spec.dualWrite', 'application')),
      unlessPassed(ctx, Gate.DualWriteDeployed, confirmDualWrite),
    )
    .afterwards({ includeOtherwise: true });

  // ---- Backfill (sequential, or key ranges in parallel) and verify ----
  const continued = continueAsNew(ctx);
  const backfill = backfillByMode(ctx, backfillLoop(ctx, rollback, continued), parallelBackfill(ctx, rollback, continued));
  const notifyBackfilled = notify(ctx, StateName.NotifyBackfilled, {
    comment: 'Announces the end of the backfill; verification follows.',
    event: 'backfilled',
    title: fmt('Stepwise {}: backfilled', SPEC_NAME_PATH),
    description: fmt('Backfill done: {} rows in {} batches. Verifying now. Cluster snapshot: {}.', '$.backfill.rows', '$.backfill.batches', SNAPSHOT_ID_PATH),
  });
  const verify = verifyLoop(ctx, { name: StateName.Verify, doneName: StateName.VerifyDone, slot: Slot.Verify,
    continueAs: { start: StateName.ContinueVerifyAsNew, announce: StateName.NotifyVerifyContinuedAsNew },
    comment: 'Checks every row: the new column is set and equals the using expression of the old one.' }, rollback);

  // ---- Constrain, switch reads, soak ----
  // ---- Maintenance windows: window-only phases (spec.window.phases) wait for the next window ----
  const windowForConstrain = windowGate(ctx, StateName.WindowForConstrain, StateName.WaitForConstrainWindow, Slot.WindowConstrain);
  const windowForContract = windowGate(ctx, StateName.WindowForContract, StateName.WaitForContractWindow, Slot.WindowContract);
  const constrain = phaseTask(ctx, StateName.Constrain, {
    phase: Phase.Constrain,
    slot: Slot.Constrain,
    longStatements: true,
    comment: 'CHECK NOT VALID, VALIDATE, SET NOT NULL, DROP CHECK: no ACCESS EXCLUSIVE full-table scan.',
  });
  const notifyConstrained = notify(ctx, StateName.NotifyConstrained, {
    comment: 'Announces that the new column is complete and constrained: the app can switch its reads.',
    event: 'constrained',
    title: fmt('Stepwise {}: new column ready', SPEC_NAME_PATH),
    description: fmt('The new column is backfilled, verified and constrained. Deploy the application reading from it, then confirm. Cluster snapshot: {}.', SNAPSHOT_ID_PATH),
  });
  // After Constrain the team was told to deploy the reader: silence at a gate never rolls back (it keeps waiting), and
  // a rejection's rollback keeps the new column (recorded by constrain in the state row).
  const confirmReadFromNew = approvalGate(ctx, Gate.ReadFromNewDeployed, {
    onTimeout: 'keep-waiting',
    comment: 'The soak only means something once the application reads from the new column.',
    next: 'The soak wait starts, followed by a second full verification.',
  });
  const readFromNewGate = unlessPassed(ctx, Gate.ReadFromNewDeployed, confirmReadFromNew);
  const soak = new sfn.Wait(scope, StateName.Soak, {
    stateName: StateName.Soak,
    comment: 'Soak: the app runs on the new column for the spec soak period while the trigger keeps both in sync.',
    time: sfn.WaitTime.secondsPath('$.preflight.soakSeconds'),
  });
  const soakUnlessServed = unlessPassed(ctx, StateName.Soak, soak);
  const verifyAfterSoak = verifyLoop(ctx, { name: StateName.VerifyAfterSoak, doneName: StateName.VerifyAfterSoakDone, slot: Slot.VerifyAfterSoak,
    continueAs: { start: StateName.ContinueVerifyAfterSoakAsNew, announce: StateName.NotifyVerifyAfterSoakContinuedAsNew },
    comment: 'Re-verifies every row after the soak: catches drift from writers that bypassed the trigger.' }, rollback);
  const approveContract = approvalGate(ctx, Gate.Contract, {
    onTimeout: 'keep-waiting',
    comment: 'Last human decision before the irreversible step.',
    next: 'Stepwise drops the sync trigger and the old column and renames the new one. There is no automatic rollback after this.',
  });
  const contractGate = unlessPassed(ctx, Gate.Contract, approveContract);

  const verifyBeforeContract = verifyLoop(ctx, { name: StateName.VerifyBeforeContract, doneName: StateName.VerifyBeforeContractDone, slot: Slot.VerifyBeforeContract,
    continueAs: { start: StateName.ContinueVerifyBeforeContractAsNew, announce: StateName.NotifyVerifyBeforeContractContinuedAsNew },
    comment: 'Verifies every row once more just before contract: values written during the approval and window waits.' }, rollback);

  // ---- Contract: THE POINT OF NO AUTOMATIC RETURN ----
  // Contract runs as one transaction: if it fails, Postgres rolled it back and the table is as it was after the soak.
  // It is not caught into rollbackFlow: rollback drops the new column, which after a committed contract (say, the
  // Lambda timing out after COMMIT) would hold the only copy of the data. A human decides what happens next.
  const contract = phaseTask(ctx, StateName.Contract, {
    phase: Phase.Contract,
    slot: Slot.Contract,
    longStatements: true,
    comment: 'One transaction: drop the trigger and the old column, rename the new one. Not rolled back automatically.',
  });
  const notifySucceeded = notify(ctx, StateName.NotifySucceeded, {
    comment: 'Announces the completed migration.',
    event: 'succeeded',
    title: fmt('Stepwise {}: done', SPEC_NAME_PATH),
    description: fmt('Contract committed: the old column is gone and the new one took its place. The pre-migration cluster snapshot {} stays until you delete it.', SNAPSHOT_ID_PATH),
  });
  const succeeded = new sfn.Succeed(scope, StateName.Succeeded, { stateName: StateName.Succeeded, comment: 'Migration complete.' });

  // ---- Already done: running a finished migration again is a success that changes nothing ----
  const notifyAlreadyDone = notify(ctx, StateName.NotifyAlreadyDone, {
    comment: 'Announces that this migration had already completed; nothing was changed.',
    event: 'already-done',
    title: fmt('Stepwise {}: already done', SPEC_NAME_PATH),
    description: 'This migration completed in an earlier run and the column is converted. Nothing was changed.',
  });
  continueOnFailure(notifyAlreadyDone, succeeded);
  const alreadyDone = new sfn.Choice(scope, StateName.AlreadyDone, {
    stateName: StateName.AlreadyDone,
    comment: 'Preflight found the migration finished (state row succeeded, column converted): end without a change.',
  })
    .when(
      sfn.Condition.and(sfn.Condition.isPresent('$.preflight.alreadyDone'), sfn.Condition.booleanEquals('$.preflight.alreadyDone', true)),
      notifyAlreadyDone.next(succeeded),
    )
    .afterwards({ includeOtherwise: true });

  // ---- Failure wiring ----
  preflight.addCatch(
    notifyAndFail(ctx, {
      notify: StateName.NotifyPreflightFailed,
      fail: StateName.PreflightFailed,
      comment: 'Preflight refused the migration; nothing was changed.',
      title: fmt('Stepwise {}: refused by preflight', SPEC_NAME_PATH),
      description: fmt('Nothing was changed. {}: {}', `${ERROR_PATH}.Error`, `${ERROR_PATH}.Cause`),
      cause: 'Preflight refused the migration; nothing was changed. Fix the spec or the data and start again.',
    }),
    { errors: [sfn.Errors.ALL], resultPath: ERROR_PATH },
  );
  catchInto(rollback, approveStart, backup, expand, confirmDualWrite, windowForConstrain.task, constrain, confirmReadFromNew, approveContract, windowForContract.task);
  contract.addCatch(
    notifyAndFail(ctx, {
      notify: StateName.NotifyContractFailed,
      fail: StateName.ContractFailed,
      comment: 'Contract failed; its transaction was rolled back, nothing is undone automatically.',
      title: fmt('Stepwise {}: CONTRACT FAILED, action needed', SPEC_NAME_PATH),
      description: fmt(
        'Contract runs in one transaction with its progress record: if `stepwise plan --database-url` shows the old column, nothing was changed and contract can run again; if not, it committed. {}: {} If the data must be restored: the table copy is in _stepwise, the cluster snapshot is {} (restore it into a new cluster, or use point-in-time restore; see docs/DEPLOY.md).',
        `${ERROR_PATH}.Error`, `${ERROR_PATH}.Cause`, SNAPSHOT_ID_PATH,
      ),
      nextSteps: sfn.JsonPath.array(
        fmt('stepwise status {}', '$$.Execution.Id'),
        fmt('aws rds restore-db-cluster-from-snapshot --snapshot-identifier {} --db-cluster-identifier <new-cluster> --engine aurora-postgresql', SNAPSHOT_ID_PATH),
      ),
      cause: 'Contract failed and was not rolled back automatically; check the table and re-run contract or restore by hand.',
    }),
    { errors: [sfn.Errors.ALL], resultPath: ERROR_PATH },
  );
  continueOnFailure(notifyPlanned, startGate);
  continueOnFailure(notifyExpanded, dualWriteMode);
  continueOnFailure(notifyBackfilled, verify);
  continueOnFailure(notifyConstrained, readFromNewGate);
  continueOnFailure(notifySucceeded, succeeded);

  // ---- The flow ----
  sfn.Chain.start(init)
    .next(preflight)
    .next(alreadyDone)
    .next(notifyPlanned)
    .next(startGate)
    .next(ctx.snapshot === undefined ? backup : backup.next(clusterSnapshot(ctx, ctx.snapshot, rollback)))
    .next(expand)
    .next(notifyExpanded)
    .next(dualWriteMode)
    .next(backfill)
    .next(notifyBackfilled)
    .next(verify)
    .next(windowForConstrain.chain)
    .next(constrain)
    .next(notifyConstrained)
    .next(readFromNewGate)
    .next(soakUnlessServed)
    .next(verifyAfterSoak)
    .next(contractGate)
    .next(windowForContract.chain)
    .next(verifyBeforeContract)
    .next(contract)
    .next(notifySucceeded)
    .next(succeeded);
  // An execution started by continue-as-new enters at the loop that handed over; every other starts at Init.
  return continuationEntry(ctx, init, {
    backfill: backfill.startState,
    verify: verify.startState,
    verifyAfterSoak: verifyAfterSoak.startState,
    verifyBeforeContract: verifyBeforeContract.startState,
  });
}

/**
 * `BackfillMode`: `spec.backfill.parallelism` > 1 runs the key ranges in parallel, otherwise the sequential loop. Both
 * continue to the same next state (the returned chain's end), and a continued execution re-enters here.
 */
function backfillByMode(ctx: DefinitionContext, sequential: sfn.Chain, parallel: sfn.Chain): sfn.Chain {
  const parallelism = '$.spec.backfill.parallelism';
  const mode = new sfn.Choice(ctx.scope, StateName.BackfillMode, {
    stateName: StateName.BackfillMode,
    comment: 'spec.backfill.parallelism > 1 backfills key ranges side by side; otherwise one sequential loop.',
  })
    .when(sfn.Condition.and(sfn.Condition.isPresent(parallelism), sfn.Condition.numberGreaterThan(parallelism, 1)), parallel)
    .otherwise(sequential);
  return chainWithExit(mode, mode, (state) => {
    sequential.next(state);
    parallel.next(state);
  });
}
