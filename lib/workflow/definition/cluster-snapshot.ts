import * as iam from 'aws-cdk-lib/aws-iam';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { SNAPSHOT_CALL_TIMEOUT, SNAPSHOT_CREATE_RETRY, SNAPSHOT_DESCRIBE_RETRY } from '../defaults';
import { Slot, StateName } from '../state-names';
import { EXECUTION_ID_PATH, SNAPSHOT_ID_PATH, SNAPSHOT_STATUS_PATH, SPEC_NAME_PATH, type ClusterSnapshotContext, type DefinitionContext } from './context';
import { catchInto, chainWithExit } from './loop-until';

/** Prefix of every snapshot identifier Stepwise creates; IAM is scoped to `cluster-snapshot:<prefix>*`. */
export const SNAPSHOT_ID_PREFIX = 'stepwise-';

/**
 * The snapshot identifier of an execution: `stepwise-` + SHA-1 (hex) of the execution ARN. Deterministic, so a
 * retried or redriven CreateSnapshot finds its own snapshot (DBClusterSnapshotAlreadyExists) instead of taking a
 * second one; 49 characters of `[a-z0-9-]`, within RDS's 63 and its "letter first, no double hyphen" rules.
 */
export function snapshotIdExpression(): string {
  return sfn.JsonPath.format(`${SNAPSHOT_ID_PREFIX}{}`, sfn.JsonPath.hash(sfn.JsonPath.stringAt(EXECUTION_ID_PATH), 'SHA-1'));
}

/** `$.snapshot` as Init sets it: the identifier the snapshot will have, so every notification can name it. */
export function initialSnapshotState(snapshot: ClusterSnapshotContext | undefined): Record<string, unknown> {
  return snapshot === undefined
    ? { id: 'none (clusterSnapshot is off; the table copy is the backup)', status: 'disabled' }
    : { id: snapshotIdExpression(), status: 'not-taken' };
}

/** Error names of the RDS SDK integration (`Rds.` + the AWS SDK for Java v2 exception name). */
export const RdsErrors = {
  SnapshotAlreadyExists: 'Rds.DbClusterSnapshotAlreadyExistsException',
  InvalidClusterState: 'Rds.InvalidDbClusterStateException',
  /** Throttling and other errors without a modelled exception. */
  Generic: 'Rds.RdsException',
} as const;

/** Snapshot statuses that mean "still being made": poll again. Anything else but `available` is a failure. */
export const SNAPSHOT_PENDING_STATUSES: readonly string[] = ['creating', 'copying'];

/**
 * The Aurora cluster snapshot, a job poller on the Step Functions AWS SDK integration (no Lambda):
 *
 *   CreateSnapshot ─▶ SnapshotReady ─ available ───────────────────────────────▶ (next)
 *         │ already exists (retry/redrive)  │ creating/copying and polls < max ─▶ SnapshotWait ─▶ CountSnapshotPoll ─▶ DescribeSnapshot ─▶ SnapshotReady
 *         └──────────────▶ SnapshotWait     └ otherwise (failed, or too long) ──▶ SnapshotFailed ─▶ onFailure (rollback)
 *
 * The result lands at `$.snapshot` as `{ id, status }`; `$.snapshotPolls.count` bounds the loop. Returns a chain whose
 * next state follows the snapshot.
 */
export function clusterSnapshot(ctx: DefinitionContext, snapshot: ClusterSnapshotContext, onFailure: sfn.IChainable): sfn.Chain {
  const { scope } = ctx;
  const create = new tasks.CallAwsService(scope, StateName.CreateSnapshot, {
    stateName: StateName.CreateSnapshot,
    comment: 'Starts a manual Aurora cluster snapshot named after the execution (restore path after contract).',
    service: 'rds',
    action: 'createDBClusterSnapshot',
    iamAction: 'rds:CreateDBClusterSnapshot',
    iamResources: [snapshot.clusterArn, snapshot.snapshotArnPattern],
    additionalIamStatements: [
      // CreateDBClusterSnapshot with Tags also authorizes rds:AddTagsToResource on the new snapshot.
      new iam.PolicyStatement({ actions: ['rds:AddTagsToResource'], resources: [snapshot.snapshotArnPattern] }),
    ],
    parameters: {
      DbClusterIdentifier: snapshot.clusterIdentifier,
      DbClusterSnapshotIdentifier: sfn.JsonPath.stringAt(SNAPSHOT_ID_PATH),
      Tags: [
        { Key: 'stepwise:migration', Value: sfn.JsonPath.stringAt(SPEC_NAME_PATH) },
        { Key: 'stepwise:execution', Value: sfn.JsonPath.stringAt(EXECUTION_ID_PATH) },
      ],
    },
    resultSelector: {
      id: sfn.JsonPath.stringAt('$.DbClusterSnapshot.DbClusterSnapshotIdentifier'),
      status: sfn.JsonPath.stringAt('$.DbClusterSnapshot.Status'),
    },
    resultPath: `$.${Slot.Snapshot}`,
    taskTimeout: sfn.Timeout.duration(SNAPSHOT_CALL_TIMEOUT),
  });
  // Another snapshot or an automated backup in progress: the cluster refuses a second one for a while.
  create.addRetry({ errors: [RdsErrors.InvalidClusterState, RdsErrors.Generic], ...SNAPSHOT_CREATE_RETRY });

  const ready = new sfn.Choice(scope, StateName.SnapshotReady, {
    stateName: StateName.SnapshotReady,
    comment: 'available goes on; creating/copying polls again (bounded by $.snapshotPolls.count); anything else fails.',
  });
  const wait = new sfn.Wait(scope, StateName.SnapshotWait, {
    stateName: StateName.SnapshotWait,
    comment: `Waits ${snapshot.pollInterval.toHumanString()} between two snapshot status polls.`,
    time: sfn.WaitTime.duration(snapshot.pollInterval),
  });
  const count = new sfn.Pass(scope, StateName.CountSnapshotPoll, {
    stateName: StateName.CountSnapshotPoll,
    comment: 'Counts the poll, so a snapshot that never becomes available fails the migration instead of blocking it.',
    parameters: { count: sfn.JsonPath.mathAdd(sfn.JsonPath.numberAt(`$.${Slot.SnapshotPolls}.count`), 1) },
    resultPath: `$.${Slot.SnapshotPolls}`,
  });
  const describe = new tasks.CallAwsService(scope, StateName.DescribeSnapshot, {
    stateName: StateName.DescribeSnapshot,
    comment: 'Reads the snapshot status (DescribeDBClusterSnapshots by identifier).',
    service: 'rds',
    action: 'describeDBClusterSnapshots',
    iamAction: 'rds:DescribeDBClusterSnapshots',
    iamResources: [snapshot.clusterArn, snapshot.snapshotArnPattern],
    parameters: { DbClusterSnapshotIdentifier: sfn.JsonPath.stringAt(SNAPSHOT_ID_PATH) },
    resultSelector: {
      id: sfn.JsonPath.stringAt('$.DbClusterSnapshots[0].DbClusterSnapshotIdentifier'),
      status: sfn.JsonPath.stringAt('$.DbClusterSnapshots[0].Status'),
    },
    resultPath: `$.${Slot.Snapshot}`,
    taskTimeout: sfn.Timeout.duration(SNAPSHOT_CALL_TIMEOUT),
  });
  describe.addRetry({ errors: [RdsErrors.Generic], ...SNAPSHOT_DESCRIBE_RETRY });
  const failed = new sfn.Pass(scope, StateName.SnapshotFailed, {
    stateName: StateName.SnapshotFailed,
    comment: 'The snapshot failed or took too long: records why in $.error and hands over to the rollback.',
    parameters: {
      Error: 'SnapshotFailed',
      Cause: sfn.JsonPath.format(
        `Cluster snapshot {} ended in status {} after {} polls (at most ${snapshot.maxPolls}); nothing was changed in the table.`,
        sfn.JsonPath.stringAt(SNAPSHOT_ID_PATH),
        sfn.JsonPath.stringAt(SNAPSHOT_STATUS_PATH),
        sfn.JsonPath.stringAt(`$.${Slot.SnapshotPolls}.count`),
      ),
    },
    resultPath: '$.error',
  });

  // Retried or redriven after the snapshot was created: poll the one that exists rather than fail.
  create.addCatch(wait, { errors: [RdsErrors.SnapshotAlreadyExists], resultPath: sfn.JsonPath.DISCARD });
  catchInto(onFailure, create, describe);
  failed.next(onFailure);
  wait.next(count).next(describe).next(ready);
  ready
    .when(
      sfn.Condition.and(
        sfn.Condition.or(...SNAPSHOT_PENDING_STATUSES.map((s) => sfn.Condition.stringEquals(SNAPSHOT_STATUS_PATH, s))),
        sfn.Condition.numberLessThan(`$.${Slot.SnapshotPolls}.count`, snapshot.maxPolls),
      ),
      wait,
    )
    .when(sfn.Condition.not(sfn.Condition.stringEquals(SNAPSHOT_STATUS_PATH, 'available')), failed);
  create.next(ready);

  return chainWithExit(create, ready, (state) => ready.otherwise(state));
}
