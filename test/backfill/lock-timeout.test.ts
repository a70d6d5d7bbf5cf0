import { RDSDataClient } from '@aws-sdk/client-rds-data';
import type pg from 'pg';
import { Phase } from '../../lib/constants';
import { DataApiExecutor } from '../../lib/db/data-api-executor';
import { LockTimeoutError } from '../../lib/errors';
import { LOCAL_AWS } from '../../lib/local/local-data-api';
import type { LockHolder } from '../../lib/phases/execute-plan';
import { seedProducts } from '../e2e/e2e-helpers';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database';
import { PhaseDriver } from '../harness/run-phases';

jest.setTimeout(120_000);

/**
 * DDL under a blocking session: a direct Postgres session holds a lock on "Product" (an open transaction, as an
 * application's long read would), and the Expand phase runs through the Data API path. Assertions are on the ORDER of
 * events, never on durations.
 */

function spec(lockTimeoutMs: number) {
  return {
    name: 'lock-timeout',
    table: { name: 'Product' },
    operation: { type: 'convert-column', column: 'price', newColumn: 'price_cents', newType: 'integer', using: 'round(price * 100)' },
    backfill: { batchSize: 500, pauseMs: 0 },
    lockTimeoutMs,
  };
}

/** An executor on the test database's emulator whose lock-timeout retry backoff calls `onRetry` instead of sleeping. */
function executorWithRetryHook(db: TestDatabase, onRetry: () => Promise<void>): DataApiExecutor {
  const client = new RDSDataClient({ endpoint: db.emulator.url, region: LOCAL_AWS.region, credentials: LOCAL_AWS.credentials });
  return new DataApiExecutor({
    client,
    resourceArn: LOCAL_AWS.clusterArn,
    secretArn: LOCAL_AWS.secretArn,
    database: db.name,
    retry: { sleep: onRetry },
  });
}

/** Polls a condition (a guard against hanging, not a timing assertion). */
async function waitUntil(condition: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 6000; i += 1) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error(`gave up waiting for ${what}`);
}

async function waitingAccessExclusive(db: TestDatabase): Promise<boolean> {
  const r = await db.pg.query(
    `SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'relation' AND relation = '"Product"'::regclass AND NOT granted AND mode = 'AccessExclusiveLock'`,
  );
  return r.rows[0].n > 0;
}

async function openBlocker(db: TestDatabase): Promise<{ client: pg.PoolClient; pid: number }> {
  const client = await db.pg.connect();
  const pid = Number((await client.query('SELECT pg_backend_pid() AS pid')).rows[0].pid);
  await client.query('BEGIN');
  await client.query('LOCK TABLE "Product" IN ACCESS SHARE MODE');
  return { client, pid };
}

async function hasColumn(db: TestDatabase, column: string): Promise<boolean> {
  const r = await db.pg.query(`SELECT count(*)::int AS n FROM information_schema.columns WHERE table_name = 'Product' AND column_name = $1`, [column]);
  return r.rows[0].n === 1;
}

describe('DDL under a session holding a lock on the table', () => {
  let db: TestDatabase;
  beforeEach(async () => {
    db = await createTestDatabase('locktimeout');
    await seedProducts(db, 500);
  });
  afterEach(async () => db.close());

  it('gives up within lock_timeout, retries, lets a queued writer through before the blocker ends, and succeeds once it commits', async () => {
    const events: string[] = [];
    let blocker: { client: pg.PoolClient; pid: number } | undefined;
    let blockerOpen = false;
    let insertDone = false;
    let retries = 0;
    const executor = executorWithRetryHook(db, async () => {
      retries += 1;
      events.push('ddl-retry');
      // The blocker ends only once the writer got through: if the writer were stuck behind the queued DDL until the
      // blocker ended, the retries would run out and the phase would fail.
      if (insertDone && blockerOpen && blocker) {
        blockerOpen = false;
        await blocker.client.query('COMMIT');
        events.push('blocker-commit');
      }
    });
    // A lock timeout long enough that the writer reliably sees the DDL waiting in the lock queue.
    const driver = new PhaseDriver(executor, spec(1000));
    await driver.run(Phase.Preflight);
    await driver.run(Phase.Backup);

    blocker = await openBlocker(db);
    blockerOpen = true;
    const writer = (async () => {
      await waitUntil(() => waitingAccessExclusive(db), 'the ALTER TABLE to queue behind the blocker');
      events.push('ddl-waiting');
      // Issued while ALTER TABLE waits for ACCESS EXCLUSIVE: it queues behind the DDL, at most until the attempt
      // gives up (lock_timeout), not until the blocker ends.
      await db.pg.query(`INSERT INTO "Product" (name, price) VALUES ('during-ddl', 12.34)`);
      insertDone = true;
      events.push('insert-done');
    })();

    let expandResult: unknown;
    try {
      expandResult = await driver.run(Phase.Expand);
      events.push('expand-done');
    } finally {
      if (blockerOpen) {
        blockerOpen = false;
        await blocker.client.query('COMMIT');
        events.push('blocker-commit');
      }
      blocker.client.release();
      await writer;
    }

    expect(expandResult).toMatchObject({ steps: expect.arrayContaining(['expand.add-column']) });
    expect(await hasColumn(db, 'price_cents')).toBe(true);
    // The DDL attempt failed on lock_timeout and was retried (at least once before the blocker ended).
    expect(retries).toBeGreaterThanOrEqual(1);
    const at = (e: string) => events.indexOf(e);
    expect(at('ddl-waiting')).toBeGreaterThanOrEqual(0);
    expect(at('ddl-waiting')).toBeLessThan(at('insert-done'));
    // The writer's INSERT, issued while the DDL was queued, completed while the blocker still held its lock.
    expect(at('insert-done')).toBeLessThan(at('blocker-commit'));
    expect(at('ddl-retry')).toBeLessThan(at('blocker-commit'));
    // The phase succeeded only after the blocker ended.
    expect(at('blocker-commit')).toBeLessThan(at('expand-done'));
    const inserted = await db.pg.query(`SELECT count(*)::int AS n FROM "Product" WHERE name = 'during-ddl'`);
    expect(inserted.rows[0].n).toBe(1);
  });

  it('when the retries run out, fails with LockTimeoutError naming the blocking session (pid, state, age, query)', async () => {
    let retries = 0;
    const executor = executorWithRetryHook(db, async () => {
      retries += 1;
    });
    const driver = new PhaseDriver(executor, spec(50));
    await driver.run(Phase.Preflight);
    await driver.run(Phase.Backup);
    const blocker = await openBlocker(db);
    let error: unknown;
    try {
      await driver.run(Phase.Expand);
    } catch (err) {
      error = err;
    } finally {
      await blocker.client.query('COMMIT');
      blocker.client.release();
    }

    expect(error).toBeInstanceOf(LockTimeoutError);
    const e = error as LockTimeoutError;
    expect(e.code).toBe('SW_LOCK_TIMEOUT');
    expect(retries).toBe(5);
    expect(e.details).toMatchObject({ attempts: 6, lockTimeoutMs: 50, step: 'expand.add-column' });
    const blockers = e.details.blockers as LockHolder[];
    expect(blockers).toContainEqual(
      expect.objectContaining({
        pid: blocker.pid,
        state: 'idle in transaction',
        mode: 'AccessShareLock',
        relation: '"Product"',
        query: expect.stringContaining('LOCK TABLE "Product"'),
        ageSeconds: expect.any(Number),
      }),
    );
    expect(e.message).toContain(`pid ${blocker.pid} (idle in transaction`);
    expect(e.message).toContain('LOCK TABLE "Product" IN ACCESS SHARE MODE');
    expect(await hasColumn(db, 'price_cents')).toBe(false);

    // Once the blocker is gone, the same phase (a Step Functions retry) succeeds.
    await driver.run(Phase.Expand);
    expect(await hasColumn(db, 'price_cents')).toBe(true);
  });
});
