import { Gate } from '../constants';

/**
 * Every state name of the migration workflow. The local runner, the CLI and the tests refer to states through this
 * object (overrides by state name, status output), so a rename happens in one place.
 */
export const StateName = {
  // continue-as-new entry (the first state), then the forward path, in order
  IsContinuation: 'IsContinuation',
  ResumeContinuation: 'ResumeContinuation',
  ResumeAt: 'ResumeAt',
  Init: 'Init',
  Preflight: 'Preflight',
  AlreadyDone: 'AlreadyDone',
  NotifyAlreadyDone: 'NotifyAlreadyDone',
  NotifyPlanned: 'NotifyPlanned',
  ApproveStart: Gate.Start,
  Backup: 'Backup',
  CreateSnapshot: 'CreateSnapshot',
  SnapshotWait: 'SnapshotWait',
  CountSnapshotPoll: 'CountSnapshotPoll',
  DescribeSnapshot: 'DescribeSnapshot',
  SnapshotReady: 'SnapshotReady',
  Expand: 'Expand',
  NotifyExpanded: 'NotifyExpanded',
  DualWriteMode: 'DualWriteMode',
  ConfirmDualWriteDeployed: Gate.DualWriteDeployed,
  BackfillMode: 'BackfillMode',
  SplitKeyRanges: 'SplitKeyRanges',
  BackfillRanges: 'BackfillRanges',
  BackfillRange: 'BackfillRange',
  BackfillRangeMilestone: 'BackfillRangeMilestone',
  NotifyBackfillRangeProgress: 'NotifyBackfillRangeProgress',
  BackfillRangeDone: 'BackfillRangeDone',
  BackfillRangeWait: 'BackfillRangeWait',
  BackfillRangeFinished: 'BackfillRangeFinished',
  BackfillRangeYielded: 'BackfillRangeYielded',
  SummarizeBackfill: 'SummarizeBackfill',
  BackfillRangesDone: 'BackfillRangesDone',
  NotifyBackfillComplete: 'NotifyBackfillComplete',
  Backfill: 'Backfill',
  BackfillMilestone: 'BackfillMilestone',
  NotifyBackfillProgress: 'NotifyBackfillProgress',
  BackfillDone: 'BackfillDone',
  BackfillWait: 'BackfillWait',
  ContinueAsNew: 'ContinueAsNew',
  NotifyContinuedAsNew: 'NotifyContinuedAsNew',
  ContinuedAsNew: 'ContinuedAsNew',
  NotifyContinueAsNewFailed: 'NotifyContinueAsNewFailed',
  ContinueAsNewFailed: 'ContinueAsNewFailed',
  NotifyBackfilled: 'NotifyBackfilled',
  Verify: 'Verify',
  VerifyDone: 'VerifyDone',
  ContinueVerifyAsNew: 'ContinueVerifyAsNew',
  NotifyVerifyContinuedAsNew: 'NotifyVerifyContinuedAsNew',
  WindowForConstrain: 'WindowForConstrain',
  WaitForConstrainWindow: 'WaitForConstrainWindow',
  Constrain: 'Constrain',
  NotifyConstrained: 'NotifyConstrained',
  ConfirmReadFromNewDeployed: Gate.ReadFromNewDeployed,
  Soak: 'Soak',
  VerifyAfterSoak: 'VerifyAfterSoak',
  VerifyAfterSoakDone: 'VerifyAfterSoakDone',
  ContinueVerifyAfterSoakAsNew: 'ContinueVerifyAfterSoakAsNew',
  NotifyVerifyAfterSoakContinuedAsNew: 'NotifyVerifyAfterSoakContinuedAsNew',
  ContinueVerifyBeforeContractAsNew: 'ContinueVerifyBeforeContractAsNew',
  NotifyVerifyBeforeContractContinuedAsNew: 'NotifyVerifyBeforeContractContinuedAsNew',
  ApproveContract: Gate.Contract,
  WindowForContract: 'WindowForContract',
  WaitForContractWindow: 'WaitForContractWindow',
  VerifyBeforeContract: 'VerifyBeforeContract',
  VerifyBeforeContractDone: 'VerifyBeforeContractDone',
  Contract: 'Contract',
  NotifySucceeded: 'NotifySucceeded',
  Succeeded: 'Succeeded',
  // recovery: a resumed execution skips the gates and the soak the run it carries on already passed (preflight's resume.skip)
  ResumeSkipsApproveStart: 'ResumeSkipsApproveStart',
  SkippedApproveStart: 'SkippedApproveStart',
  ResumeSkipsConfirmDualWriteDeployed: 'ResumeSkipsConfirmDualWriteDeployed',
  SkippedConfirmDualWriteDeployed: 'SkippedConfirmDualWriteDeployed',
  ResumeSkipsConfirmReadFromNewDeployed: 'ResumeSkipsConfirmReadFromNewDeployed',
  SkippedConfirmReadFromNewDeployed: 'SkippedConfirmReadFromNewDeployed',
  ResumeSkipsSoak: 'ResumeSkipsSoak',
  SkippedSoak: 'SkippedSoak',
  ResumeSkipsApproveContract: 'ResumeSkipsApproveContract',
  SkippedApproveContract: 'SkippedApproveContract',
  // failure paths
  SnapshotFailed: 'SnapshotFailed',
  NotifyPreflightFailed: 'NotifyPreflightFailed',
  PreflightFailed: 'PreflightFailed',
  NotifyFailed: 'NotifyFailed',
  Rollback: 'Rollback',
  NotifyRolledBack: 'NotifyRolledBack',
  MigrationRolledBack: 'MigrationRolledBack',
  NotifyRollbackFailed: 'NotifyRollbackFailed',
  RollbackFailed: 'RollbackFailed',
  NotifyContractFailed: 'NotifyContractFailed',
  ContractFailed: 'ContractFailed',
} as const;
export type StateName = (typeof StateName)[keyof typeof StateName];

/** Result slots (`$.<slot>`) written by the phase tasks; a loop reads its own previous result from its slot. */
export const Slot = {
  Preflight: 'preflight',
  Backup: 'backup',
  /** The Aurora cluster snapshot: `{ id, status }` (set by Init, updated by CreateSnapshot/DescribeSnapshot). */
  Snapshot: 'snapshot',
  /** How many times DescribeSnapshot polled: `{ count }`. */
  SnapshotPolls: 'snapshotPolls',
  Expand: 'expand',
  Backfill: 'backfill',
  /** Parallel backfill: the key ranges to do (`SplitKeyRanges`); inside the Map each range's result is at `$.backfill`. */
  BackfillRanges: 'backfillRanges',
  /** Set by ContinueAsNew: `{ executionArn, startDate }` of the execution the migration continues in. */
  ContinuedAs: 'continuedAs',
  Verify: 'verify',
  Constrain: 'constrain',
  VerifyAfterSoak: 'verifyAfterSoak',
  /** Re-verification just before contract: values written during the approval and window waits. */
  VerifyBeforeContract: 'verifyBeforeContract',
  WindowConstrain: 'windowConstrain',
  WindowContract: 'windowContract',
  Contract: 'contract',
  Rollback: 'rollback',
} as const;
export type Slot = (typeof Slot)[keyof typeof Slot];

/** The states that remind an unanswered gate and end it after the approval timeout (see approval-gate.ts). */
export function reminderStateNames(gate: Gate) {
  return {
    reminder: `${gate}Reminder`,
    first: `${gate}ReminderFirst`,
    next: `${gate}ReminderNext`,
    due: `${gate}ReminderDue`,
    timedOut: `${gate}TimedOut`,
  } as const;
}

/** The gates the workflow has (Gate.RestoreAfterContract is reserved for the restore path, not built yet). */
export const WORKFLOW_GATES: readonly Gate[] = [Gate.Start, Gate.DualWriteDeployed, Gate.ReadFromNewDeployed, Gate.Contract];

/** Every reminder state of every gate of the workflow. */
export const GATE_REMINDER_STATES: readonly string[] = WORKFLOW_GATES.flatMap((gate) => Object.values(reminderStateNames(gate)));
