import { RDSDataClient } from '@aws-sdk/client-rds-data';
import type { Client } from 'pg';
import { DataApiExecutor, type RetryOptions } from '../../lib/db/data-api-executor';
import { executorFromEnv, resetExecutorCache } from '../../lib/db/create-executor';
import { isStatementTimeout, mapDataApiError, parseSqlState } from '../../lib/db/map-data-api-error';
import { ConfigError, DatabaseError, LockTimeoutError } from '../../lib/errors';
import { LOCAL_AWS } from '../../lib/local/local-data-api';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database';

describe('DataApiExecutor', () => {
  let db: TestDatabase;
  let client: RDSDataClient;
  const sleeps: number[] = [];
  /** An executor whose backoff sleeps run `onSleep` instead of waiting, and whose SDK client never retries. */
  const executor = (retry: RetryOptions = {}, onSleep: () => Promise<void> = async () => undefined) =>
    new DataApiExecutor({
      client,
      resourceArn: LOCAL_AWS.clusterArn,
      secretArn: LOCAL_AWS.secretArn,
      database: db.name,
      retry: { ...retry, sleep: (ms) => (sleeps.push(ms), onSleep()) },
    });

  beforeAll(async () => {
    db = await createTestDatabase('executor');
    client = new RDSDataClient({ endpoint: db.emulator.url, region: 'us-east-1', credentials: LOCAL_AWS.credentials, maxAttempts: 1 });
    await db.pg.query(`CREATE TABLE "Product" (id int8 PRIMARY KEY, price numeric(10,2), note text)`);
    await db.pg.query(`INSERT INTO "Product" VALUES (1, 10.05, NULL), (2, 3.50, 'x')`);
  });
  afterAll(async () => {
    client.destroy();
    await db.close();
  });
  beforeEach(() => {
    sleeps.length = 0;
    db.emulator.faults.clear();
  });

  describe('query', () => {
    it('decodes rows by column label', async () => {
      const { rows, rowsAffected } = await db.executor.query('SELECT id, price, note, id > 1 AS big FROM "Product" ORDER BY id');
      expect(rows).toEqual([
        { id: 1, price: '10.05', note: null, big: false },
        { id: 2, price: '3.50', note: 'x', big: true },
      ]);
      expect(rowsAffected).toBe(0);
    });

    it('sends strings, integers, floats, booleans and null', async () => {
      const { rows } = await db.executor.query('SELECT :s AS s, :i AS i, :f AS f, :b AS b, :n::text AS n, pg_typeof(:i)::text AS ti', {
        s: "it's",
        i: 42,
        f: 1.5,
        b: true,
        n: null,
      });
      expect(rows).toEqual([{ s: "it's", i: 42, f: 1.5, b: true, n: null, ti: 'bigint' }]);
    });

    it('reports rows affected', async () => {
      const { rowsAffected } = await db.executor.query('UPDATE "Product" SET note = :note WHERE id = :id', { note: 'y', id: 2 });
      expect(rowsAffected).toBe(1);
    });

    it('maps SQL errors to DatabaseError with the SQLState', async () => {
      const err = await db.executor.query('INSERT INTO "Product" (id) VALUES (1)').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DatabaseError);
      expect(err).toMatchObject({ code: 'SW_DB_ERROR', retryable: false, details: { sqlState: '23505' } });
    });

    it('retries transient Data API errors', async () => {
      db.emulator.faults.inject({ operation: 'Execute', times: 1, error: 'DatabaseResumingException' });
      db.emulator.faults.inject({ operation: 'Execute', times: 1, error: 'ConnectionReset' });
      const { rows } = await executor().query('SELECT 1 AS one');
      expect(rows).toEqual([{ one: 1 }]);
      expect(sleeps).toHaveLength(2);
    });

    it('gives up after maxAttempts with a retryable DatabaseError', async () => {
      db.emulator.faults.inject({ operation: 'Execute', times: 10, error: 'ServiceUnavailableError' });
      const err = await executor({ maxAttempts: 3 }).query('SELECT 1').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DatabaseError);
      expect(err).toMatchObject({ retryable: true, details: { errorName: 'ServiceUnavailableError', attempts: 3 } });
      expect(db.emulator.faults.pending()).toBe(7);
    });

    it('does not retry a statement timeout', async () => {
      db.emulator.faults.inject({ operation: 'Execute', times: 1, error: 'StatementTimeoutException' });
      const err = await executor().query('SELECT 1').catch((e: unknown) => e);
      expect(err).toMatchObject({ name: 'DatabaseError', retryable: false, details: { errorName: 'StatementTimeoutException' } });
      expect(isStatementTimeout(err)).toBe(true);
      expect(sleeps).toHaveLength(0);
    });

    it('never resends a call whose statement may run on (continueAfterTimeout), even after a transient error', async () => {
      db.emulator.faults.inject({ operation: 'Execute', times: 1, error: 'ConnectionReset' });
      const err = await executor().query('SELECT 1', {}, { continueAfterTimeout: true }).catch((e: unknown) => e);
      // Resent, the call would have succeeded (the fault fires once).
      expect(err).toMatchObject({ name: 'DatabaseError' });
      expect(sleeps).toHaveLength(0);
      expect(db.emulator.faults.pending()).toBe(0);
    });

    it('lets a statement run on past the call limit with continueAfterTimeout', async () => {
      const short = await createTestDatabase('executor_cat', { statementTimeoutMs: 300 });
      try {
        const err = await short.executor.query('SELECT pg_sleep(5)', {}, { continueAfterTimeout: true }).catch((e: unknown) => e);
        expect(isStatementTimeout(err)).toBe(true);
        // The statement is still running on the server after the call failed.
        const running = await short.pg.query(`SELECT pid FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(5)' AND state = 'active'`);
        expect(running.rows).toHaveLength(1);
        await short.pg.query('SELECT pg_cancel_backend($1)', [running.rows[0].pid]);
      } finally {
        await short.close();
      }
    }, 30_000);
  });

  describe('transaction', () => {
    it('commits when fn resolves', async () => {
      const result = await db.executor.transaction(async (tx) => {
        await tx.query(`INSERT INTO "Product" (id) VALUES (10)`);
        return (await tx.query<{ n: number }>('SELECT count(*)::int AS n FROM "Product"')).rows[0]?.n;
      });
      expect(result).toBe(3);
      expect((await db.pg.query('SELECT 1 FROM "Product" WHERE id = 10')).rowCount).toBe(1);
    });

    it('rolls back when fn throws', async () => {
      const err = await db.executor
        .transaction(async (tx) => {
          await tx.query(`INSERT INTO "Product" (id) VALUES (11)`);
          throw new Error('boom');
        })
        .catch((e: unknown) => e);
      expect(err).toEqual(new Error('boom'));
      expect((await db.pg.query('SELECT 1 FROM "Product" WHERE id = 11')).rowCount).toBe(0);
    });

    describe('with lockTimeoutMs', () => {
      let holder: Client;
      beforeEach(async () => {
        holder = (await db.pg.connect()) as unknown as Client;
        await holder.query('BEGIN');
        await holder.query('LOCK TABLE "Product" IN ACCESS EXCLUSIVE MODE');
      });
      afterEach(async () => {
        await holder.query('ROLLBACK').catch(() => undefined);
        (holder as unknown as { release(): void }).release();
      });

      it('retries the transaction after a lock timeout, and succeeds once the lock is released', async () => {
        const releaseLock = async () => void (await holder.query('ROLLBACK'));
        const attempts: number[] = [];
        await executor({}, releaseLock).transaction(
          async (tx) => {
            attempts.push(attempts.length + 1);
            await tx.query('ALTER TABLE "Product" ADD COLUMN IF NOT EXISTS extra int');
          },
          { lockTimeoutMs: 50 },
        );
        expect(attempts).toEqual([1, 2]);
        expect(sleeps).toHaveLength(1);
        expect((await db.pg.query(`SELECT 1 FROM information_schema.columns WHERE column_name = 'extra'`)).rowCount).toBe(1);
      });

      it('throws LockTimeoutError once the retries are exhausted', async () => {
        const err = await executor()
          .transaction((tx) => tx.query('ALTER TABLE "Product" ADD COLUMN other int'), { lockTimeoutMs: 20, retries: 2 })
          .catch((e: unknown) => e);
        expect(err).toBeInstanceOf(LockTimeoutError);
        expect(err).toMatchObject({ code: 'SW_LOCK_TIMEOUT', retryable: true, details: { attempts: 3, sqlState: '55P03' } });
        expect(sleeps).toHaveLength(2);
      });
    });

    it('refuses a lock timeout that is not a positive integer', async () => {
      await expect(db.executor.transaction(async () => 1, { lockTimeoutMs: 1.5 })).rejects.toThrow(/positive integer/);
    });
  });
});

describe('executorFromEnv', () => {
  afterEach(() => resetExecutorCache());

  it('names the missing variable', () => {
    expect(() => executorFromEnv({})).toThrow(ConfigError);
    expect(() => executorFromEnv({})).toThrow(/STEPWISE_CLUSTER_ARN/);
    expect(() => executorFromEnv({ STEPWISE_CLUSTER_ARN: 'a', STEPWISE_SECRET_ARN: 'b' })).toThrow(/STEPWISE_DATABASE/);
  });

  it('reaches the database named by the environment, and memoizes', async () => {
    const db = await createTestDatabase('from_env');
    const saved = { ...process.env };
    try {
      Object.assign(process.env, db.env);
      const executor = executorFromEnv();
      expect(executorFromEnv()).toBe(executor);
      const { rows } = await executor.query('SELECT current_database() AS name');
      expect(rows).toEqual([{ name: db.name }]);
    } finally {
      process.env = saved;
      await db.close();
    }
  });
});

describe('mapDataApiError', () => {
  it('parses the SQLState', () => {
    expect(parseSqlState('ERROR: relation "x" does not exist\n  Position: 15; SQLState: 42P01')).toBe('42P01');
  });

  it('passes StepwiseErrors through', () => {
    const err = new LockTimeoutError('x');
    expect(mapDataApiError(err)).toBe(err);
  });
});
