import { createHash } from 'node:crypto';
import type { Executor, SqlParams } from '../db/executor';
import { isStatementTimeout } from '../db/map-data-api-error';
import { StatementRunningError } from '../errors';
import { realSleep, type PhaseDeps } from './phase-context';

/**
 * Statements that can outlast one Data API call (45 s) and one Lambda invocation: CREATE INDEX CONCURRENTLY,
 * VALIDATE CONSTRAINT and the backup copy scan the whole table. They are sent with `continueAfterTimeout` and a tag
 * comment at the start of their text, so that Postgres shows them in pg_stat_activity under a name that this and any
 * later invocation can find:
 *
 *   1. before a phase with long statements runs anything, a tagged statement of the migration still running (sent by
 *      an earlier invocation) is waited for, never sent again: a second CREATE INDEX CONCURRENTLY, or the step's DROP
 *      of the "invalid" index being built, would throw away hours of work, and the phase's earlier (idempotent) steps
 *      would queue their ALTER TABLE behind it;
 *   2. the statement is sent; if the call hits the Data API limit, the statement runs on and is watched the same way;
 *   3. when this invocation's time is up and the statement still runs, `StatementRunningError` (SW_STATEMENT_RUNNING)
 *      ends it; the state machine retries the phase (`LONG_STATEMENT_RETRY`), which waits again (1.).
 *
 * Whether the statement succeeded is the step's `check` (the index is valid, the constraint validated): a statement
 * watched after a timeout has no result of its own. Rollback cancels the migration's tagged statements first.
 */

/** Pause between two looks at pg_stat_activity while a long statement runs. */
export const LONG_STATEMENT_POLL_MS = 2_000;
/**
 * Longest a phase invocation watches a long statement (from its start). Under the phase Lambda's timeout
 * (`PHASE_TIMEOUT`, 120 s) with room for one more 45 s Data API call after the watch (a long statement sent once an
 * earlier one has ended): 60 + 45 + the margin < 120.
 */
export const DEFAULT_PHASE_BUDGET_MS = 60_000;
/** Time a phase keeps for itself after it stops watching (the answer, the error, the Lambda's own margin). */
export const LONG_STATEMENT_MARGIN_MS = 5_000;

/** Where a phase's own time ends, and how it waits. */
export interface LongStatementClock {
  /** Stop watching at this time (ms since the epoch) and raise SW_STATEMENT_RUNNING. */
  readonly deadline: number;
  readonly now: () => number;
  readonly sleep: (ms: number) => Promise<void>;
}

/** A long statement of one migration, as pg_stat_activity shows it. */
export interface RunningStatement {
  readonly pid: number;
  readonly seconds: number;
  /** What it waits for, e.g. `Lock/virtualxid` (a CREATE INDEX CONCURRENTLY waiting for old transactions); null: running. */
  readonly waiting: string | null;
  /** The sessions blocking it (pg_blocking_pids). */
  readonly blockedBy: readonly number[];
  /** CREATE INDEX progress, when Postgres reports it: `phase` and the share of blocks done (0–100). */
  readonly progress: string | null;
}

/** Hex digest naming the migration in tags (the spec name never goes into SQL text). @internal */
function migrationDigest(migration: string): string {
  return createHash('sha256').update(migration).digest('hex').slice(0, 16);
}

/**
 * The tag comment of one step's long statements: `stepwise/<digest of the migration>/<step id>`. Step ids are
 * Stepwise's own constants (`expand.index`), never user input. No `:` in it: the Data API reads `:name` as a parameter.
 */
export function longStatementTag(migration: string, stepId: string): string {
  if (!/^[a-z0-9.-]+$/.test(stepId)) throw new Error(`step id ${stepId} cannot go into a tag`);
  return `${migrationTagPrefix(migration)}${stepId}`;
}

/** The start of every tag of one migration's long statements. */
export function migrationTagPrefix(migration: string): string {
  return `stepwise/${migrationDigest(migration)}/`;
}

/** The statement text as sent: the tag comment first, where pg_stat_activity's truncated `query` keeps it. */
export function taggedSql(tag: string, sql: string): string {
  return `/* ${tag} */ ${sql}`;
}

/** Active sessions of this database (not this one) whose statement text starts with `:prefix` (`:len` characters). */
const TAGGED_WHERE = "a.datname = current_database() AND a.pid <> pg_backend_pid() AND a.state = 'active' AND left(a.query, (:len)::int) = :prefix";

const RUNNING_SQL = [
  'SELECT a.pid, round(extract(epoch FROM now() - a.query_start)::numeric, 1)::float8 AS seconds,',
  "  a.wait_event_type || '/' || a.wait_event AS waiting, array_to_json(pg_blocking_pids(a.pid))::text AS blocked_by,",
  "  CASE WHEN p.pid IS NULL THEN NULL ELSE p.phase || CASE WHEN p.blocks_total > 0 THEN ' ' || round(100.0 * p.blocks_done / p.blocks_total) || ' %' ELSE '' END END AS progress",
  'FROM pg_stat_activity a LEFT JOIN pg_stat_progress_create_index p ON p.pid = a.pid',
  `WHERE ${TAGGED_WHERE}`,
  'ORDER BY a.query_start',
].join('\n');

/** Parameters of `TAGGED_WHERE` for statements whose text starts with `start`. */
function startsWith(start: string): { prefix: string; len: number } {
  return { prefix: start, len: start.length };
}

/** The tag preflight sends to check that tags reach pg_stat_activity as sent. */
export const PROBE_TAG = 'stepwise/preflight/probe';

/**
 * Whether a tagged statement shows in pg_stat_activity with its tag first, as sent: the whole watching rests on it.
 * The probe reads its own row (every role sees its own sessions).
 */
export async function tagsVisible(db: Executor): Promise<boolean> {
  const { rows } = await db.query<{ ok: boolean }>(
    taggedSql(PROBE_TAG, 'SELECT left(query, (:len)::int) = :prefix AS ok FROM pg_stat_activity WHERE pid = pg_backend_pid()'),
    startsWith(`/* ${PROBE_TAG} */`),
  );
  return rows[0]?.ok === true;
}

/** Tagged statements running now whose tag starts with `tagPrefix` (one step's tag, or a migration's). */
export async function runningTagged(db: Executor, tagPrefix: string): Promise<RunningStatement[]> {
  const { rows } = await db.query(RUNNING_SQL, startsWith(`/* ${tagPrefix}`));
  return rows.map((r) => ({
    pid: Number(r.pid),
    seconds: Number(r.seconds ?? 0),
    waiting: r.waiting === null ? null : String(r.waiting),
    blockedBy: (JSON.parse(String(r.blocked_by ?? '[]')) as number[]).map(Number),
    progress: r.progress === null ? null : String(r.progress),
  }));
}

/**
 * Waits until no statement tagged `tag` runs; `StatementRunningError` when `clock.deadline` comes first.
 * @returns whether there was one to wait for.
 */
export async function waitForTagged(db: Executor, tag: string, clock: LongStatementClock, what: string): Promise<boolean> {
  let waited = false;
  for (;;) {
    const running = await runningTagged(db, tag);
    if (running.length === 0) return waited;
    waited = true;
    const first = running[0]!;
    if (clock.now() + LONG_STATEMENT_POLL_MS >= clock.deadline) {
      const waits = first.waiting ? `, waiting for ${first.waiting}${first.blockedBy.length ? ` held by pid ${first.blockedBy.join(', ')}` : ''}` : '';
      throw new StatementRunningError(
        `${what} is still running (pid ${first.pid}, ${Math.round(first.seconds)} s${first.progress ? `, ${first.progress}` : ''}${waits})`,
        { tag, pid: first.pid, seconds: first.seconds, progress: first.progress, waiting: first.waiting, blockedBy: first.blockedBy },
      );
    }
    await clock.sleep(LONG_STATEMENT_POLL_MS);
  }
}

/**
 * Sends one long statement (after any earlier attempt of it has ended) and returns once it has ended on the database.
 * A call that passes the Data API limit is not an error: the statement runs on and is waited for.
 * @returns `sent` when this call's statement finished within the call, `watched` when it had to be waited for.
 */
export async function runLongStatement(
  db: Executor,
  statement: { readonly sql: string; readonly params?: SqlParams | undefined },
  tag: string,
  clock: LongStatementClock,
  what: string,
): Promise<'sent' | 'watched'> {
  try {
    await db.query(taggedSql(tag, statement.sql), statement.params, { continueAfterTimeout: true });
    return 'sent';
  } catch (err) {
    if (!isStatementTimeout(err)) throw err;
  }
  await waitForTagged(db, tag, clock, what);
  return 'watched';
}

/**
 * Cancels every long statement of `migration` still running, in one statement (a pid read first and cancelled later
 * could by then be a pooled session running something else), then waits until they are gone. Returns their pids.
 */
export async function cancelLongStatements(db: Executor, migration: string, clock: LongStatementClock): Promise<number[]> {
  const { rows } = await db.query(
    `SELECT a.pid, pg_cancel_backend(a.pid) AS cancelled FROM pg_stat_activity a WHERE ${TAGGED_WHERE}`,
    startsWith(`/* ${migrationTagPrefix(migration)}`),
  );
  if (rows.length) await waitForTagged(db, migrationTagPrefix(migration), clock, 'a cancelled long statement of this migration');
  return rows.map((r) => Number(r.pid));
}

/** The clock of a phase: its deadline (or `DEFAULT_PHASE_BUDGET_MS` from now), `now` and `sleep` from its deps. */
export function longStatementClock(deps: Pick<PhaseDeps, 'now' | 'sleep' | 'deadline'>): LongStatementClock {
  const now = deps.now ?? Date.now;
  return { deadline: deps.deadline ?? now() + DEFAULT_PHASE_BUDGET_MS, now, sleep: deps.sleep ?? realSleep };
}
