import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { DataApiExecutor } from '../../lib/db/data-api-executor';
import type { DataApiEmulator, DataApiEmulatorOptions } from '../../lib/local/data-api-emulator';
import { startLocalDataApi } from '../../lib/local/local-data-api';
import { createDatabase, dropDatabase } from '../../lib/local/postgres-server';

/** A fresh database reached through the Data API emulator, for one test file (or one test). */
export interface TestDatabase {
  /** Direct `postgres://` URL of the fresh database. */
  readonly url: string;
  readonly name: string;
  readonly emulator: DataApiEmulator;
  /** The real `RDSDataClient` path: executor → emulator → Postgres. */
  readonly executor: DataApiExecutor;
  /** Direct pool, for arranging and asserting behind the Data API's back. */
  readonly pg: pg.Pool;
  /** Environment that makes `executorFromEnv()` (phase handlers) reach this database. */
  readonly env: Record<string, string>;
  /** Closes the pool, the emulator and the client, then drops the database. */
  close(): Promise<void>;
}

/** The server URL set by test/setup/global-setup.ts. */
export function testServerUrl(): string {
  const url = process.env.STEPWISE_TEST_DATABASE_URL;
  if (!url) throw new Error('STEPWISE_TEST_DATABASE_URL is not set: run tests through jest (globalSetup starts Postgres)');
  return url;
}

/**
 * Creates a uniquely named database (`<prefix>_<random>`) on the test server and starts a Data API emulator on it.
 *
 * @example
 * let db: TestDatabase;
 * beforeAll(async () => { db = await createTestDatabase('expand'); });
 * afterAll(() => db.close());
 */
export async function createTestDatabase(
  prefix: string,
  emulatorOptions: Omit<DataApiEmulatorOptions, 'databaseUrl'> = {},
  serverUrl: string = testServerUrl(),
): Promise<TestDatabase> {
  const name = `${prefix.toLowerCase().replace(/[^a-z0-9_]/g, '_').slice(0, 40)}_${randomBytes(4).toString('hex')}`;
  await createDatabase(serverUrl, name);
  const url = new URL(serverUrl);
  url.pathname = `/${encodeURIComponent(name)}`;
  const local = await startLocalDataApi(url.toString(), emulatorOptions);
  const pool = new pg.Pool({ connectionString: url.toString(), max: 5 });
  pool.on('error', () => undefined);
  return {
    url: url.toString(),
    name,
    emulator: local.emulator,
    executor: local.executor,
    pg: pool,
    env: local.env,
    close: async () => {
      await pool.end();
      await local.close();
      await dropDatabase(serverUrl, name);
    },
  };
}
