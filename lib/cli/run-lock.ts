import pg from 'pg';

/**
 * Liveness of `stepwise run --local`: while it runs a migration, the process holds a session-level advisory lock on
 * the migration's name in the target database, on a connection of its own. When the process dies (SIGKILL, a crash,
 * Ctrl-C), Postgres ends the session and the lock goes with it, so the next run knows the execution recorded in the
 * state row no longer runs and may take the migration over.
 */
export interface RunLock {
  /** False when another live `run --local` of this migration holds the lock. */
  readonly held: boolean;
  release(): Promise<void>;
}

/** Advisory lock namespace of Stepwise's run lock (the first key of the two-key form; "SW" in ASCII). */
const NAMESPACE = 0x5357;
const SQL = 'SELECT pg_try_advisory_lock($1::int, hashtext($2)) AS held';

/** Takes the run lock of `migration` without waiting. */
export async function takeRunLock(databaseUrl: string, migration: string): Promise<RunLock> {
  const client = new pg.Client({ connectionString: databaseUrl, application_name: `stepwise run ${migration}`.slice(0, 63) });
  client.on('error', () => undefined);
  await client.connect();
  const held = (await client.query<{ held: boolean }>(SQL, [NAMESPACE, migration])).rows[0]?.held === true;
  if (!held) await client.end();
  return { held, release: async () => (held ? client.end().catch(() => undefined) : undefined) };
}

/** Whether a live `run --local` holds the run lock of `migration` now (takes and releases it at once when free). */
export async function runLockHeld(databaseUrl: string, migration: string): Promise<boolean> {
  const lock = await takeRunLock(databaseUrl, migration);
  await lock.release();
  return !lock.held;
}
