import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { Phase } from '../../lib/constants';
import type { Executor } from '../../lib/db/executor';
import type { FaultRule } from '../../lib/local/data-api-emulator/faults';
import type { LambdaHandler } from '../../lib/local/step-functions';
import { tableChecksum, tableMustBeCleanedUp, tableSchema } from '../harness/assertions';
import { runbookSpec, runOnDatabase, seedProducts } from '../e2e/e2e-helpers';
import { PhaseDriver } from '../harness/run-phases';
import { startPostgresProcess, type PostgresProcess } from '../helpers/postgres-process';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database';

jest.setTimeout(120_000);

const ROWS = 3000;
const BATCH = 250;
const BATCH_SQL = /UPDATE "public"\."Product" SET/;
const MIGRATION = 'product-price-cents';

/** The state row's counters: `batches` counts committed batches only, so a repeated batch would show here. */
async function progress(db: TestDatabase) {
  const r = await db.pg.query(
    `SELECT cursor, rows_done::int AS rows_done, rows_updated::int AS rows_updated, batches::int AS batches FROM _stepwise.migrations WHERE name = $1`,
    [MIGRATION],
  );
  return r.rows[0] as { cursor: string | null; rows_done: number; rows_updated: number; batches: number };
}

/** Rows whose converted value differs from `round(price * 100)` of the backup copy (the old column is gone after contract). */
async function wrongRowsAfterContract(db: TestDatabase): Promise<number> {
  const r = await db.pg.query(
    `SELECT count(*)::int AS n FROM "Product" p JOIN _stepwise."_stepwise_product-price-cents_backup" b USING (id)
      WHERE p.price_cents IS DISTINCT FROM round(b.price * 100)::int`,
  );
  return r.rows[0].n as number;
}

async function waitFor(condition: () => Promise<boolean>): Promise<void> {
  // A condition, not a clock: polls until the database is in the state the test needs (jest's timeout bounds it).
  while (!(await condition())) await new Promise((resolve) => setTimeout(resolve, 20));
}

/** A direct session holding a row lock (`FOR UPDATE` in an open transaction), as an application's transaction would. */
async function lockRow(db: TestDatabase, id: number): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: db.url });
  client.on('error', () => undefined);
  await client.connect();
  await client.query('BEGIN');
  await client.query('SELECT 1 FROM "Product" WHERE id = $1 FOR UPDATE', [id]);
  return client;
}

/** The batches' lock_timeout here: the restart must find batch 4 still waiting on the row (not given up on it). */
const WAIT_ON_LOCK_MS = 60_000;

/** A backfill batch is waiting on a row lock (seen in pg_stat_activity). */
async function batchWaitsOnLock(db: TestDatabase): Promise<boolean> {
  const r = await db.pg.query(
    `SELECT count(*)::int AS n FROM pg_stat_activity
      WHERE datname = current_database() AND wait_event_type = 'Lock' AND position('UPDATE "public"."Product" SET' IN query) > 0`,
  );
  return r.rows[0].n > 0;
}

interface Proxy {
  readonly url: string;
  close(): Promise<void>;
}

/**
 * A pass-through HTTP proxy in front of the Data API emulator: `before` runs (and is awaited) before a request is
 * forwarded, so a test can arrange the database at an exact point of the workflow. An upstream failure resets the
 * caller's connection, as the network would.
 */
async function startProxy(target: string, before: (sql: string | undefined) => Promise<void>): Promise<Proxy> {
  const readBody = (req: IncomingMessage) =>
    new Promise<string>((resolve, reject) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      req.on('error', reject);
    });
  const server = createServer((req, res) => {
    void (async () => {
      const body = await readBody(req);
      let sql: string | undefined;
      try {
        sql = (JSON.parse(body || '{}') as { sql?: string }).sql;
      } catch {
        sql = undefined;
      }
      await before(sql);
      const upstream = await fetch(`${target}${req.url ?? '/'}`, {
        method: req.method ?? 'POST',
        headers: { 'content-type': req.headers['content-type'] ?? 'application/json' },
        body,
      });
      const text = await upstream.text();
      const headers: Record<string, string> = { 'content-type': upstream.headers.get('content-type') ?? 'application/json' };
      const errorType = upstream.headers.get('x-amzn-errortype');
      if (errorType) headers['x-amzn-ErrorType'] = errorType;
      res.writeHead(upstream.status, headers);
      res.end(text);
    })().catch(() => req.socket.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

describe('Postgres restarted mid-backfill (every backend of the database terminated)', () => {
  let db: TestDatabase;
  let proxy: Proxy | undefined;
  let blocker: pg.Client | undefined;
  beforeEach(async () => {
    db = await createTestDatabase('restart');
    await seedProducts(db, ROWS);
  });
  afterEach(async () => {
    await proxy?.close();
    await blocker?.end().catch(() => undefined);
    await db.close();
  });

  it('the in-flight batch fails, Step Functions retries the Backfill task, it resumes from the cursor: every row right, no batch skipped or repeated', async () => {
    // Deterministic "restart in the middle of a batch": a direct session locks a row of batch 4; batch 4 then waits on
    // it inside Postgres; the test terminates every backend of the database (the waiting batch, the emulator's idle
    // pooled sessions, the blocker itself), as a restart would, and the locked row is released by the blocker's death.
    const lockedId = 3 * BATCH + 10;
    let armed = false;
    let terminated = 0;
    let killing: Promise<void> | undefined;
    let terminating = false;
    const started = await startProxy(db.emulator.url, async (sql) => {
      // Calls made once the restart has begun wait until it is over (a restarted server accepts nothing before).
      if (terminating) await killing;
      if (armed || sql === undefined || !BATCH_SQL.test(sql)) return;
      armed = true;
      blocker = await lockRow(db, lockedId);
      killing = (async () => {
        await waitFor(() => batchWaitsOnLock(db));
        terminating = true;
        const r = await db.pg.query(
          `SELECT count(*) FILTER (WHERE pg_terminate_backend(pid))::int AS n FROM pg_stat_activity
            WHERE datname = current_database() AND pid <> pg_backend_pid()`,
        );
        terminated = r.rows[0].n;
        // The restart is complete once no backend but ours is left.
        await waitFor(async () => {
          const left = await db.pg.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`);
          return left.rows[0].n === 0;
        });
      })();
    });
    proxy = started;

    const { result, report, history } = await runOnDatabase({ ...db, env: { ...db.env, AWS_ENDPOINT_URL_RDS_DATA: started.url } }, runbookSpec({ lockTimeoutMs: WAIT_ON_LOCK_MS }));
    await killing;
    expect(result.status).toBe('SUCCEEDED');
    expect(terminated).toBeGreaterThanOrEqual(2); // the waiting batch and the blocker, plus idle pooled sessions
    // The Backfill task failed once (the terminated batch) and its Step Functions Retry resumed.
    // The Lambda failures of the run: first the Backfill invocation whose batch was terminated (retried by Step Functions).
    const terminatedBatch = history.filter((e) => e.type === 'LambdaFunctionFailed');
    expect(terminatedBatch.length).toBeGreaterThanOrEqual(1);
    expect(new Set(terminatedBatch.map((e) => e.lambdaFunctionFailedEventDetails?.error))).toEqual(new Set(['DatabaseError']));
    expect(terminatedBatch[0]!.lambdaFunctionFailedEventDetails?.cause).toMatch(/terminating connection due to administrator command; SQLState: 57P01[\s\S]*runBatches/);
    expect(report.backfill.rows).toBe(ROWS);
    expect(report.verify.mismatches).toBe(0);
    expect(await progress(db)).toMatchObject({ rows_done: ROWS, rows_updated: ROWS, batches: ROWS / BATCH });
    expect(await wrongRowsAfterContract(db)).toBe(0);
  });

  it('the emulator recovers when its pooled sessions were all terminated between two statements', async () => {
    // Idle pooled sessions killed: the next calls must get fresh sessions, not "Connection terminated".
    await db.executor.query('SELECT 1 AS one');
    await db.pg.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`);
    await waitFor(async () => {
      const left = await db.pg.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`);
      return left.rows[0].n === 0;
    });
    for (let i = 0; i < 5; i += 1) {
      const r = await db.executor.query<{ n: number }>('SELECT count(*)::int AS n FROM "Product"');
      expect(r.rows[0]!.n).toBe(ROWS);
    }
  });
});

describe('Postgres really restarted mid-backfill (a server of its own: fast shutdown, then started again)', () => {
  let server: PostgresProcess;
  let db: TestDatabase;
  let proxy: Proxy | undefined;
  let blocker: pg.Client | undefined;
  beforeAll(async () => {
    server = await startPostgresProcess();
  });
  afterAll(async () => server.stop());
  beforeEach(async () => {
    db = await createTestDatabase('real_restart', {}, server.url);
    await seedProducts(db, ROWS);
  });
  afterEach(async () => {
    await proxy?.close();
    await blocker?.end().catch(() => undefined);
    await db.close();
  });

  it('the batch in flight dies with the server, the retried Backfill task resumes from the cursor once it is back: every row right, no batch skipped or repeated', async () => {
    // As above, batch 4 waits on a row a direct session locked; then the server itself restarts (pg_ctl's fast
    // shutdown: every session terminated, the postmaster gone, the port closed) and starts again on the same data.
    // Calls made while it restarts wait at the proxy until it accepts connections again.
    const lockedId = 3 * BATCH + 10;
    let armed = false;
    let restarting: Promise<void> | undefined;
    let inRestart = false;
    let batchCalls = 0;
    proxy = await startProxy(db.emulator.url, async (sql) => {
      if (inRestart) await restarting;
      if (sql !== undefined && BATCH_SQL.test(sql)) batchCalls += 1;
      if (armed || sql === undefined || !BATCH_SQL.test(sql)) return;
      armed = true;
      blocker = await lockRow(db, lockedId);
      restarting = (async () => {
        await waitFor(() => batchWaitsOnLock(db));
        inRestart = true;
        await server.restart();
        inRestart = false;
      })();
    });

    const { result, report, history } = await runOnDatabase({ ...db, env: { ...db.env, AWS_ENDPOINT_URL_RDS_DATA: proxy.url } }, runbookSpec({ lockTimeoutMs: WAIT_ON_LOCK_MS }));
    await restarting;
    expect(result.status).toBe('SUCCEEDED');
    // The terminated batch was sent again: 12 batches of 250 and the empty one that ends the table, plus at least one.
    // Which layer resent it depends on how the connection died: a 57P01 answer fails the Lambda and Step Functions
    // retries the task; a connection closed before the answer is a transient error the executor retries itself.
    expect(batchCalls).toBeGreaterThanOrEqual(ROWS / BATCH + 2);
    const failures = history.filter((e) => e.type === 'LambdaFunctionFailed').map((e) => e.lambdaFunctionFailedEventDetails);
    for (const f of failures) expect(f).toMatchObject({ error: 'DatabaseError', cause: expect.stringMatching(/(57P01|terminat|connect)/i) });
    expect(report.backfill.rows).toBe(ROWS);
    expect(report.verify.mismatches).toBe(0);
    expect(await progress(db)).toMatchObject({ rows_done: ROWS, rows_updated: ROWS, batches: ROWS / BATCH });
    expect(await wrongRowsAfterContract(db)).toBe(0);
  });
});

describe('a Lambda timing out mid-backfill (handler killed after committing batches, before returning)', () => {
  let db: TestDatabase;
  beforeEach(async () => {
    db = await createTestDatabase('lambda_timeout');
    await seedProducts(db, ROWS);
  });
  afterEach(async () => db.close());

  /** Lambda's error when the function runs past its timeout: the runtime is frozen, nothing after that point runs. */
  class LambdaTimedOut extends Error {
    override name = 'Sandbox.Timedout';
  }

  /** An executor that lets `batches` backfill batches through, then "freezes" the handler at the next one. */
  function killedAfter(inner: Executor, batches: number): Executor & { readonly killed: boolean } {
    let seen = 0;
    let killed = false;
    const wrapper = {
      get killed() {
        return killed;
      },
      query: (sql: string, params?: never) => {
        if (BATCH_SQL.test(sql) && ++seen > batches) {
          killed = true;
          return Promise.reject(new LambdaTimedOut('Task timed out after 55.00 seconds'));
        }
        return inner.query(sql, params);
      },
      transaction: inner.transaction.bind(inner),
    };
    return wrapper as Executor & { readonly killed: boolean };
  }

  it('the next invocation resumes from the state-table cursor: every row right, no batch skipped or repeated', async () => {
    const spec = runbookSpec();
    const killer = killedAfter(db.executor, 5);
    const dying = new PhaseDriver(killer, spec);
    await dying.run(Phase.Preflight);
    await dying.run(Phase.Backup);
    await dying.run(Phase.Expand);
    await expect(dying.run(Phase.Backfill)).rejects.toThrow(/timed out/);
    expect(killer.killed).toBe(true);
    // Five batches committed with their cursor; the sixth never reached the database.
    expect(await progress(db)).toMatchObject({ cursor: String(5 * BATCH), rows_done: 5 * BATCH, batches: 5 });
    const filled = await db.pg.query(`SELECT count(new_price_cents)::int AS n, max(id) FILTER (WHERE new_price_cents IS NOT NULL) AS last FROM "Product"`);
    expect(filled.rows[0]).toEqual({ n: 5 * BATCH, last: String(5 * BATCH) });

    // The retry (Step Functions Retry, a redrive or a new execution) sends the same event: the slot has no cursor.
    const retry = new PhaseDriver(db.executor, spec);
    retry.state = { ...dying.state };
    const done = await retry.backfill();
    expect(done.done).toBe(true);
    expect(await progress(db)).toMatchObject({ rows_done: ROWS, rows_updated: ROWS, batches: ROWS / BATCH });
    expect((await retry.verify()).mismatches).toBe(0);
    await retry.run(Phase.Constrain);
    await retry.run(Phase.Contract);
    expect(await wrongRowsAfterContract(db)).toBe(0);
  });

  it('an emulator fault holding then resetting the call after real batches: the handler retries it and the cursor holds', async () => {
    // The Data API call is cut off mid-flight (the statement never ran); the next attempt continues from the cursor.
    const driver = new PhaseDriver(db.executor, runbookSpec());
    await driver.run(Phase.Preflight);
    await driver.run(Phase.Backup);
    await driver.run(Phase.Expand);
    let seen = 0;
    const original = db.emulator.faults.take.bind(db.emulator.faults);
    db.emulator.faults.take = (operation, sql) => {
      if (sql !== undefined && BATCH_SQL.test(sql) && ++seen === 4) {
        db.emulator.faults.inject({ sqlMatch: BATCH_SQL, times: 1, error: 'ConnectionReset', delayMs: 50 });
      }
      return original(operation, sql);
    };
    const done = await driver.backfill();
    expect(done.done).toBe(true);
    expect(db.emulator.faults.pending()).toBe(0);
    expect(await progress(db)).toMatchObject({ rows_done: ROWS, rows_updated: ROWS, batches: ROWS / BATCH });
    expect((await driver.verify()).mismatches).toBe(0);
  });
});

describe('a Lambda timing out mid-backfill, in the whole workflow', () => {
  let db: TestDatabase;
  beforeEach(async () => {
    db = await createTestDatabase('lambda_timeout_sfn');
    await seedProducts(db, ROWS);
  });
  afterEach(async () => db.close());

  it('a Backfill Lambda killed at its timeout is retried and resumes from the cursor: every row right, none repeated', async () => {
    // The first Backfill invocation commits 5 batches, then is "frozen" at the 6th call (which never reaches Postgres,
    // like a call cut off by the sandbox) and Step Functions receives Lambda's timeout error. Phase tasks retry
    // Sandbox.Timedout, so the next invocation continues from the cursor in the state table.
    let invocations = 0;
    const wrapLambdas = (bundled: Readonly<Record<string, LambdaHandler>>) => {
      const real = bundled[Phase.Backfill]!;
      const backfill: LambdaHandler = async (event, context) => {
        if (++invocations > 1) return real(event, context);
        const killed = new Promise<void>((resolve) => (kill = resolve));
        const running = Promise.resolve(real(event, context));
        running.catch(() => undefined); // the frozen handler's own end is never seen by Step Functions
        await Promise.race([running, killed]);
        kill = undefined;
        committedAtKill = await progress(db);
        throw Object.assign(new Error('Task timed out after 55.00 seconds'), { name: 'Sandbox.Timedout' });
      };
      return { ...bundled, [Phase.Backfill]: backfill };
    };
    const take = db.emulator.faults.take.bind(db.emulator.faults);
    let batches = 0;
    let committedAtKill: Awaited<ReturnType<typeof progress>> | undefined;
    let kill: (() => void) | undefined;
    db.emulator.faults.take = (operation, sql): FaultRule | undefined => {
      if (kill && sql !== undefined && BATCH_SQL.test(sql) && ++batches === 6) {
        kill();
        return { times: 1, error: 'StatementTimeoutException' };
      }
      return take(operation, sql);
    };
    try {
      const { result, history } = await runOnDatabase(db, runbookSpec(), undefined, { wrapLambdas });
      expect(committedAtKill).toMatchObject({ cursor: String(5 * BATCH), rows_done: 5 * BATCH, batches: 5 });
      const failures = history.filter((e) => e.type === 'LambdaFunctionFailed').map((e) => e.lambdaFunctionFailedEventDetails?.error);
      expect(failures).toEqual(['Sandbox.Timedout']);
      expect(invocations).toBeGreaterThanOrEqual(2);
      expect(result.status).toBe('SUCCEEDED');
      const state = await db.pg.query(`SELECT rows_done::int AS rows, batches::int AS batches FROM _stepwise.migrations`);
      expect(state.rows[0].rows).toBe(ROWS);
      const wrong = await db.pg.query(
        `SELECT count(*)::int AS n FROM "Product" p JOIN _stepwise."_stepwise_product-price-cents_backup" b USING (id) WHERE p.price_cents IS DISTINCT FROM round(b.price * 100)::int`,
      );
      expect(wrong.rows[0].n).toBe(0);
      await tableMustBeCleanedUp(db.pg, 'Product');
    } finally {
      db.emulator.faults.take = take;
    }
  });
});
