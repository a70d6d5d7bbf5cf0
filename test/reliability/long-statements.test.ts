import type pg from 'pg';
import { Phase } from '../../lib/constants';
import { objectNames } from '../../lib/operations/names';
import { StatementRunningError, StepCheckFailedError } from '../../lib/errors';
import { tagsVisible } from '../../lib/phases/long-statement';
import { runPhase } from '../../lib/phases/run-phase';
import { realSleep } from '../../lib/phases/phase-context';
import { seedProducts } from '../e2e/e2e-helpers';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database';

jest.setTimeout(120_000);

/**
 * Statements that outlast one Data API call (the emulator's limit is set to 2 s here, as Aurora's is 45 s; a lock wait of the other statements ends at lock_timeout, well before):
 * CREATE INDEX CONCURRENTLY and the backup copy are held up by a session of the test (deterministically: a snapshot
 * or a lock, never a timing), so each phase invocation ends with SW_STATEMENT_RUNNING. The assertions: the statement
 * is never sent twice (the same backend runs it across attempts, the index is never dropped and rebuilt), the phase
 * completes once the statement ends, and rollback cancels a statement still running.
 */

const EXECUTION = 'arn:aws:states:us-east-1:000000000000:execution:stepwise:long-statements';

function spec(name: string) {
  return {
    name,
    table: { name: 'Product' },
    operation: { type: 'convert-column', column: 'price', newColumn: 'price_cents', newType: 'integer', using: 'round(price * 100)', index: { name: 'Product_price_cents_idx' }, notNull: true },
    backfill: { batchSize: 500, pauseMs: 0 },
  };
}

/** Runs phases as the state machine would, with a deadline per invocation (`budgetMs` from its start). */
class Attempts {
  state: Record<string, unknown>;
  constructor(
    private readonly db: TestDatabase,
    spec: unknown,
  ) {
    this.state = { spec };
  }

  async run(phase: Phase, budgetMs: number): Promise<unknown> {
    const result = await runPhase(phase, { execution: EXECUTION, state: this.state as never, slot: phase }, { db: this.db.executor, sleep: realSleep, deadline: Date.now() + budgetMs });
    this.state = { ...this.state, [phase]: result };
    return result;
  }

  /** Each phase once, with time to spare. */
  async runEach(...phases: Phase[]): Promise<void> {
    for (const phase of phases) await this.run(phase, 30_000);
  }

  /** One invocation that must end with SW_STATEMENT_RUNNING; returns the running statement's pid. */
  async stillRunning(phase: Phase): Promise<number> {
    const err = await this.run(phase, 0).then(
      () => undefined,
      (e: unknown) => e,
    );
    if (!(err instanceof StatementRunningError)) throw Object.assign(err as Error, { message: `${(err as Error).message} ${JSON.stringify((err as { details?: unknown }).details)}` });
    expect((err as StatementRunningError).code).toBe('SW_STATEMENT_RUNNING');
    return Number((err as StatementRunningError).details.pid);
  }
}

/**
 * Runs `fn` while a session of the test holds what `begin` takes (an open transaction). `fn` may end it (`COMMIT`);
 * it is ended and released in any case.
 */
async function withSessionHolding(db: TestDatabase, begin: readonly string[], fn: (session: pg.PoolClient) => Promise<void>): Promise<void> {
  const client = await db.pg.connect();
  try {
    for (const sql of begin) await client.query(sql);
    await fn(client);
  } finally {
    await client.query('ROLLBACK').catch(() => undefined);
    client.release();
  }
}

/** A snapshot (REPEATABLE READ, no lock on "Product"): CREATE INDEX CONCURRENTLY waits for it. */
const withSnapshotHeld = (db: TestDatabase, fn: (session: pg.PoolClient) => Promise<void>) =>
  withSessionHolding(db, ['BEGIN ISOLATION LEVEL REPEATABLE READ', 'SELECT count(*) FROM pg_class'], fn);

async function indexState(db: TestDatabase): Promise<{ oid: number; valid: boolean } | undefined> {
  const r = await db.pg.query(`SELECT c.oid::int AS oid, i.indisvalid AS valid FROM pg_class c JOIN pg_index i ON i.indexrelid = c.oid WHERE c.relname = 'Product_price_cents_idx'`);
  return r.rows[0];
}

async function taggedRunning(db: TestDatabase): Promise<{ pid: number; query: string }[]> {
  const r = await db.pg.query(`SELECT pid, query FROM pg_stat_activity WHERE state = 'active' AND query LIKE '/* stepwise/%'`);
  return r.rows;
}

describe('statements longer than one Data API call', () => {
  let db: TestDatabase;

  beforeEach(async () => {
    db = await createTestDatabase('long_statements', { statementTimeoutMs: 2_000 });
    await seedProducts(db, 2_000);
    // No autovacuum holding up expand's ALTER TABLE: only the test's own sessions hold anything up.
    await db.pg.query('ALTER TABLE "Product" SET (autovacuum_enabled = false)');
  });
  afterEach(() => db.close());

  it('preflight checks that a tagged statement shows in pg_stat_activity as sent (the Data API path keeps the comment)', async () => {
    expect(await tagsVisible(db.executor)).toBe(true);
    const report = (await new Attempts(db, spec('long-probe')).run(Phase.Preflight, 30_000)) as { checks: { name: string; status: string }[] };
    expect(report.checks.find((c) => c.name === 'long-statements')).toMatchObject({ status: 'pass' });
    // A path that drops the comment is seen: the same probe sent without its tag.
    const stripped = { query: (sql: string, params?: never) => db.executor.query(sql.replace(/^\/\* [^*]* \*\/ /, ''), params), transaction: db.executor.transaction.bind(db.executor) };
    expect(await tagsVisible(stripped as never)).toBe(false);
  });

  it('CREATE INDEX CONCURRENTLY: watched across attempts, never sent twice, done once it ends', async () => {
    const attempts = new Attempts(db, spec('long-index'));
    await attempts.runEach(Phase.Preflight, Phase.Backup);
    await withSnapshotHeld(db, async (snapshot) => {
      const pid = await attempts.stillRunning(Phase.Expand);
      const building = await indexState(db);
      expect(building).toEqual({ oid: expect.any(Number), valid: false });
      expect(await taggedRunning(db)).toEqual([{ pid, query: expect.stringMatching(/^\/\* stepwise\/[0-9a-f]{16}\/expand\.index \*\/ CREATE INDEX CONCURRENTLY/) }]);

      // The retry finds the same build still running: it neither drops the "invalid" index nor starts another.
      expect(await attempts.stillRunning(Phase.Expand)).toBe(pid);
      expect(await indexState(db)).toEqual(building);

      await snapshot.query('COMMIT');
      await attempts.run(Phase.Expand, 60_000);
      expect(await indexState(db)).toEqual({ oid: building!.oid, valid: true });
      expect(await taggedRunning(db)).toEqual([]);
    });
  });

  it('rollback cancels a CREATE INDEX CONCURRENTLY still running and drops what expand added', async () => {
    const attempts = new Attempts(db, spec('long-rollback'));
    await attempts.runEach(Phase.Preflight, Phase.Backup);
    await withSnapshotHeld(db, async () => {
      await attempts.stillRunning(Phase.Expand);
      expect(await taggedRunning(db)).toHaveLength(1);
      // The snapshot is still held: without the cancel, DROP INDEX CONCURRENTLY would wait for the build.
      await attempts.run(Phase.Rollback, 60_000);
      expect(await taggedRunning(db)).toEqual([]);
      expect(await indexState(db)).toBeUndefined();
      const cols = await db.pg.query(`SELECT attname FROM pg_attribute WHERE attrelid = '"Product"'::regclass AND attname = 'price_cents' AND NOT attisdropped`);
      expect(cols.rows).toEqual([]);
    });
  });

  it('a build cancelled while it is watched: the phase fails its check (never reports success), and the retry rebuilds the index', async () => {
    const attempts = new Attempts(db, spec('long-cancelled'));
    await attempts.runEach(Phase.Preflight, Phase.Backup);
    await withSnapshotHeld(db, async () => {
      const watching = attempts.run(Phase.Expand, 60_000).then(
        () => undefined,
        (e: unknown) => e,
      );
      // Once the build is being watched (it has run past the 2 s call limit), someone cancels it.
      let running: { pid: number }[] = [];
      while (running.length === 0) {
        running = (await db.pg.query(`SELECT pid FROM pg_stat_activity WHERE state = 'active' AND query LIKE '/* stepwise/%' AND now() - query_start > interval '3 s'`)).rows;
        if (running.length === 0) await realSleep(50);
      }
      const first = await indexState(db);
      await db.pg.query('SELECT pg_cancel_backend($1)', [running[0]!.pid]);
      const err = await watching;
      expect(err).toBeInstanceOf(StepCheckFailedError);
      expect((err as StepCheckFailedError).code).toBe('SW_STEP_CHECK_FAILED');
      expect(await indexState(db)).toEqual({ oid: first!.oid, valid: false });
    });
    // The retry (StepCheckFailedError is retryable) drops the invalid index and builds it again.
    await attempts.run(Phase.Expand, 60_000);
    expect(await indexState(db)).toEqual({ oid: expect.any(Number), valid: true });
  });

  it('VALIDATE CONSTRAINT held up past the call limit: watched across attempts, then constrain completes', async () => {
    const attempts = new Attempts(db, spec('long-validate'));
    await attempts.runEach(Phase.Preflight, Phase.Backup, Phase.Expand);
    let done: { done?: boolean } = {};
    while (!done.done) done = (await attempts.run(Phase.Backfill, 30_000)) as { done?: boolean };
    done = {};
    while (!done.done) done = (await attempts.run(Phase.Verify, 30_000)) as { done?: boolean };
    // As if an earlier attempt of constrain had added the NOT VALID check (its step then has nothing to do and takes no
    // lock); a session holding SHARE UPDATE EXCLUSIVE (as a manual VACUUM or ANALYZE would): VALIDATE waits for it,
    // writers do not.
    await db.pg.query(`ALTER TABLE "Product" ADD CONSTRAINT "${objectNames('long-validate').notNullCheck}" CHECK (price_cents IS NOT NULL) NOT VALID`);
    await withSessionHolding(db, ['BEGIN', 'LOCK TABLE "Product" IN SHARE UPDATE EXCLUSIVE MODE'], async (lock) => {
      const pid = await attempts.stillRunning(Phase.Constrain);
      const running = await taggedRunning(db);
      expect(running).toEqual([{ pid, query: expect.stringMatching(/^\/\* stepwise\/[0-9a-f]{16}\/constrain\.validate-check \*\/ ALTER TABLE .* VALIDATE CONSTRAINT/) }]);
      // A writer is not held up by the waiting VALIDATE.
      await db.pg.query('UPDATE "Product" SET price = price + 1 WHERE id = 1');
      expect(await attempts.stillRunning(Phase.Constrain)).toBe(pid);
      await lock.query('COMMIT');
      await attempts.run(Phase.Constrain, 60_000);
    });
    const col = await db.pg.query(`SELECT attnotnull FROM pg_attribute WHERE attrelid = '"Product"'::regclass AND attname = 'price_cents'`);
    expect(col.rows[0].attnotnull).toBe(true);
    expect(await taggedRunning(db)).toEqual([]);
  });

  it('the backup copy: waited for across attempts, kept (not redone) once it has finished', async () => {
    const attempts = new Attempts(db, spec('long-backup'));
    await attempts.runEach(Phase.Preflight);
    await withSessionHolding(db, ['BEGIN', 'LOCK TABLE "Product" IN ACCESS EXCLUSIVE MODE'], async (lock) => {
      const pid = await attempts.stillRunning(Phase.Backup);
      expect(await attempts.stillRunning(Phase.Backup)).toBe(pid);
      await lock.query('COMMIT');
      const result = (await attempts.run(Phase.Backup, 60_000)) as { rows: number; rowsEstimated?: boolean; location: string };
      expect(result).toEqual({ location: expect.stringContaining('long-backup'), rows: 2_000, rowsEstimated: true });
      const copied = await db.pg.query(`SELECT count(*)::int AS n FROM _stepwise."${result.location.split('.')[1]}"`);
      expect(copied.rows[0].n).toBe(2_000);
    });
  });
});
