import { DescribeExecutionCommand } from '@aws-sdk/client-sfn';
import { loadSpecFile } from '../spec';
import { createSfnClient } from './operator/sfn-client';
import { openExecutor, type PauseOptions } from './pause-command';
import { formatMigrationStatus, readMigrationStatus, type StatusTarget } from './migration-status';
import { runLockHeld } from './run-lock';
import { redact } from './run-command';

export interface MigrationStatusOptions extends PauseOptions {
  readonly json?: boolean;
}

/** Account of the local twin's ARNs (synthesizeDefinition's default). */
const LOCAL_ACCOUNT = ':000000000000:';

/**
 * `stepwise status --spec F --database-url URL` (or `--cluster-arn --secret-arn --database`): the migration's state row
 * and its objects in the table, in words, and the next command. Reads only; exit 0 whatever the state.
 */
export async function migrationStatusCommand(options: MigrationStatusOptions, write: (line: string) => void): Promise<number> {
  const spec = loadSpecFile(options.spec);
  const { db, close } = await openExecutor(options);
  try {
    const target: StatusTarget = options.databaseUrl
      ? { local: true, databaseFlags: `--database-url ${redact(options.databaseUrl)}` }
      : { local: false, databaseFlags: `--cluster-arn ${options.clusterArn} --secret-arn ${options.secretArn} --database ${options.database}` };
    const view = await readMigrationStatus(db, spec, options.spec, target, (execution) => ownerRunning(options, spec.name, execution));
    write(options.json ? JSON.stringify(view, null, 2) : formatMigrationStatus(view));
    return 0;
  } finally {
    await close();
  }
}

/**
 * Whether the execution that owns the row still runs. Locally: a live `run --local` of the migration holds its run
 * lock; an execution of the twin that holds none is gone (its process ended). On AWS: DescribeExecution, when the
 * caller may; null when it cannot be known.
 */
async function ownerRunning(options: MigrationStatusOptions, migration: string, execution: string): Promise<boolean | null> {
  if (options.databaseUrl) {
    if (await runLockHeld(options.databaseUrl, migration)) return true;
    return execution.includes(LOCAL_ACCOUNT) ? false : null;
  }
  const client = createSfnClient(options.region ? { region: options.region } : {});
  try {
    const { status } = await client.send(new DescribeExecutionCommand({ executionArn: execution }));
    return status === 'RUNNING';
  } catch {
    return null;
  } finally {
    client.destroy();
  }
}
