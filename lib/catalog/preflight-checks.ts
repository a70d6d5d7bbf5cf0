import type { Executor } from '../db/executor';
import { PreflightError, StepwiseError } from '../errors';
import type { ExpressionFacts } from '../operations/convert-column';
import { STEPWISE_PREFIX } from '../constants';
import { STATE_SCHEMA } from '../operations/names';
import type { TableFacts } from '../operations/operation';
import type { Spec } from '../spec';
import { quoteIdent, quoteTable } from '../sql/quote';

/**
 * The catalog side of preflight: each `read…` gathers facts read-only, each `…Check` turns facts into one
 * `PreflightCheck` (pure, unit-tested). lib/phases/preflight.ts runs them in order.
 */

export type CheckStatus = 'pass' | 'warn' | 'fail';

/** One preflight check as the CLI, `plan --database-url` and the SNS message show it. */
export interface PreflightCheck {
  readonly name: string;
  readonly status: CheckStatus;
  readonly message: string;
  /** What to do about it (empty when it passed). */
  readonly hint: string;
  /** The error code a failure is raised with (docs/errors.md). */
  readonly code?: string;
}

/** Oldest server Stepwise supports: BEFORE row triggers on partitioned tables, `SET NOT NULL` proven by a CHECK. */
export const MIN_SERVER_VERSION = 130000;
/** A transaction open longer than this is a long-running session worth a warning. */
export const LONG_TRANSACTION_SECONDS = 60;

// ── server version ─────────────────────────────────────────────────────────────────────────────────────────────────

export async function readServerVersion(db: Executor): Promise<number> {
  const row = (await db.query<{ v: string }>(`SELECT current_setting('server_version_num') AS v`)).rows[0];
  return Number(row?.v ?? 0);
}

export function versionCheck(versionNum: number): PreflightCheck {
  const text = `${Math.floor(versionNum / 10000)}.${versionNum % 10000}`;
  if (versionNum >= MIN_SERVER_VERSION) return { name: 'postgres version', status: 'pass', message: `PostgreSQL ${text}`, hint: '' };
  return {
    name: 'postgres version',
    status: 'fail',
    code: 'SW_POSTGRES_VERSION',
    message: `PostgreSQL ${text} is older than 13, the oldest version Stepwise supports`,
    hint: 'Upgrade the cluster to PostgreSQL 13 or newer (Aurora PostgreSQL 13+), then run again.',
  };
}

// ── indexes and partitions ─────────────────────────────────────────────────────────────────────────────────────────

export interface IndexFacts {
  readonly partitioned: boolean;
  /** `schema.name` of the table and all its partitions: the relations `using` may read. */
  readonly relations: readonly string[];
  /** The relation named like the spec's index, in the table's schema, if any. */
  readonly named?: { readonly kind: string; readonly onTable: boolean; readonly valid: boolean; readonly columns: readonly string[] };
  /** Invalid indexes on the table (left by an interrupted CREATE INDEX CONCURRENTLY). */
  readonly invalid: readonly string[];
}

export async function readIndexFacts(db: Executor, spec: Spec): Promise<IndexFacts> {
  const table = quoteTable(spec.table);
  const rel = (
    await db.query<{ partitioned: boolean; invalid: string }>(
      `SELECT c.relkind = 'p' AS partitioned,
              (SELECT coalesce(json_agg(x.relname), '[]')::text FROM pg_index i JOIN pg_class x ON x.oid = i.indexrelid WHERE i.indrelid = c.oid AND NOT i.indisvalid) AS invalid
         FROM pg_class c WHERE c.oid = (:table)::regclass`,
      { table },
    )
  ).rows[0];
  // One row per relation, not one JSON list: the Data API refuses a result row over 64 KB (thousands of partitions).
  const relations = (
    await db.query<{ relation: string }>(
      `SELECT n.nspname || '.' || p.relname AS relation
         FROM pg_partition_tree((:table)::regclass) t JOIN pg_class p ON p.oid = t.relid JOIN pg_namespace n ON n.oid = p.relnamespace`,
      { table },
    )
  ).rows.map((r) => String(r.relation));
  const facts: IndexFacts = {
    partitioned: rel?.partitioned === true,
    relations,
    invalid: rel?.invalid ? (JSON.parse(rel.invalid) as string[]) : [],
  };
  const index = spec.operation.index?.name;
  if (!index) return facts;
  const named = (
    await db.query<{ kind: string; on_table: boolean; valid: boolean; columns: string }>(
      `SELECT c.relkind::text AS kind, coalesce(i.indrelid = (:table)::regclass, false) AS on_table, coalesce(i.indisvalid, false) AS valid,
              coalesce((SELECT json_agg(a.attname ORDER BY k.ord) FROM unnest(i.indkey) WITH ORDINALITY k(attnum, ord)
                          JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum), '[]')::text AS columns
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace LEFT JOIN pg_index i ON i.indexrelid = c.oid
        WHERE n.nspname = :schema AND c.relname = :index`,
      { table, schema: spec.table.schema, index },
    )
  ).rows[0];
  if (!named) return facts;
  return { ...facts, named: { kind: named.kind, onTable: named.on_table, valid: named.valid, columns: JSON.parse(named.columns) as string[] } };
}

/**
 * The spec's index name: free → pass; an invalid index on the new column left by an earlier try → warn (expand drops
 * and rebuilds it); the valid index of a run being resumed → pass; anything else with that name → fail.
 */
export function indexNameCheck(spec: Spec, _table: TableFacts | undefined, facts: IndexFacts, resuming: boolean): PreflightCheck {
  const index = spec.operation.index?.name;
  const name = 'index name';
  if (!index) return { name, status: 'pass', message: 'the spec creates no index', hint: '' };
  const where = `${spec.table.schema}.${index}`;
  const n = facts.named;
  if (!n) return { name, status: 'pass', message: `${where} is free`, hint: '' };
  const ours = n.kind === 'i' && n.onTable && n.columns.length === 1 && n.columns[0] === spec.operation.newColumn;
  if (ours && !n.valid) {
    return {
      name,
      status: 'warn',
      code: 'SW_INVALID_INDEX',
      message: `index ${where} exists and is INVALID (left by an interrupted CREATE INDEX CONCURRENTLY)`,
      hint: 'Nothing to do: expand drops it and builds it again.',
    };
  }
  if (ours && resuming) return { name, status: 'pass', message: `${where} was built by this migration's earlier run`, hint: '' };
  return {
    name,
    status: 'fail',
    code: 'SW_INDEX_NAME_TAKEN',
    message: `${where} already exists (${n.kind === 'i' ? `an index on ${n.onTable ? 'this table' : 'another table'}${n.columns.length ? ` (${n.columns.join(', ')})` : ''}` : `a relation of kind ${n.kind}`})`,
    hint: 'Choose another operation.index.name; Stepwise never drops an object it did not create.',
  };
}

export function invalidIndexesCheck(table: TableFacts, facts: IndexFacts, spec: Spec): PreflightCheck {
  const others = facts.invalid.filter((i) => i !== spec.operation.index?.name);
  if (others.length === 0) return { name: 'invalid indexes', status: 'pass', message: `no invalid index on ${table.schema}.${table.name}`, hint: '' };
  return {
    name: 'invalid indexes',
    status: 'warn',
    code: 'SW_INVALID_INDEX',
    message: `${table.schema}.${table.name} has invalid indexes: ${others.join(', ')} (every write still maintains them; no query uses them)`,
    hint: `Drop them (${others.map((i) => `DROP INDEX CONCURRENTLY ${quoteIdent(table.schema)}.${quoteIdent(i)};`).join(' ')}) or rebuild them with REINDEX INDEX CONCURRENTLY.`,
  };
}

/**
 * BEFORE row triggers fire in name order. A user trigger whose name sorts after Stepwise's sync trigger runs after it:
 * if it changes a column `using` reads, the new column was computed from the value before that change. Warned, not
 * refused: most such triggers touch other columns, and verification finds any row where the two disagree.
 */
export async function laterTriggersCheck(db: Executor, table: TableFacts, syncTrigger: string): Promise<PreflightCheck> {
  const rows = (
    await db.query<{ name: string }>(
      `SELECT tgname::text AS name FROM pg_trigger
        WHERE tgrelid = (:table)::regclass AND NOT tgisinternal AND (tgtype & 3) = 3 AND tgname::text COLLATE "C" > (:sync)::text COLLATE "C"
          AND left(tgname::text, length(:prefix)) <> :prefix
        ORDER BY 1`,
      // Stepwise's own triggers (a resumed run finds its sync triggers in place) are not the user's.
      { table: quoteTable(table), sync: syncTrigger, prefix: STEPWISE_PREFIX },
    )
  ).rows.map((r) => r.name);
  if (rows.length === 0) return { name: 'triggers', status: 'pass', message: `no BEFORE row trigger fires after the sync trigger`, hint: '' };
  return {
    name: 'triggers',
    status: 'warn',
    code: 'SW_LATER_TRIGGERS',
    message: `BEFORE row triggers ${rows.join(', ')} fire after Stepwise's sync trigger (triggers fire in name order): if they change a column the using expression reads, the new column is computed from the value before them`,
    hint: 'Make sure they do not change those columns, or rename them to sort before "_stepwise_"; verification reports any row where the columns disagree.',
  };
}

// ── the expression ─────────────────────────────────────────────────────────────────────────────────────────────────

/**
 * Proves that `newType` is a type and `using` is one expression over this table's columns that converts to it, by
 * evaluating it on one row and on a row of NULLs inside a READ ONLY transaction that is always rolled back: an
 * expression with side effects (nextval, a writing function) fails here instead of running, even on an empty table.
 * EXPLAIN then lists the relations it reads: any relation other than the table (or its partitions) is refused.
 * Returns the category of the expression's type, which chooses the data checks.
 *
 * The probes never return a value of `newType` (the Data API cannot return many types: interval, money, composites…):
 * they return whether it is NULL, and the plan is of the expression over the row of NULLs, so its size does not grow
 * with the table's partitions (a result row must stay under the Data API's 64 KB).
 */
export async function readExpressionFacts(db: Executor, spec: Spec, relations: readonly string[], serverVersion: number): Promise<ExpressionFacts> {
  const op = spec.operation;
  const type = (await db.query<{ ok: boolean }>('SELECT to_regtype(:type) IS NOT NULL AS ok', { type: op.newType })).rows[0];
  if (!type?.ok) {
    throw new PreflightError('SW_TYPE_NOT_FOUND', `type "${op.newType}" does not exist`, 'Set operation.newType to a Postgres type such as integer, bigint or numeric(12,2).', { newType: op.newType });
  }
  const t = quoteTable(spec.table);
  const alias = quoteIdent(spec.table.name);
  const rollback = new Error('rollback');
  let category = '';
  let foreign: string[] = [];
  try {
    await db.transaction(async (tx) => {
      await tx.query('SET TRANSACTION READ ONLY');
      await tx.query(`SELECT ((${op.using})::${op.newType}) IS NULL AS v FROM ${t} LIMIT 1`);
      // A row of NULLs, materialized so the planner cannot fold `f(x) + NULL` to NULL without calling f.
      const nulls = `WITH _sw_nulls AS MATERIALIZED (SELECT (NULL::${t}).*)`;
      await tx.query(`${nulls} SELECT ((${op.using})::${op.newType}) IS NULL AS v FROM _sw_nulls AS ${alias}`);
      const cat = (await tx.query<{ category: string }>(`SELECT typcategory::text AS category FROM pg_type WHERE oid = pg_typeof((SELECT (${op.using}) FROM ${t} LIMIT 1))::oid`)).rows[0];
      category = cat?.category ?? '';
      // Over the row of NULLs, the only scans in the plan are those of the expression's own subqueries.
      const plan = (await tx.query(`EXPLAIN (VERBOSE, COSTS OFF, FORMAT JSON) ${nulls} SELECT (${op.using})::${op.newType} FROM _sw_nulls AS ${alias}`)).rows[0];
      const allowed = new Set(relations.length > 0 ? relations : [`${spec.table.schema}.${spec.table.name}`]);
      foreign = [...new Set(relationsInPlan(plan ? Object.values(plan)[0] : undefined))].filter((r) => !allowed.has(r));
      throw rollback;
    });
  } catch (err) {
    if (err !== rollback) {
      if (err instanceof StepwiseError && err.code !== 'SW_DB_ERROR') throw err;
      throw usingInvalid(spec, (err as Error).message);
    }
  }
  if (foreign.length > 0) {
    throw usingInvalid(spec, `it reads ${foreign.join(', ')}; the sync trigger, the backfill and the verification must see the same value, so it may read only the row's own columns`);
  }
  return { category, serverVersion };
}

function usingInvalid(spec: Spec, why: string): PreflightError {
  const op = spec.operation;
  return new PreflightError(
    'SW_USING_INVALID',
    `operation.using "${op.using}" is not a side-effect-free expression over ${spec.table.schema}.${spec.table.name} that converts to ${op.newType}: ${why}`,
    "Write one SQL expression over the table's own columns, e.g. round(price * 100).",
    { using: op.using },
  );
}

/** `schema.relation` of every scan in an EXPLAIN (VERBOSE, FORMAT JSON) plan. */
export function relationsInPlan(plan: unknown): string[] {
  const value = typeof plan === 'string' ? (JSON.parse(plan) as unknown) : plan;
  const found: string[] = [];
  const walk = (node: unknown) => {
    if (Array.isArray(node)) return node.forEach(walk);
    if (!node || typeof node !== 'object') return;
    const n = node as Record<string, unknown>;
    if (typeof n['Relation Name'] === 'string') found.push(`${String(n['Schema'] ?? '')}.${n['Relation Name']}`);
    Object.values(n).forEach(walk);
  };
  walk(value);
  return found;
}

// ── privileges ─────────────────────────────────────────────────────────────────────────────────────────────────────

export interface Privileges {
  readonly role: string;
  readonly owner: string;
  readonly ownsTable: boolean;
  readonly canUpdate: boolean;
  readonly schemaCreate: boolean;
  readonly stateSchemaExists: boolean;
  /** CREATE on the database when the state schema is missing; else CREATE + USAGE on it and INSERT/UPDATE on its table. */
  readonly stateOk: boolean;
  readonly database: string;
}

export async function readPrivileges(db: Executor, spec: Spec): Promise<Privileges> {
  const state = quoteIdent(STATE_SCHEMA);
  const row = (
    await db.query<{ role: string; owner: string; owns: boolean; can_update: boolean; schema_create: boolean; state_schema: boolean; state_ok: boolean; database: string }>(
      `SELECT current_user::text AS role, pg_get_userbyid(c.relowner)::text AS owner,
              pg_has_role(current_user, c.relowner, 'USAGE') AS owns,
              has_table_privilege(c.oid, 'SELECT') AND has_table_privilege(c.oid, 'UPDATE') AS can_update,
              has_schema_privilege(c.relnamespace, 'CREATE') AS schema_create,
              to_regnamespace(:state) IS NOT NULL AS state_schema,
              CASE WHEN to_regnamespace(:state) IS NULL THEN has_database_privilege(current_database(), 'CREATE')
                   ELSE has_schema_privilege(to_regnamespace(:state), 'CREATE') AND has_schema_privilege(to_regnamespace(:state), 'USAGE')
                        AND coalesce(has_table_privilege(to_regclass(:stateTable), 'INSERT') AND has_table_privilege(to_regclass(:stateTable), 'UPDATE'), true) END AS state_ok,
              current_database()::text AS database
         FROM pg_class c WHERE c.oid = (:table)::regclass`,
      { table: quoteTable(spec.table), state, stateTable: `${state}.${quoteIdent('migrations')}` },
    )
  ).rows[0]!;
  return {
    role: row.role,
    owner: row.owner,
    ownsTable: row.owns,
    canUpdate: row.can_update,
    schemaCreate: row.schema_create,
    stateSchemaExists: row.state_schema,
    stateOk: row.state_ok,
    database: row.database,
  };
}

/** Fails with the exact GRANT / ALTER statements to run when the migration role lacks anything it needs. */
export function privilegesCheck(spec: Spec, p: Privileges): PreflightCheck {
  const t = quoteTable(spec.table);
  const role = quoteIdent(p.role);
  const missing: string[] = [];
  const fixes: string[] = [];
  if (!p.ownsTable) {
    missing.push(`is not the owner of ${spec.table.schema}.${spec.table.name} (owner: ${p.owner}), which ALTER TABLE, CREATE TRIGGER and CREATE INDEX require`);
    fixes.push(`GRANT ${quoteIdent(p.owner)} TO ${role};`);
  }
  if (!p.canUpdate) {
    missing.push(`lacks SELECT and UPDATE on ${spec.table.schema}.${spec.table.name} (the backfill)`);
    fixes.push(`GRANT SELECT, UPDATE ON ${t} TO ${role};`);
  }
  if (!p.schemaCreate) {
    missing.push(`lacks CREATE on schema ${spec.table.schema} (the sync trigger's function)`);
    fixes.push(`GRANT CREATE ON SCHEMA ${quoteIdent(spec.table.schema)} TO ${role};`);
  }
  if (!p.stateOk) {
    if (p.stateSchemaExists) {
      missing.push(`cannot write Stepwise's state table ${STATE_SCHEMA}.migrations`);
      fixes.push(`GRANT USAGE, CREATE ON SCHEMA ${quoteIdent(STATE_SCHEMA)} TO ${role}; GRANT SELECT, INSERT, UPDATE ON ${quoteIdent(STATE_SCHEMA)}.${quoteIdent('migrations')} TO ${role};`);
    } else {
      missing.push(`lacks CREATE on database ${p.database} (Stepwise creates its state schema ${STATE_SCHEMA} there)`);
      fixes.push(`GRANT CREATE ON DATABASE ${quoteIdent(p.database)} TO ${role};`);
    }
  }
  if (missing.length === 0) return { name: 'privileges', status: 'pass', message: `role ${p.role} can run every phase`, hint: '' };
  return {
    name: 'privileges',
    status: 'fail',
    code: 'SW_PRIVILEGES_MISSING',
    message: `the migration role ${p.role} ${missing.join('; ')}`,
    hint: `Run as an administrator: ${fixes.join(' ')} (docs/RELIABILITY.md lists the least privileges.)`,
  };
}

// ── sessions (size and headroom: table-size.ts) ──────────────────────────────────────────────────────────────────────

export interface SessionFacts {
  readonly pid: number;
  readonly state: string | null;
  readonly user: string | null;
  readonly ageSeconds: number | null;
  readonly touchesTable: boolean;
}

/** Idle-in-transaction sessions, and transactions open longer than a minute, in this database. */
export async function readSessions(db: Executor, spec: Spec): Promise<SessionFacts[]> {
  const rows = (
    await db.query<{ pid: number; state: string | null; usename: string | null; age_s: number | null; touches: boolean }>(
      `SELECT a.pid, a.state, a.usename::text AS usename, extract(epoch FROM now() - coalesce(a.xact_start, a.query_start))::int AS age_s,
              EXISTS (SELECT 1 FROM pg_locks l WHERE l.pid = a.pid AND l.relation IN (SELECT relid FROM pg_partition_tree((:table)::regclass) UNION SELECT (:table)::regclass)) AS touches
         FROM pg_stat_activity a
        WHERE a.pid <> pg_backend_pid() AND a.datname = current_database() AND a.backend_type = 'client backend'
          AND (a.state LIKE 'idle in transaction%' OR (a.xact_start IS NOT NULL AND now() - a.xact_start > make_interval(secs => :seconds)))
        ORDER BY a.xact_start NULLS LAST`,
      { table: quoteTable(spec.table), seconds: LONG_TRANSACTION_SECONDS },
    )
  ).rows;
  return rows.map((r) => ({ pid: Number(r.pid), state: r.state, user: r.usename, ageSeconds: r.age_s === null ? null : Number(r.age_s), touchesTable: r.touches }));
}

export function sessionsCheck(sessions: readonly SessionFacts[], table: TableFacts): PreflightCheck {
  const name = 'sessions';
  if (sessions.length === 0) return { name, status: 'pass', message: 'no long-running or idle-in-transaction session', hint: '' };
  const describe = (s: SessionFacts) =>
    `pid ${s.pid} (${s.state ?? 'state hidden'}${s.user ? `, ${s.user}` : ''}${s.ageSeconds !== null ? `, ${s.ageSeconds} s` : ''}${s.touchesTable ? `, holds a lock on ${table.schema}.${table.name}` : ''})`;
  const touching = sessions.filter((s) => s.touchesTable);
  return {
    name,
    status: 'warn',
    code: 'SW_LONG_SESSIONS',
    message:
      `${sessions.length} long-running or idle-in-transaction session${sessions.length > 1 ? 's' : ''}: ${sessions.map(describe).join('; ')}` +
      (touching.length > 0 ? '. DDL on the table waits behind them (lock_timeout makes it retry), and CREATE INDEX CONCURRENTLY waits for every older transaction' : ''),
    hint: `End them before expand and constrain, e.g. SELECT pg_terminate_backend(${sessions[0]!.pid}); or fix the application that leaves transactions open.`,
  };
}

/** Where the migration role's `statement_timeout` comes from (pg_settings), when something set it. */
export interface StatementTimeoutFacts {
  /** In milliseconds; 0: none. */
  readonly ms: number;
  /** pg_settings.source: `configuration file` (the parameter group), `user` (ALTER ROLE), `database`, `client`, … */
  readonly source: string;
}

export async function readStatementTimeout(db: Executor): Promise<StatementTimeoutFacts> {
  const row = (await db.query<{ ms: number; source: string }>(
    `SELECT (SELECT setting::bigint FROM pg_settings WHERE name = 'statement_timeout') AS ms, (SELECT source FROM pg_settings WHERE name = 'statement_timeout') AS source`,
  )).rows[0];
  return { ms: Number(row?.ms ?? 0), source: String(row?.source ?? 'default') };
}

/**
 * A `statement_timeout` from the server, the role or the database also cancels Stepwise's long statements (CREATE
 * INDEX CONCURRENTLY, VALIDATE, the backup copy), which are meant to outlast the Data API's 45 s call
 * (`continueAfterTimeout`): warned, since on a small table they end well before it. One set by the client for its
 * session (the local Data API emulator sets 45 s, as the call limit) is not the server's.
 */
export function statementTimeoutCheck(facts: StatementTimeoutFacts): PreflightCheck {
  const name = 'statement-timeout';
  if (facts.ms === 0 || facts.source === 'client' || facts.source === 'session' || facts.source === 'default') {
    return { name, status: 'pass', message: 'no server, role or database statement_timeout cancels long statements', hint: '' };
  }
  return {
    name,
    status: 'warn',
    code: 'SW_STATEMENT_TIMEOUT_SET',
    message: `statement_timeout is ${facts.ms} ms (from ${facts.source}): the index build, VALIDATE and the backup copy are cancelled if they run longer`,
    hint: 'For the migration role: ALTER ROLE <role> SET statement_timeout = 0 (or raise it above the longest full-table scan), then run again.',
  };
}

/**
 * Long statements are watched by the tag comment they are sent with (lib/phases/long-statement.ts): if the Data API or
 * a proxy in front of the database strips or rewrites comments, a build that outlasts its call would look finished,
 * and its step's check would fail it. Warned: a table small enough for one call never needs the watch.
 */
export function longStatementsCheck(tagsVisible: boolean): PreflightCheck {
  const name = 'long-statements';
  if (tagsVisible) return { name, status: 'pass', message: 'tagged statements show in pg_stat_activity as sent: long statements can be watched past the 45 s call limit', hint: '' };
  return {
    name,
    status: 'warn',
    code: 'SW_TAGS_NOT_VISIBLE',
    message: 'a statement sent with a leading comment does not show in pg_stat_activity with it: an index build, VALIDATE or backup copy longer than 45 s cannot be watched, and its phase would fail its check',
    hint: 'Connect without a proxy that rewrites SQL (or keep comments), or run the migration on a table that each statement finishes within 45 s.',
  };
}

// ── runbook checklist: tested in staging, maintenance window ───────────────────────────────────────────────────────

/** An execution ARN of Step Functions (`arn:aws:states:…:execution:…`), as `spec.testedIn` may name one. */
const EXECUTION_ARN = /^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:execution:[^\s:]+:[^\s:]+$/;

/**
 * Runbook item "tested in staging": passes when the spec names where it was tested (`testedIn`: an execution ARN or
 * free text); warns otherwise, and approving ApproveStart then acknowledges it. Never a refusal.
 */
export function stagingCheck(spec: Pick<Spec, 'testedIn'>): PreflightCheck {
  const testedIn = spec.testedIn?.trim();
  if (testedIn) {
    const what = EXECUTION_ARN.test(testedIn) ? `execution ${testedIn}` : testedIn;
    return { name: 'staging', status: 'pass', message: `tested in staging: ${what}`, hint: '' };
  }
  return {
    name: 'staging',
    status: 'warn',
    message: 'the spec does not say where this migration was tested; approving ApproveStart acknowledges it was tested in staging',
    hint: 'Run it on staging first (stepwise run --local, or the staging stack) and name that execution in the spec: "testedIn": "<execution ARN>".',
  };
}

/**
 * Runbook item "maintenance window": passes when the spec schedules one (`window`); warns "waived" otherwise, as the
 * window-only phases then run as soon as they are reached. Never a refusal.
 */
export function windowCheck(spec: Pick<Spec, 'window'>): PreflightCheck {
  const w = spec.window;
  if (w) {
    return {
      name: 'window',
      status: 'pass',
      message: `maintenance window ${w.schedule} (${w.timezone}, ${w.durationMinutes} min) holds back ${w.phases.join(' and ')}`,
      hint: '',
    };
  }
  return {
    name: 'window',
    status: 'warn',
    message: 'waived: no maintenance window in the spec; constrain and contract run as soon as they are reached',
    hint: 'To schedule them, add "window": { "schedule": "cron(0 2 ? * SAT *)", "timezone": "UTC" } to the spec.',
  };
}
