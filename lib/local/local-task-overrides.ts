import { StateName } from '../workflow/state-names';
import type { TaskOverride } from './step-functions';

/**
 * Answers for the workflow's `aws-sdk:rds` tasks, shaped like the Step Functions AWS SDK integration's responses
 * (AWS SDK for Java v2 field names: `DbClusterSnapshot`, `DbClusterSnapshots`). There is no Aurora here, so the
 * cluster snapshot is a stand-in that is `available` at once; the local restore copy is the Backup phase's table copy
 * in `_stepwise`, which runs for real just before. A DescribeSnapshot (only reached on retries) answers the same.
 */
const localSnapshot = (params: unknown): Record<string, unknown> => {
  const p = (params ?? {}) as { DbClusterIdentifier?: string; DbClusterSnapshotIdentifier?: string };
  const id = String(p.DbClusterSnapshotIdentifier ?? 'stepwise-local');
  return {
    DbClusterSnapshotIdentifier: id,
    DbClusterIdentifier: p.DbClusterIdentifier ?? 'stepwise-local',
    DbClusterSnapshotArn: `arn:aws:rds:us-east-1:000000000000:cluster-snapshot:${id}`,
    Engine: 'aurora-postgresql',
    SnapshotType: 'manual',
    Status: 'available',
    PercentProgress: 100,
    SnapshotCreateTime: new Date().toISOString(),
  };
};
/** By state name, as `LocalStateMachine`'s `taskOverrides` takes them. */
export const LOCAL_TASK_OVERRIDES: Readonly<Record<string, TaskOverride>> = {
  [StateName.CreateSnapshot]: (params) => ({ DbClusterSnapshot: localSnapshot(params) }),
  [StateName.DescribeSnapshot]: (params) => ({ DbClusterSnapshots: [localSnapshot(params)] }),
};
