/**
 * No lock the application waits on is held longer than a bound:
 * - a phase that dies inside its Data API transaction (the Lambda killed by its timeout, out of memory, a lost
 *   network) holds ACCESS EXCLUSIVE only until the transaction's idle_in_transaction_session_timeout ends its session,
 *   not for the Data API's 3 minutes;
 * - a backfill batch that meets a row lock gives up within lock_timeout and releases the rows it had locked, so
 *   application writes beside the held row go through while it is still held.
 */
import type pg from 'pg';
import { Phase } from '../../lib/constants';
import { TRANSACTION_IDLE_TIMEOUT_MS } from '../../lib/db/data-api-executor';
import type { Executor } from '../../lib/db/executor';
import { runPhase } from '../../lib/phases/run-phase';
import { PhaseDriver } from '../harness/run-phases';
import { runbookSpec, seedProducts } from '../e2e/e2e-helpers';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database';

jest.setTimeout(120_000);

const columnExists = async (db: TestDatabase, column: string) =>
  (await db.pg.query(`SELECT count(*)::int AS n FROM information_schema.columns WHERE table_name = 'Product' AND column_name = $1`, [column])).rows[0].n === 1;

describe('a phase that dies inside its transaction', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase('lock_abandon');
    await seedProducts(db, 300);
  });
  afterAll(async () => db.close());

  it('holds ACCESS EXCLUSIVE only until its session is ended for idling in the transaction; nothing of it commits', async () => {
    const spec = runbookSpec();
    await new PhaseDriver(db.executor, spec).runThrough(Phase.Constrain);
    let resume!: () => void;
    const killed = new Promise<void>((r) => (resume = r));
    let dropped = false;
    // The Lambda stops right after DROP COLUMN (ACCESS EXCLUSIVE held) and sends nothing more until `resume`.
    const dying: Executor = {
      query: (sql, params, opts) => db.executor.query(sql, params, opts),
      transaction: (fn, opts) =>
        db.executor.transaction(
          async (tx) =>
            fn({
              query: async (sql: string, params?: Parameters<Executor['query']>[1]) => {
                const r = await tx.query(sql, params);
                if (/DROP COLUMN/.test(sql)) {
                  dropped = true;
                  await killed;
                }
                return r;
              },
              transaction: tx.transaction,
            } as Executor),
          opts,
        ),
    };
    const contract = runPhase(Phase.Contract, { state: { spec } as never, slot: 'contract' }, { db: dying }).then(
      () => 'committed',
      (e: Error) => `failed: ${e.message}`,
    );
    while (!dropped) await new Promise((r) => setTimeout(r, 20));
    const app = await db.pg.connect();
    try {
      // Bounded far below the Data API's 3-minute idle limit: before the fix this SELECT waited 177 s.
      await app.query(`SET statement_timeout = '${TRANSACTION_IDLE_TIMEOUT_MS + 25_000}ms'`);
      const read = await app.query(`SELECT price FROM "Product" WHERE id = 1`).then(() => 'ok', (e: Error) => e.message);
      expect(read).toBe('ok');
    } finally {
      app.release();
    }
    // Released while the phase is still stuck: its transaction is gone, and what it did with it.
    expect(await columnExists(db, 'price')).toBe(true);
    const held = await db.pg.query(`SELECT count(*)::int AS n FROM pg_locks WHERE relation = '"Product"'::regclass AND pid <> pg_backend_pid()`);
    expect(held.rows[0].n).toBe(0);
    resume();
    // The phase learns it: the next call of its transaction fails, it does not report a contract that never committed.
    expect(await contract).toMatch(/^failed: /);
    expect(await columnExists(db, 'price')).toBe(true);
    expect(await columnExists(db, 'price_cents')).toBe(false);
  });
});

describe('a backfill batch that meets a row lock', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase('lock_batch');
    await seedProducts(db, 3000);
  });
  afterAll(async () => db.close());

  it('lets application writes beside the held row through while it is held, then backfills every row once', async () => {
    const spec = runbookSpec({ backfill: { batchSize: 2000, pauseMs: 0 } });
    const d = new PhaseDriver(db.executor, spec);
    await d.runThrough(Phase.Expand);
    const holder: pg.PoolClient = await db.pg.connect();
    const app: pg.PoolClient = await db.pg.connect();
    try {
      // An application transaction left open on one row (a slow checkout).
      await holder.query('BEGIN');
      await holder.query(`SELECT 1 FROM "Product" WHERE id = 1500 FOR UPDATE`);
      const first = d.run(Phase.Backfill);
      // Wait until a batch is queued behind the held row (it holds every row before it that it already updated).
      for (let i = 0; i < 500; i += 1) {
        const waiting = await db.pg.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE 'WITH batch%'`);
        if (waiting.rows[0].n > 0) break;
        await new Promise((r) => setTimeout(r, 10));
      }
      // Rows of the batch that nobody but the batch locks: the application's UPDATEs must not wait for the holder.
      await app.query(`SET statement_timeout = '10s'`);
      for (const id of [1499, 1200, 10]) {
        const write = await app.query(`UPDATE "Product" SET price = 9.99 WHERE id = $1`, [id]).then(() => 'ok', (e: Error) => e.message);
        expect(write).toBe('ok');
      }
      // ...while the row lock is still held.
      expect((await holder.query(`SELECT count(*)::int AS n FROM pg_locks WHERE pid = pg_backend_pid() AND locktype = 'transactionid'`)).rows[0].n).toBe(1);
      await holder.query('ROLLBACK');
      await first;
    } finally {
      holder.release();
      app.release();
    }
    const result = await d.backfill();
    expect(result.done).toBe(true);
    // Every row once: a batch given up on a lock counted nothing.
    const state = await db.pg.query(`SELECT rows_done::int AS rows_done FROM _stepwise.migrations WHERE name = $1`, [spec.name]);
    expect(state.rows[0].rows_done).toBe(3000);
    const wrong = await db.pg.query(`SELECT count(*)::int AS n FROM "Product" WHERE new_price_cents IS DISTINCT FROM round(price * 100)::integer`);
    expect(wrong.rows[0].n).toBe(0);
    expect((await db.pg.query(`SELECT new_price_cents FROM "Product" WHERE id = 1499`)).rows[0].new_price_cents).toBe(999);
  });
});
