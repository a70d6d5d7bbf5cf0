import type { Executor } from '../db/executor';
import { LockTimeoutError, StepCheckFailedError, StepwiseError } from '../errors';
import type { Plan, Query, Statement, Step } from '../operations/plan';
import { longStatementTag, migrationTagPrefix, runLongStatement, waitForTagged, type LongStatementClock } from './long-statement';

/** Long statements (`Statement.long`): the migration that tags them and the phase's clock. */
export interface LongStatements {
  readonly migration: string;
  readonly clock: LongStatementClock;
}

/** How a plan's transactions retry. */
export interface PlanOptions {
  /** Lock-timeout retries of each transactional step. @default the executor's (DEFAULT_LOCK_RETRIES) */
  readonly lockRetries?: number;
}

/** Runs a phase's plan in order; returns the ids of the steps run. Each step is idempotent, so a retry is safe. */
export async function executePlan(db: Executor, plan: Plan, lockTimeoutMs: number, long?: LongStatements, options: PlanOptions = {}): Promise<string[]> {
  // An earlier invocation's long statement may still run: wait for it before anything is sent. Even the idempotent
  // steps before it would otherwise queue an ALTER TABLE (ACCESS EXCLUSIVE) behind it, and its own step would drop
  // the index it is building.
  if (long && plan.some((step) => step.statements.some((s) => s.long))) {
    await waitForTagged(db, migrationTagPrefix(long.migration), long.clock, 'a long statement of this migration');
  }
  const done: string[] = [];
  for (const step of plan) {
    if (step.transactional) {
      await db.transaction(async (tx) => runStatements(tx, step), { lockTimeoutMs, ...(options.lockRetries === undefined ? {} : { retries: options.lockRetries }) }).catch(async (err: unknown) => {
        throw err instanceof LockTimeoutError ? await withBlockers(db, step, err) : err;
      });
    } else {
      await runStatements(db, step, long);
    }
    await runCheck(db, step);
    done.push(step.id);
  }
  return done;
}

async function runStatements(db: Executor, step: Step, long?: LongStatements): Promise<void> {
  const hasLong = step.statements.some((s) => s.long);
  if (hasLong && (step.transactional || !long)) {
    throw new StepwiseError('SW_INTERNAL', `step ${step.id} has a long statement but runs ${step.transactional ? 'in a transaction' : 'without a clock'}`, 'A long statement runs alone in autocommit, with the phase\'s clock.');
  }
  const tag = hasLong && long ? longStatementTag(long.migration, step.id) : undefined;
  if (step.transactional) {
    // Every guard is read first (catalog reads, no lock on the table), so the locks the statements take are held for
    // the statements' round trips only: a guard must not depend on an earlier statement of its step.
    const skip: boolean[] = [];
    for (const statement of step.statements) skip.push(await shouldSkip(db, statement));
    for (const query of inOneCall(step.statements.filter((_, i) => !skip[i]))) await db.query(query.sql, query.params);
    return;
  }
  for (const statement of step.statements) {
    if (await shouldSkip(db, statement)) continue;
    if (statement.long && tag && long) await runLongStatement(db, statement, tag, long.clock, `step ${step.id}`);
    else await db.query(statement.sql, statement.params);
  }
}

/** The dollar-quote tag of the block {@link inOneCall} builds; a statement containing it is sent on its own. */
const STEP_TAG = '$stepwise_step$';

/**
 * The statements of a transactional step as few Data API calls as possible: several statements without parameters
 * become one `DO` block (one statement for the Data API, the same transaction, the same SQLSTATEs), so the locks the
 * first of them takes are held for one round trip and the commit instead of one per statement. @internal
 */
export function inOneCall(statements: readonly Statement[]): Query[] {
  const plain = statements.every((s) => (s.params === undefined || Object.keys(s.params).length === 0) && !s.sql.includes(STEP_TAG));
  if (statements.length < 2 || !plain) return statements.map((s) => ({ sql: s.sql, ...(s.params ? { params: s.params } : {}) }));
  return [{ sql: [`DO ${STEP_TAG}`, 'BEGIN', ...statements.map((s) => `  ${s.sql};`), 'END', STEP_TAG].join('\n') }];
}

async function shouldSkip(db: Executor, statement: Statement): Promise<boolean> {
  if (!statement.skipWhen) return false;
  const row = (await db.query<{ skip: boolean }>(statement.skipWhen.sql, statement.skipWhen.params)).rows[0];
  return row?.skip === true;
}

async function runCheck(db: Executor, step: Step): Promise<void> {
  if (!step.check) return;
  const row = (await db.query<{ ok: boolean }>(step.check.sql, step.check.params)).rows[0];
  if (row?.ok !== true) {
    throw new StepCheckFailedError(step.check.failure, step.check.hint, { step: step.id });
  }
}

/** A session holding a lock on a table a step needs: what `LockTimeoutError` names when the retries are spent. */
export interface LockHolder {
  readonly pid: number;
  /** pg_stat_activity.state: `idle in transaction`, `active`, ... */
  readonly state: string | null;
  /** Seconds since the session's transaction (or, outside one, its query) started. */
  readonly ageSeconds: number | null;
  /** The lock mode held, e.g. `AccessShareLock`. */
  readonly mode: string;
  readonly relation: string;
  /** The session's current or last query (first 200 characters). */
  readonly query: string | null;
}

/** `"schema"."table"` references in a step's SQL: the relations whose lock it may wait for. @internal */
export function relationsOf(step: Step): string[] {
  const found = new Set<string>();
  for (const statement of step.statements) {
    for (const m of statement.sql.matchAll(/"(?:[^"]|"")+"\."(?:[^"]|"")+"/g)) found.add(m[0]);
  }
  return [...found];
}

/**
 * The sessions that hold locks on the step's tables, read from pg_locks and pg_stat_activity once the lock timeout
 * retries are spent, so the failure says whom to wait for or end. Best effort: if this query fails, the original
 * error is kept.
 */
export async function lockHolders(db: Executor, relations: readonly string[]): Promise<LockHolder[]> {
  if (relations.length === 0) return [];
  const { rows } = await db.query(
    [
      'SELECT l.pid, a.state, l.mode, l.relation::regclass::text AS relation, left(a.query, 200) AS query,',
      '  round(extract(epoch FROM now() - coalesce(a.xact_start, a.query_start))::numeric, 1)::float8 AS age_seconds',
      'FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid',
      "WHERE l.locktype = 'relation' AND l.granted AND l.pid <> pg_backend_pid()",
      '  AND l.relation IN (SELECT to_regclass(r) FROM json_array_elements_text(:relations::json) r)',
      'ORDER BY a.xact_start NULLS LAST, l.pid',
    ].join('\n'),
    { relations: JSON.stringify(relations) },
  );
  return rows.map((r) => ({
    pid: Number(r.pid),
    state: r.state === null ? null : String(r.state),
    ageSeconds: r.age_seconds === null ? null : Number(r.age_seconds),
    mode: String(r.mode),
    relation: String(r.relation),
    query: r.query === null ? null : String(r.query),
  }));
}

async function withBlockers(db: Executor, step: Step, err: LockTimeoutError): Promise<LockTimeoutError> {
  const holders = await lockHolders(db, relationsOf(step)).catch(() => undefined);
  if (holders === undefined) return err;
  const named = holders.length
    ? holders.map((h) => `pid ${h.pid} (${h.state ?? 'unknown state'}, ${h.ageSeconds ?? '?'} s, ${h.mode} on ${h.relation}): ${h.query ?? ''}`).join('; ')
    : 'no session holds a lock on the table any more (the blocker has ended; retrying will likely succeed)';
  return new LockTimeoutError(`Step ${step.id}: ${err.message}. Blocking sessions: ${named}`, { ...err.details, step: step.id, blockers: holders }, { cause: err });
}
