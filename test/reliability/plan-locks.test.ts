/**
 * Every transactional plan step names the lock it really takes: each step runs through the real executor (Data API
 * emulator → Postgres) and, after each of its statements, its own session's locks on the table are read from
 * pg_locks; the strongest one held must be the step's declared `lock`, on the first run and on a re-run (a retried
 * phase finds its own objects: `DROP TRIGGER` takes ACCESS EXCLUSIVE). Every transaction also carries its own
 * idle_in_transaction_session_timeout and lock_timeout, and sends the statements that lock the table in one call.
 *
 * Steps that run in autocommit (CREATE INDEX CONCURRENTLY, VALIDATE CONSTRAINT, DROP INDEX CONCURRENTLY) release their
 * locks with the statement: each is run queued behind a session holding a conflicting lock, and the mode it requests
 * is read from pg_locks while it waits.
 */
import { Phase } from '../../lib/constants';
import { TRANSACTION_IDLE_TIMEOUT_MS } from '../../lib/db/data-api-executor';
import type { Executor, SqlParams } from '../../lib/db/executor';
import type { LockLevel, Plan } from '../../lib/operations/plan';
import { executePlan } from '../../lib/phases/execute-plan';
import { longStatementClock } from '../../lib/phases/long-statement';
import { loadPhaseContext } from '../../lib/phases/phase-context';
import { parseSpec } from '../../lib/spec';
import type { PhaseEvent } from '../../lib/workflow/state';
import { PhaseDriver } from '../harness/run-phases';
import { runbookSpec, seedProducts } from '../e2e/e2e-helpers';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database';

jest.setTimeout(120_000);

const RANK: Record<string, number> = {
  none: 0,
  AccessShareLock: 1,
  RowShareLock: 2,
  RowExclusiveLock: 3,
  ShareUpdateExclusiveLock: 4,
  ShareLock: 5,
  ShareRowExclusiveLock: 6,
  ExclusiveLock: 7,
  AccessExclusiveLock: 8,
};
const LEVEL: Record<LockLevel, string> = {
  none: 'none',
  'ACCESS SHARE': 'AccessShareLock',
  'ROW EXCLUSIVE': 'RowExclusiveLock',
  'SHARE UPDATE EXCLUSIVE': 'ShareUpdateExclusiveLock',
  'SHARE ROW EXCLUSIVE': 'ShareRowExclusiveLock',
  'ACCESS EXCLUSIVE': 'AccessExclusiveLock',
};

interface Observed {
  strongest: string;
  /** Statements sent while the transaction already held a lock on the table (each one a round trip under it). */
  underLock: number;
  idleTimeout: string;
  lockTimeout: string;
}

/** An executor that reads, inside each transaction and after each statement, the locks its session holds on the table. */
function observing(db: Executor, seen: Observed[]): Executor {
  const look = async (tx: Executor, into: Observed) => {
    const { rows } = await tx.query(
      `SELECT coalesce((SELECT string_agg(mode, ',') FROM pg_locks WHERE pid = pg_backend_pid() AND locktype = 'relation' AND granted
                          AND relation = '"public"."Product"'::regclass), '') AS modes,
              current_setting('idle_in_transaction_session_timeout') AS idle, current_setting('lock_timeout') AS lock`,
    );
    const row = rows[0]!;
    for (const mode of String(row.modes).split(',').filter(Boolean)) if (RANK[mode]! > RANK[into.strongest]!) into.strongest = mode;
    into.idleTimeout = String(row.idle);
    into.lockTimeout = String(row.lock);
  };
  return {
    query: (sql, params, options) => db.query(sql, params, options),
    transaction: (fn, options) =>
      db.transaction(async (tx) => {
        const into: Observed = { strongest: 'none', underLock: 0, idleTimeout: '', lockTimeout: '' };
        seen.push(into);
        return fn({
          query: async (sql: string, params?: SqlParams) => {
            if (into.strongest !== 'none') into.underLock += 1;
            const result = await tx.query(sql, params);
            await look(tx, into);
            return result;
          },
          transaction: tx.transaction,
        } as Executor);
      }, options),
  };
}

describe('plan steps and the locks they take', () => {
  let db: TestDatabase;
  beforeEach(async () => {
    db = await createTestDatabase('plan_locks');
    await seedProducts(db, 500);
  });
  afterEach(async () => db.close());

  const spec = parseSpec(runbookSpec());
  const planOf = async (phase: 'expand' | 'constrain' | 'contract' | 'rollback'): Promise<Plan> => {
    const { operation, ctx } = await loadPhaseContext({ state: { spec }, slot: phase } as unknown as PhaseEvent, db.executor);
    return operation[phase](ctx as never);
  };

  /** Runs the phase's plan twice (first run, then a retry that finds its work done) and compares each step. */
  async function check(phase: 'expand' | 'constrain' | 'contract' | 'rollback'): Promise<Record<string, string[]>> {
    const byStep: Record<string, string[]> = {};
    for (let run = 0; run < 2; run += 1) {
      const plan = await planOf(phase);
      const seen: Observed[] = [];
      await executePlan(observing(db.executor, seen), plan, spec.lockTimeoutMs, { migration: spec.name, clock: longStatementClock({}) });
      const transactional = plan.filter((s) => s.transactional);
      expect(seen).toHaveLength(transactional.length);
      transactional.forEach((step, i) => {
        const observed = seen[i]!;
        expect({ step: step.id, atMost: RANK[observed.strongest]! <= RANK[LEVEL[step.lock]]! }).toEqual({ step: step.id, atMost: true });
        // The statements that take the lock go in one call: nothing but the commit follows it.
        expect({ step: step.id, underLock: observed.underLock }).toEqual({ step: step.id, underLock: 0 });
        expect(observed.idleTimeout).toBe(`${TRANSACTION_IDLE_TIMEOUT_MS / 1000}s`);
        expect(observed.lockTimeout).toBe(`${spec.lockTimeoutMs}ms`);
        (byStep[step.id] ??= []).push(observed.strongest);
      });
    }
    // The declared lock is the one some run really took (not a weaker one, nor a needlessly stronger one).
    for (const [id, modes] of Object.entries(byStep)) {
      const plan = await planOf(phase);
      const declared = plan.find((s) => s.id === id)?.lock;
      if (declared) expect({ id, strongest: modes.reduce((a, b) => (RANK[a]! >= RANK[b]! ? a : b)) }).toEqual({ id, strongest: LEVEL[declared] });
    }
    return byStep;
  }

  it('expand, constrain and contract: each step holds exactly the lock it declares', async () => {
    const d = new PhaseDriver(db.executor, spec);
    await d.run(Phase.Preflight);
    await d.run(Phase.Backup);
    const expand = await check('expand');
    // The first run creates the triggers (SHARE ROW EXCLUSIVE); the re-run drops and recreates them (ACCESS EXCLUSIVE).
    expect(expand['dual-write.sync-trigger']).toEqual(['ShareRowExclusiveLock', 'AccessExclusiveLock']);
    await d.backfill();
    await d.verify();
    await check('constrain');
    await check('contract');
  });

  /**
   * Runs the phase's plan; each autocommit step runs behind a session holding SHARE UPDATE EXCLUSIVE (which conflicts
   * with itself and everything stronger), so the lock the step's statement requests shows in pg_locks, not granted,
   * until the holder commits. Returns the mode each autocommit step requested.
   */
  async function requestedByAutocommitSteps(phase: 'expand' | 'constrain' | 'rollback'): Promise<Record<string, string>> {
    const requested: Record<string, string> = {};
    const long = { migration: spec.name, clock: longStatementClock({}) };
    for (const step of await planOf(phase)) {
      if (step.transactional) {
        await executePlan(db.executor, [step], spec.lockTimeoutMs, long);
        continue;
      }
      const holder = await db.pg.connect();
      try {
        await holder.query('BEGIN');
        await holder.query(`LOCK TABLE "Product" IN SHARE UPDATE EXCLUSIVE MODE`);
        const running = executePlan(db.executor, [step], spec.lockTimeoutMs, long);
        let mode: string | undefined;
        // A condition, not a clock: the step's statement is queued behind the holder until it commits.
        while (mode === undefined) {
          const { rows } = await db.pg.query(`SELECT l.mode FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
              WHERE l.relation = '"public"."Product"'::regclass AND NOT l.granted AND a.backend_type = 'client backend'`);
          mode = rows[0]?.mode;
          if (mode === undefined) await new Promise((r) => setTimeout(r, 20));
        }
        requested[step.id] = mode;
        await holder.query('COMMIT');
        await running;
      } finally {
        holder.release();
      }
    }
    return requested;
  }

  it('autocommit steps (CONCURRENTLY, VALIDATE) request exactly the lock they declare', async () => {
    const d = new PhaseDriver(db.executor, spec);
    await d.run(Phase.Preflight);
    await d.run(Phase.Backup);
    const expand = await requestedByAutocommitSteps('expand');
    await d.backfill();
    await d.verify();
    const constrain = await requestedByAutocommitSteps('constrain');
    const rollback = await requestedByAutocommitSteps('rollback');
    const declared = async (phase: 'expand' | 'constrain', id: string) => LEVEL[(await planOf(phase)).find((s) => s.id === id)!.lock];
    expect(expand).toEqual({ 'expand.index': await declared('expand', 'expand.index') });
    expect(constrain).toEqual({ 'constrain.validate-check': await declared('constrain', 'constrain.validate-check') });
    // Rollback drops the index in its one catalog-only transaction (no autocommit step left to check here).
    expect(rollback).toEqual({});
    expect(Object.values({ ...expand, ...constrain, ...rollback })).toEqual(['ShareUpdateExclusiveLock', 'ShareUpdateExclusiveLock']);
  });

  it('rollback: each step holds exactly the lock it declares', async () => {
    const d = new PhaseDriver(db.executor, spec);
    await d.runThrough(Phase.Expand);
    await check('rollback');
  });
});
