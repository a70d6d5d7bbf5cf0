import type { PoolClient } from 'pg';
import { Phase } from '../../lib/constants';
import { LockTimeoutError, RollbackBlockedError, StepwiseError } from '../../lib/errors';
import { ROLLBACK_LOCK_RETRIES } from '../../lib/phases/rollback';
import type { RollbackResult } from '../../lib/workflow/state';
import { runbookSpec, seedProducts } from '../e2e/e2e-helpers';
import { tableChecksum, tableMustBeCleanedUp, tableSchema } from '../harness/assertions';
import { PhaseDriver } from '../harness/run-phases';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database';

jest.setTimeout(120_000);

const errorOf = (p: Promise<unknown>) => p.then(() => undefined, (e: unknown) => e as StepwiseError);

/**
 * A session idle in transaction after a read of the table: it holds ACCESS SHARE, which every ALTER TABLE (ACCESS
 * EXCLUSIVE) waits for, and it will not let go because someone asks again.
 */
async function idleReader(db: TestDatabase): Promise<{ client: PoolClient; pid: number; end: () => Promise<void> }> {
  const client = await db.pg.connect();
  const pid = Number((await client.query('SELECT pg_backend_pid() AS pid')).rows[0].pid);
  await client.query('BEGIN');
  await client.query('SELECT count(*) FROM "Product"');
  return { client, pid, end: async () => { await client.query('ROLLBACK'); client.release(); } };
}

describe('rollback never fights for a lock it does not need', () => {
  let db: TestDatabase;
  beforeEach(async () => {
    db = await createTestDatabase('rb_lock');
    await seedProducts(db, 300);
  });
  afterEach(async () => db.close());
  const snapshot = async () => ({ schema: await tableSchema(db.pg, 'Product'), data: await tableChecksum(db.pg, 'Product', 'id') });
  const stillIdleInTransaction = async (pid: number) =>
    (await db.pg.query(`SELECT state FROM pg_stat_activity WHERE pid = $1`, [pid])).rows[0]?.state;

  it('a change that never happened (expand blocked by an idle session) ends rolled back, schema exactly as before, without the lock', async () => {
    const before = await snapshot();
    const driver = new PhaseDriver(db.executor, runbookSpec());
    await driver.run(Phase.Preflight);
    const reader = await idleReader(db);
    try {
      await driver.run(Phase.Backup);
      const expand = await errorOf(driver.run(Phase.Expand));
      expect(expand).toBeInstanceOf(LockTimeoutError);

      const result = (await driver.run(Phase.Rollback)) as RollbackResult;

      expect(result.outcome).toBe('rolled-back');
      expect(result.steps).toEqual([]); // no transaction on the table: nothing to drop there
      expect(result.dropped).toEqual(['backup table "_stepwise"."_stepwise_product-price-cents_backup"']);
      expect(result.kept).toEqual([]);
      expect(result.summary).not.toMatch(/trigger|index|new_price_cents/);
      // It never queued behind the reader: that session still holds its lock, untouched.
      expect(await stillIdleInTransaction(reader.pid)).toBe('idle in transaction');
      expect(await snapshot()).toEqual(before);
      expect((await db.pg.query(`SELECT status FROM _stepwise.migrations`)).rows[0].status).toBe('rolled_back');
    } finally {
      await reader.end();
    }
  });

  it('with objects to drop and a session holding a conflicting lock, gives up within its budget naming the session; nothing dropped, migration resumable', async () => {
    const original = await snapshot();
    const driver = new PhaseDriver(db.executor, runbookSpec());
    await driver.run(Phase.Preflight);
    await driver.run(Phase.Backup);
    await driver.run(Phase.Expand);
    await driver.backfill();
    const expanded = await snapshot();
    const reader = await idleReader(db);
    let error: StepwiseError | undefined;
    try {
      error = await errorOf(driver.run(Phase.Rollback));
      expect(await stillIdleInTransaction(reader.pid)).toBe('idle in transaction');
    } finally {
      await reader.end();
    }

    expect(error).toBeInstanceOf(RollbackBlockedError);
    expect(error!.name).toBe('RollbackBlockedError');
    expect(error!.code).toBe('SW_ROLLBACK_BLOCKED');
    expect(error!.message).toContain(`pid ${reader.pid} (idle in transaction`);
    expect(error!.message).toMatch(/Nothing was dropped; the migration is left resumable \(phase backfill, status running\)/);
    expect(error!.hint).toContain(`pg_terminate_backend(${reader.pid})`);
    expect(error!.hint).toMatch(/stepwise rollback --spec/);
    // Its budget: lock_timeout × (1 + ROLLBACK_LOCK_RETRIES) attempts, never the state machine's five retries.
    expect(((error!.cause as LockTimeoutError).details as { attempts: number }).attempts).toBe(ROLLBACK_LOCK_RETRIES + 1);
    expect(await snapshot()).toEqual(expanded);
    expect((await db.pg.query(`SELECT phase, status FROM _stepwise.migrations`)).rows[0]).toEqual({ phase: 'backfill', status: 'running' });

    // Once the session is gone, the same rollback finishes, and the table is as before the migration.
    const result = (await driver.run(Phase.Rollback)) as RollbackResult;
    expect(result.outcome).toBe('rolled-back');
    expect(await snapshot()).toEqual(original);
    await tableMustBeCleanedUp(db.pg, 'Product');
  });
});
