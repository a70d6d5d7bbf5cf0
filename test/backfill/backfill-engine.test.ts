import { Phase } from '../../lib/constants';
import type { Executor, QueryResult, Row, SqlParams, TransactionOptions } from '../../lib/db/executor';
import type { BackfillInvocationResult } from '../../lib/phases/backfill';
import { runPhase } from '../../lib/phases/run-phase';
import { setPaused } from '../../lib/state/migration-state';
import { seedProducts } from '../e2e/e2e-helpers';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database';
import { PhaseDriver } from '../harness/run-phases';

jest.setTimeout(120_000);

const BATCH = /UPDATE "public"\."Product" SET/;
const ROWS = 6000;

function spec(backfill: Record<string, unknown>) {
  return {
    name: 'backfill-engine',
    table: { name: 'Product' },
    operation: { type: 'convert-column', column: 'price', newColumn: 'price_cents', newType: 'integer', using: 'round(price * 100)' },
    backfill,
  };
}

/** Small adaptive batches: many batches on a small table, whatever the machine's speed. */
const SMALL_ADAPTIVE = { mode: 'adaptive', batchSize: 200, minBatchSize: 100, maxBatchSize: 600 };

interface Seen {
  sql: string;
  params: SqlParams | undefined;
}

/**
 * An executor in front of the real one (→ Data API emulator → Postgres) that records every statement and runs a hook
 * after each backfill batch: where the tests interleave application writes or crash the "Lambda", deterministically.
 */
class HookedExecutor implements Executor {
  readonly seen: Seen[] = [];
  afterBatch: ((n: number) => Promise<void>) | undefined;
  batches = 0;

  constructor(private readonly inner: Executor) {}

  async query<R extends Row = Row>(sql: string, params?: SqlParams): Promise<QueryResult<R>> {
    this.seen.push({ sql, params });
    const result = await this.inner.query<R>(sql, params);
    if (BATCH.test(sql)) {
      this.batches += 1;
      await this.afterBatch?.(this.batches);
    }
    return result;
  }

  transaction<T>(fn: (tx: Executor) => Promise<T>, options?: TransactionOptions): Promise<T> {
    return this.inner.transaction(fn, options);
  }

  batchLimits(): number[] {
    return this.seen.filter((s) => BATCH.test(s.sql)).map((s) => Number(s.params?.limit));
  }
}

async function expand(driver: PhaseDriver) {
  await driver.run(Phase.Preflight);
  await driver.run(Phase.Backup);
  await driver.run(Phase.Expand);
}

async function wrongRows(db: TestDatabase) {
  const r = await db.pg.query(
    `SELECT count(*)::int AS n, count(*) FILTER (WHERE price_cents IS NULL)::int AS nulls,
            count(*) FILTER (WHERE price_cents IS DISTINCT FROM round(price * 100)::integer)::int AS wrong FROM "Product"`,
  );
  return r.rows[0] as { n: number; nulls: number; wrong: number };
}

async function progress(db: TestDatabase) {
  const r = await db.pg.query(`SELECT cursor, rows_done::int, rows_updated::int, batches::int, batch_size, paused, vacuumed_at_rows::int FROM _stepwise.migrations WHERE name = 'backfill-engine'`);
  return r.rows[0] as { cursor: string; rows_done: number; rows_updated: number; batches: number; batch_size: number; paused: boolean; vacuumed_at_rows: number };
}

describe('backfill engine on real Postgres through the Data API emulator', () => {
  let db: TestDatabase;
  let hooked: HookedExecutor;
  beforeEach(async () => {
    db = await createTestDatabase('backfill');
    await seedProducts(db, ROWS);
    hooked = new HookedExecutor(db.executor);
  });
  afterEach(async () => db.close());

  it('ends with every row right while the application inserts, updates and deletes between and during batches', async () => {
    const driver = new PhaseDriver(hooked, spec(SMALL_ADAPTIVE));
    await expand(driver);
    // Between batches (deterministic): writes behind the cursor, ahead of it, deletes on both sides, new rows.
    const deleted: number[] = [];
    let inserted = 0;
    hooked.afterBatch = async (n) => {
      const behind = 1 + ((n * 37) % 200);
      const ahead = ROWS - ((n * 53) % 1000);
      await db.pg.query('UPDATE "Product" SET price = price + 1.01 WHERE id IN ($1, $2)', [behind, ahead]);
      await db.pg.query('UPDATE "Product" SET "updatedAt" = now() WHERE id = $1', [behind + 1]);
      const victim = n % 2 === 0 ? 500 + n : ROWS - 500 - n;
      await db.pg.query('DELETE FROM "Product" WHERE id = $1', [victim]);
      deleted.push(victim);
      await db.pg.query('INSERT INTO "Product" (name, price) VALUES ($1, $2)', [`new ${n}`, (n % 500) + 0.015]);
      inserted += 1;
    };
    // And truly concurrent writers on their own connections for the whole backfill.
    let running = true;
    let concurrentWrites = 0;
    const writer = async (seed: number) => {
      let i = 0;
      while (running) {
        i += 1;
        const id = 1 + ((i * 7919 + seed) % ROWS);
        if (i % 7 === 0) await db.pg.query('INSERT INTO "Product" (name, price) VALUES ($1, $2)', [`c${seed}-${i}`, (i % 9999) / 100 + 0.01]);
        else if (i % 11 === 0) await db.pg.query('DELETE FROM "Product" WHERE id = $1', [id]);
        else await db.pg.query('UPDATE "Product" SET price = $1 WHERE id = $2', [(i % 99999) / 100 + 0.01, id]);
        concurrentWrites += 1;
      }
    };
    const writers = [writer(1), writer(2)];

    const result = (await driver.backfill()) as BackfillInvocationResult;
    running = false;
    await Promise.all(writers);

    expect(result.done).toBe(true);
    expect(result.mode).toBe('adaptive');
    expect(hooked.batches).toBeGreaterThanOrEqual(10);
    expect(inserted).toBe(hooked.batches);
    expect(concurrentWrites).toBeGreaterThan(0);
    const check = await wrongRows(db);
    expect(check).toEqual({ n: expect.any(Number), nulls: 0, wrong: 0 });
    const gone = await db.pg.query('SELECT count(*)::int AS n FROM "Product" WHERE id = ANY($1::bigint[])', [deleted]);
    expect(gone.rows[0].n).toBe(0);
    const verify = await driver.verify();
    expect(verify).toMatchObject({ nulls: 0, mismatches: 0 });
  });

  it('resumes from the cursor after the Data API connection drops mid-backfill: every row right, none skipped, none twice', async () => {
    const driver = new PhaseDriver(hooked, spec(SMALL_ADAPTIVE));
    await expand(driver);
    // After the 4th batch, the next batch statement's connection is reset (the statement never runs), twice.
    hooked.afterBatch = async (n) => {
      if (n === 4) db.emulator.faults.inject({ sqlMatch: BATCH, times: 2, error: 'ConnectionReset' });
    };
    const errors: unknown[] = [];
    let result: BackfillInvocationResult | undefined;
    for (let attempt = 0; attempt < 20 && !result?.done; attempt += 1) {
      // What Step Functions' Retry does: call the task again with the same input.
      result = (await driver.run(Phase.Backfill).catch((e: unknown) => void errors.push(e))) as BackfillInvocationResult | undefined;
    }
    expect(result?.done).toBe(true);
    expect(db.emulator.faults.pending()).toBe(0);
    const p = await progress(db);
    // Nothing skipped, nothing done twice: the cursor moved exactly once per row, each row was written exactly once.
    expect(p.rows_done).toBe(ROWS);
    expect(p.rows_updated).toBe(ROWS);
    expect(p.cursor).toBe(String(ROWS));
    expect(await wrongRows(db)).toEqual({ n: ROWS, nulls: 0, wrong: 0 });
  });

  it('resumes exactly when the handler dies after a batch committed (cursor and rows commit together)', async () => {
    const driver = new PhaseDriver(hooked, spec(SMALL_ADAPTIVE));
    await expand(driver);
    hooked.afterBatch = async (n) => {
      if (n === 3 || n === 7) throw new Error(`Lambda crashed after batch ${n}`);
    };
    const errors: unknown[] = [];
    let result: BackfillInvocationResult | undefined;
    for (let attempt = 0; attempt < 20 && !result?.done; attempt += 1) {
      result = (await driver.run(Phase.Backfill).catch((e: unknown) => void errors.push(e))) as BackfillInvocationResult | undefined;
    }
    expect(errors).toHaveLength(2);
    expect(result?.done).toBe(true);
    const p = await progress(db);
    expect(p.rows_done).toBe(ROWS);
    expect(p.rows_updated).toBe(ROWS);
    // Every committed batch counted once (a final batch that found no rows is not counted).
    expect(hooked.batches - p.batches).toBeGreaterThanOrEqual(0);
    expect(hooked.batches - p.batches).toBeLessThanOrEqual(1);
    expect(await wrongRows(db)).toEqual({ n: ROWS, nulls: 0, wrong: 0 });
  });

  it('runs the runbook\'s fixed batches when the spec writes batchSize', async () => {
    const driver = new PhaseDriver(hooked, spec({ batchSize: 250, pauseMs: 0 }));
    await expand(driver);
    const result = (await driver.backfill()) as BackfillInvocationResult;
    expect(result.mode).toBe('fixed');
    const limits = hooked.batchLimits();
    expect(new Set(limits)).toEqual(new Set([250]));
    expect(limits.length).toBe(ROWS / 250 + 1);
    expect(await wrongRows(db)).toEqual({ n: ROWS, nulls: 0, wrong: 0 });
  });

  it('persists the adapted batch size: the next invocation starts with what the last one learned', async () => {
    // A 1 s time box minus the 1 s margin: each invocation runs exactly one batch.
    const driver = new PhaseDriver(hooked, spec({ ...SMALL_ADAPTIVE, maxSecondsPerInvocation: 1 }));
    await expand(driver);
    const first = (await driver.run(Phase.Backfill)) as BackfillInvocationResult;
    expect(first.invocationBatches).toBe(1);
    expect((await progress(db)).batch_size).toBe(first.batchSize);
    const before = hooked.batchLimits().length;
    await driver.run(Phase.Backfill);
    expect(hooked.batchLimits()[before]).toBe(first.batchSize);
    const last = await driver.backfill();
    expect(last.done).toBe(true);
    expect(await wrongRows(db)).toEqual({ n: ROWS, nulls: 0, wrong: 0 });
  });

  it('pauses through the state table without losing progress, and resumes from the cursor', async () => {
    const driver = new PhaseDriver(hooked, spec({ ...SMALL_ADAPTIVE, maxSecondsPerInvocation: 1 }));
    await expand(driver);
    await driver.run(Phase.Backfill);
    const cursorBefore = (await progress(db)).cursor;
    expect(await setPaused(db.executor, 'backfill-engine', true)).toBe(true);
    const paused = (await driver.run(Phase.Backfill)) as BackfillInvocationResult;
    expect(paused).toMatchObject({ paused: true, done: false, cursor: cursorBefore, invocationBatches: 0 });
    expect(paused.waitSeconds).toBeGreaterThan(0);
    expect((await progress(db)).cursor).toBe(cursorBefore);
    await setPaused(db.executor, 'backfill-engine', false);
    const result = await driver.backfill();
    expect(result.done).toBe(true);
    expect(await wrongRows(db)).toEqual({ n: ROWS, nulls: 0, wrong: 0 });
    expect((await progress(db)).rows_updated).toBe(ROWS);
  });

  it('vacuums every vacuumEveryRows rows', async () => {
    const driver = new PhaseDriver(hooked, spec({ ...SMALL_ADAPTIVE, vacuumEveryRows: 2000 }));
    await expand(driver);
    await driver.backfill();
    const vacuums = hooked.seen.filter((s) => /^VACUUM "public"\."Product"$/.test(s.sql)).length;
    expect(vacuums).toBe(Math.floor((ROWS - 1) / 2000));
    expect((await progress(db)).vacuumed_at_rows).toBeGreaterThanOrEqual(4000);
    expect(await wrongRows(db)).toEqual({ n: ROWS, nulls: 0, wrong: 0 });
  });

  it('holds maxRowsPerSecond (on a fake clock: small batches, spaced out)', async () => {
    const driver = new PhaseDriver(hooked, spec({ mode: 'adaptive', maxRowsPerSecond: 2000, targetBatchMs: 150, maxSecondsPerInvocation: 40 }));
    await expand(driver);
    let clock = 1_000_000;
    const slept: number[] = [];
    const result = (await runPhase(Phase.Backfill, { state: driver.state as never, slot: 'backfill' }, {
      db: hooked,
      now: () => clock,
      sleep: async (ms) => {
        slept.push(ms);
        clock += ms;
      },
    })) as BackfillInvocationResult;
    expect(result.done).toBe(true);
    const limits = hooked.batchLimits();
    expect(Math.max(...limits)).toBeLessThanOrEqual(300); // 2000 rows/s × 150 ms
    const sleptMs = slept.reduce((a, b) => a + b, 0);
    // Every row but the last batch's was paid for at ≤ 2000 rows/s.
    expect(sleptMs).toBeGreaterThanOrEqual(((ROWS - 300) / 2000) * 1000);
    expect(await wrongRows(db)).toEqual({ n: ROWS, nulls: 0, wrong: 0 });
  });
});
