import { RDSDataClient } from '@aws-sdk/client-rds-data';
import { DataApiExecutor } from '../db/data-api-executor';
import type { Executor } from '../db/executor';
import { resolveBackfillSettings } from '../backfill/settings';
import { ConfigError } from '../errors';
import { startLocalDataApi } from '../local/local-data-api';
import { loadSpecFile } from '../spec';
import { probeDatabase } from './database-url';
import { readBackfillState, readMigration, setLiveTuning, setPaused, type LiveTuning } from '../state/migration-state';

/** Options of `stepwise pause` / `stepwise resume`. */
export interface PauseOptions {
  readonly spec: string;
  /** A Postgres URL: reached through the local Data API emulator (the same Data API path as on AWS). */
  readonly databaseUrl?: string;
  /** On AWS: the Aurora cluster, its secret and database, reached with the real Data API. */
  readonly clusterArn?: string;
  readonly secretArn?: string;
  readonly database?: string;
  readonly region?: string;
}

/**
 * `stepwise pause|resume --spec F`: sets the `paused` flag of the migration's row in the state table (`_stepwise`).
 * The backfill reads the flag in the same statement as each batch, so a pause takes effect at the next batch (a
 * running invocation stops there, keeps its cursor, and the workflow loops with a long wait); resume clears the flag
 * and the next invocation continues from the cursor. Nothing else changes: the execution keeps running.
 *
 * The database is reached through the Data API, as every phase reaches it: with `--database-url` through the local
 * emulator, with `--cluster-arn --secret-arn --database` through the real RDS Data API.
 */
export async function pauseCommand(paused: boolean, options: PauseOptions, write: (line: string) => void): Promise<number> {
  const spec = loadSpecFile(options.spec);
  const { db, close } = await openExecutor(options);
  try {
    const row = await readMigration(db, spec.name);
    if (!row) {
      write(`migration "${spec.name}" has no row in the state table: it has not started on this database (nothing changed)`);
      return 1;
    }
    await setPaused(db, spec.name, paused);
    const state = await readBackfillState(db, spec.name);
    const progress = state ? `${state.rows_done} rows done, cursor ${state.cursor ?? '(start)'}` : '';
    write(
      paused
        ? `paused "${spec.name}" (phase ${row.phase}, ${progress}): the backfill stops at its next batch; \`stepwise resume --spec ${options.spec}\` continues from the cursor`
        : `resumed "${spec.name}" (phase ${row.phase}, ${progress}): the next backfill invocation continues from the cursor`,
    );
    return 0;
  } finally {
    await close();
  }
}

/** Options of `stepwise tune`: the new batch target and rate limit; `spec` resets one to the spec's value. */
export interface TuneOptions extends PauseOptions {
  readonly targetBatchMs?: number | 'spec';
  /** Rows per second; `off` for no limit; `spec` for the spec's. */
  readonly maxRowsPerSecond?: number | 'off' | 'spec';
}

/**
 * `stepwise tune --spec F [--target-batch-ms N|spec] [--max-rows-per-second N|off|spec]`: changes a running backfill's
 * batch target and rate limit in the state row. Every batch statement reads them, so they apply from the next batch,
 * in every key range, without restarting anything; the spec's values come back with `spec` (or a new run).
 */
export async function tuneCommand(options: TuneOptions, write: (line: string) => void): Promise<number> {
  if (options.targetBatchMs === undefined && options.maxRowsPerSecond === undefined) {
    throw new ConfigError('nothing to tune', 'Pass --target-batch-ms <ms|spec> and/or --max-rows-per-second <n|off|spec>.');
  }
  const spec = loadSpecFile(options.spec);
  const tuning: LiveTuning = {
    ...(options.targetBatchMs !== undefined ? { targetBatchMs: options.targetBatchMs === 'spec' ? null : options.targetBatchMs } : {}),
    ...(options.maxRowsPerSecond !== undefined
      ? { maxRowsPerSecond: options.maxRowsPerSecond === 'spec' ? null : options.maxRowsPerSecond === 'off' ? 0 : options.maxRowsPerSecond }
      : {}),
  };
  const { db, close } = await openExecutor(options);
  try {
    if (!(await setLiveTuning(db, spec.name, tuning))) {
      write(`migration "${spec.name}" has no row in the state table: it has not started on this database (nothing changed)`);
      return 1;
    }
    const shown = (v: number | null | undefined, unit: string, zero: string) => (v === undefined ? 'unchanged' : v === null ? "the spec's" : v === 0 ? zero : `${v} ${unit}`);
    const row = await readMigration(db, spec.name);
    const when = row && row.status === 'running' && row.phase === 'backfill'
      ? 'the backfill applies it from its next batch'
      : `it is not backfilling now (status ${row?.status}, phase ${row?.phase}): nothing to slow down or speed up`;
    write(`tuned "${spec.name}": batch target ${shown(tuning.targetBatchMs, 'ms', '0 ms')}, rate limit ${shown(tuning.maxRowsPerSecond, 'rows/s', 'none')}; ${when}`);
    if (tuning.targetBatchMs !== undefined && resolveBackfillSettings(spec.backfill).mode === 'fixed') {
      write(`note: "${spec.name}" uses fixed batches (backfill.batchSize): the batch target has no effect, the rate limit does`);
    }
    return 0;
  } finally {
    await close();
  }
}

export async function openExecutor(options: PauseOptions): Promise<{ db: Executor; close: () => Promise<void> }> {
  if (options.clusterArn || options.secretArn) {
    if (!options.clusterArn || !options.secretArn || !options.database) {
      throw new ConfigError('--cluster-arn, --secret-arn and --database go together', 'Pass all three (the Aurora cluster, its Secrets Manager secret and the database name), or --database-url.');
    }
    const client = new RDSDataClient(options.region ? { region: options.region } : {});
    const db = new DataApiExecutor({ client, resourceArn: options.clusterArn, secretArn: options.secretArn, database: options.database });
    return { db, close: async () => client.destroy() };
  }
  if (!options.databaseUrl) {
    throw new ConfigError('no database given', 'Pass --database-url (or DATABASE_URL) for a Postgres URL, or --cluster-arn, --secret-arn and --database for Aurora through the Data API.');
  }
  await probeDatabase(options.databaseUrl);
  const local = await startLocalDataApi(options.databaseUrl);
  return { db: local.executor, close: () => local.close() };
}
