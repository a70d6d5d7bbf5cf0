import { sqlNumberOrNull, sqlTrue, type Executor, type SqlParams } from '../db/executor';
import { MigrationLockedError } from '../errors';
import { STATE_SCHEMA, STATE_TABLE } from '../operations/names';
import type { Spec } from '../spec';
import { quoteIdent } from '../sql/quote';
import { RANGES_DDL } from './backfill-ranges';

const STATE = `${quoteIdent(STATE_SCHEMA)}.${quoteIdent(STATE_TABLE)}`;

/** Status of a migration's progress row. */
export const MigrationStatus = {
  Running: 'running',
  Succeeded: 'succeeded',
  RolledBack: 'rolled_back',
  Failed: 'failed',
} as const;
export type MigrationStatus = (typeof MigrationStatus)[keyof typeof MigrationStatus];

export interface MigrationRow {
  name: string;
  table_schema: string;
  table_name: string;
  phase: string;
  status: MigrationStatus;
  cursor: string | null;
  rows_done: number;
  rows_updated: number;
  rows_estimate: number | null;
  batches: number;
  [key: string]: string | number | boolean | null;
}

/** See {@link recordKeepNewColumn}: why the new column outlives any automatic rollback, and since when. */
const KEEP_DDL = `ALTER TABLE ${STATE} ADD COLUMN IF NOT EXISTS keep_new_column text, ADD COLUMN IF NOT EXISTS keep_new_column_at timestamptz`;

/**
 * The state table lives in the target database (schema `_stepwise`), so progress survives anything that happens to
 * the workflow: a crashed Lambda, a redriven or a brand-new execution resume from the row. A partial unique index
 * allows one running migration per table.
 */
export const STATE_DDL: readonly string[] = [
  `CREATE SCHEMA IF NOT EXISTS ${quoteIdent(STATE_SCHEMA)}`,
  `CREATE TABLE IF NOT EXISTS ${STATE} (
    name text PRIMARY KEY,
    table_schema text NOT NULL,
    table_name text NOT NULL,
    spec jsonb NOT NULL,
    phase text NOT NULL,
    status text NOT NULL,
    cursor text,
    rows_done bigint NOT NULL DEFAULT 0,
    rows_updated bigint NOT NULL DEFAULT 0,
    rows_estimate bigint,
    batches bigint NOT NULL DEFAULT 0,
    started_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
  )`,
  `CREATE UNIQUE INDEX IF NOT EXISTS migrations_one_running_per_table ON ${STATE} (table_schema, table_name) WHERE status = 'running'`,
  // Backfill engine state (added after the first release: idempotent, so older state tables gain the columns).
  `ALTER TABLE ${STATE}
    ADD COLUMN IF NOT EXISTS batch_size integer,
    ADD COLUMN IF NOT EXISTS rows_per_second double precision,
    ADD COLUMN IF NOT EXISTS vacuumed_at_rows bigint NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS paused boolean NOT NULL DEFAULT false`,
  // Continue-as-new: the execution the running one hands the migration to (see acceptHandover). Parallel backfill:
  // the highest progress milestone announced (ranges claim it, so each is announced once).
  `ALTER TABLE ${STATE} ADD COLUMN IF NOT EXISTS handover text, ADD COLUMN IF NOT EXISTS milestone_announced integer NOT NULL DEFAULT 0`,
  // Live tuning (`stepwise tune`): replace the spec's targetBatchMs / maxRowsPerSecond from the next batch; NULL: the spec's.
  `ALTER TABLE ${STATE} ADD COLUMN IF NOT EXISTS target_batch_ms integer, ADD COLUMN IF NOT EXISTS max_rows_per_second integer`,
  // The execution that sent the backup copy: a retry of it keeps the copy (it may have finished between attempts)
  // instead of dropping and restarting a copy that outlasts one attempt.
  `ALTER TABLE ${STATE} ADD COLUMN IF NOT EXISTS backup_by text`,
  // Why the new column (and the backup) must outlive any automatic rollback: set once the application was asked to
  // read or write it (see recordKeepNewColumn); only ever set, never cleared by a phase mark, a claim or a resume.
  KEEP_DDL,
  // Recovery: the gates this run passed (`{ "<gate>": "<when recorded>" }`) and when its soak was served, so a resumed
  // execution does not ask again or wait again (lib/state/resume-point.ts). Reset when a finished row is claimed anew.
  `ALTER TABLE ${STATE} ADD COLUMN IF NOT EXISTS gates_passed jsonb NOT NULL DEFAULT '{}'::jsonb, ADD COLUMN IF NOT EXISTS soak_served_at timestamptz`,
  RANGES_DDL,
];

const SELECT_COLUMNS = 'name, table_schema, table_name, phase, status, cursor, rows_done, rows_updated, rows_estimate, batches';

/** The migration's row, or undefined when the state table or the row does not exist (reads only). */
export async function readMigration(db: Executor, name: string): Promise<MigrationRow | undefined> {
  if (!(await stateTableExists(db))) return undefined;
  return (await db.query<MigrationRow>(`SELECT ${SELECT_COLUMNS} FROM ${STATE} WHERE name = :name`, { name })).rows[0];
}

/** Another migration running on the same table, if any (reads only). */
export async function findRunningOnTable(db: Executor, spec: Spec): Promise<MigrationRow | undefined> {
  if (!(await stateTableExists(db))) return undefined;
  return (
    await db.query<MigrationRow>(
      `SELECT ${SELECT_COLUMNS} FROM ${STATE} WHERE table_schema = :schema AND table_name = :table AND status = 'running' AND name <> :name`,
      { schema: spec.table.schema, table: spec.table.name, name: spec.name },
    )
  ).rows[0];
}

async function stateTableExists(db: Executor): Promise<boolean> {
  const row = (await db.query<{ exists: boolean }>(`SELECT to_regclass(:state) IS NOT NULL AS exists`, { state: STATE })).rows[0];
  return row?.exists === true;
}

/**
 * Claims the table for this migration: creates the state table if needed and upserts the row as running. A row that
 * is already running keeps its cursor (resume); a finished or rolled-back one starts over. Throws
 * `MigrationLockedError` when another migration is running on the table (`SW_TABLE_BUSY`), or when this migration's
 * row is running for another execution (`SW_MIGRATION_RUNNING`; `execution` is the Step Functions execution id, and
 * a row claimed without one can be resumed by any execution). `spec.resumeFrom` names an owner that no longer runs
 * (checked by the CLI that started this run): this execution takes the row over from it.
 */
export async function claimMigration(db: Executor, spec: Spec, estimatedRows: number, execution?: string): Promise<MigrationRow> {
  for (const ddl of STATE_DDL) await db.query(ddl);
  await db.query(CLAIM_DDL);
  let claimed: boolean;
  try {
    const rows = await db.query(
      `INSERT INTO ${STATE} AS m (name, table_schema, table_name, spec, phase, status, rows_estimate, execution)
       VALUES (:name, :schema, :table, (:spec)::jsonb, 'backup', 'running', :estimate, (:execution)::text)
       ON CONFLICT (name) DO UPDATE SET
         spec = EXCLUDED.spec, rows_estimate = EXCLUDED.rows_estimate, updated_at = now(),
         table_schema = CASE WHEN m.status = 'running' THEN m.table_schema ELSE EXCLUDED.table_schema END,
         table_name = CASE WHEN m.status = 'running' THEN m.table_name ELSE EXCLUDED.table_name END,
         phase = CASE WHEN m.status = 'running' THEN m.phase ELSE 'backup' END,
         cursor = CASE WHEN m.status = 'running' THEN m.cursor ELSE NULL END,
         rows_done = CASE WHEN m.status = 'running' THEN m.rows_done ELSE 0 END,
         rows_updated = CASE WHEN m.status = 'running' THEN m.rows_updated ELSE 0 END,
         batches = CASE WHEN m.status = 'running' THEN m.batches ELSE 0 END,
         batch_size = CASE WHEN m.status = 'running' THEN m.batch_size ELSE NULL END,
         rows_per_second = CASE WHEN m.status = 'running' THEN m.rows_per_second ELSE NULL END,
         vacuumed_at_rows = CASE WHEN m.status = 'running' THEN m.vacuumed_at_rows ELSE 0 END,
         paused = CASE WHEN m.status = 'running' THEN m.paused ELSE false END,
         milestone_announced = CASE WHEN m.status = 'running' THEN m.milestone_announced ELSE 0 END,
         target_batch_ms = CASE WHEN m.status = 'running' THEN m.target_batch_ms ELSE NULL END,
         max_rows_per_second = CASE WHEN m.status = 'running' THEN m.max_rows_per_second ELSE NULL END,
         handover = CASE WHEN m.status = 'running' THEN m.handover ELSE NULL END,
         gates_passed = CASE WHEN m.status = 'running' THEN m.gates_passed ELSE '{}'::jsonb END,
         soak_served_at = CASE WHEN m.status = 'running' THEN m.soak_served_at ELSE NULL END,
         started_at = CASE WHEN m.status = 'running' THEN m.started_at ELSE now() END,
         execution = COALESCE(EXCLUDED.execution, m.execution),
         status = 'running'
       WHERE m.status <> 'running' OR m.execution IS NULL OR EXCLUDED.execution IS NULL OR m.execution = EXCLUDED.execution
         OR m.execution = (:resume_from)::text
       RETURNING m.name`,
      { name: spec.name, schema: spec.table.schema, table: spec.table.name, spec: JSON.stringify(spec), estimate: estimatedRows, execution: execution ?? null, resume_from: spec.resumeFrom ?? null },
    );
    claimed = rows.rows.length > 0;
  } catch (err) {
    const other = await findRunningOnTable(db, spec);
    if (other) throw lockedError(spec, other);
    throw err;
  }
  if (!claimed) {
    const own = await readMigrationOwner(db, spec.name);
    if (own) throw runningElsewhereError(spec, own, execution);
  }
  return (await readMigration(db, spec.name))!;
}

/** Adds the `execution` column (which execution runs the row) to a state table created before it existed. */
const CLAIM_DDL = `ALTER TABLE ${STATE} ADD COLUMN IF NOT EXISTS execution text`;

/** A migration's row with the execution that claimed it (null when unknown); reads only, works before CLAIM_DDL. */
export interface MigrationOwner {
  readonly name: string;
  readonly status: MigrationStatus;
  readonly phase: string;
  readonly rows_done: number;
  readonly execution: string | null;
}

/** The migration's row and its owning execution, or undefined when there is none (reads only). */
export async function readMigrationOwner(db: Executor, name: string): Promise<MigrationOwner | undefined> {
  if (!(await stateTableExists(db))) return undefined;
  const row = (
    await db.query<{ name: string; status: string; phase: string; rows_done: number; execution: string | null }>(
      `SELECT name, status, phase, rows_done, to_jsonb(m) ->> 'execution' AS execution FROM ${STATE} AS m WHERE name = :name`,
      { name },
    )
  ).rows[0];
  return row ? { ...row, status: row.status as MigrationStatus, rows_done: Number(row.rows_done) } : undefined;
}

/**
 * True when `owner` is running for an execution other than `execution`. Unknown on either side (a row claimed by an
 * older Stepwise, or a caller without an execution id such as a direct phase call) counts as the same execution, so a
 * crashed run can always be resumed.
 */
export function runningForAnotherExecution(owner: MigrationOwner | undefined, execution: string | undefined, resumeFrom?: string): boolean {
  return owner?.status === MigrationStatus.Running && !!owner.execution && !!execution && owner.execution !== execution && owner.execution !== resumeFrom;
}

/**
 * Expand, Constrain and Contract change the table only for the execution that owns the migration: its row must be
 * running for this execution (or for none: a row claimed by an older Stepwise, or a caller without an execution id).
 * `finished` also accepts a row that already ended with that status (a retried contract finds it succeeded).
 * Throws `MigrationLockedError` (`SW_MIGRATION_RUNNING` or `SW_MIGRATION_NOT_RUNNING`) and changes nothing otherwise.
 */
export async function assertOwnsMigration(db: Executor, spec: Spec, execution: string | undefined, phase: string, finished?: MigrationStatus): Promise<void> {
  const owner = await readMigrationOwner(db, spec.name);
  if (runningForAnotherExecution(owner, execution, spec.resumeFrom)) throw runningElsewhereError(spec, owner!, execution);
  if (owner?.status === MigrationStatus.Running || (owner && finished !== undefined && owner.status === finished)) return;
  throw new MigrationLockedError(
    'SW_MIGRATION_NOT_RUNNING',
    owner
      ? `migration "${spec.name}" is ${owner.status} (phase ${owner.phase}), not running: ${phase} changed nothing`
      : `migration "${spec.name}" has no row in the state table (Backup claims it): ${phase} changed nothing`,
    owner
      ? 'Another run or `stepwise rollback` ended it while this execution waited; start the migration again to run it.'
      : 'Run the migration from the start (`stepwise run` or `stepwise start`): Backup claims the table first.',
    { migration: spec.name, phase, status: owner?.status ?? null, execution: owner?.execution ?? null },
  );
}

export function runningElsewhereError(spec: Spec, owner: MigrationOwner, execution: string | undefined): MigrationLockedError {
  return new MigrationLockedError(
    'SW_MIGRATION_RUNNING',
    `migration "${owner.name}" is already running on ${spec.table.schema}.${spec.table.name} (status ${owner.status}, phase ${owner.phase}, ` +
      `${owner.rows_done} rows done) in execution ${owner.execution}${execution ? `; this execution (${execution}) changed nothing` : ''}`,
    `Wait for execution ${owner.execution} to finish (\`stepwise status --spec <file> --database-url <url>\` shows the migration), or abort it. ` +
      `If it no longer runs (killed, aborted, crashed), run the spec again: \`stepwise run --local --spec <file>\` takes the migration over and resumes; ` +
      `on AWS, \`stepwise start --spec <file> --resume-from ${owner.execution}\`.`,
    { migration: owner.name, execution: owner.execution, status: owner.status, phase: owner.phase },
  );
}

export function lockedError(spec: Spec, other: MigrationRow): MigrationLockedError {
  return new MigrationLockedError(
    'SW_TABLE_BUSY',
    `migration "${other.name}" is already running on ${spec.table.schema}.${spec.table.name} (status ${other.status}, phase ${other.phase}, ${other.rows_done} rows done)`,
    `Wait for "${other.name}" to finish or roll it back; one migration runs per table at a time.`,
    { other: other.name, status: other.status, phase: other.phase },
  );
}

/** The phase recorded once the application reads the new column (after ConfirmReadFromNewDeployed). */
export const READ_SWITCHED_PHASE = 'read-switched';

/** Why a migration's new column is kept by every rollback, and since when (see {@link recordKeepNewColumn}). */
export interface KeepNewColumn {
  readonly reason: string;
  readonly since: string;
}

/**
 * Records, once, that the application was asked to read or write the new column (constrain told the team to deploy
 * the reader; application dual-write was requested or confirmed; a read-switch gate was approved). From then on no
 * automatic rollback drops the new column or the backup: rollback removes only the sync machinery. Set-only: the first
 * reason and time stay, and nothing (a phase mark, a claim, a resume, a re-run of any phase) clears it.
 */
export async function recordKeepNewColumn(db: Executor, name: string, reason: string): Promise<void> {
  // A migration claimed by an older Stepwise (before the column existed) gains it here, not only at the next claim.
  const has = (await db.query<{ ok: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass(:state) AND attname = 'keep_new_column_at' AND NOT attisdropped) AS ok`,
    { state: STATE },
  )).rows[0]?.ok === true;
  if (!has) await db.query(KEEP_DDL);
  await db.query(
    `UPDATE ${STATE} SET keep_new_column = COALESCE(keep_new_column, :reason), keep_new_column_at = COALESCE(keep_new_column_at, now()) WHERE name = :name`,
    { name, reason },
  );
}

/**
 * The recorded reason to keep the new column, or undefined (reads only; works on a state table from before the
 * column existed). A row marked by an older Stepwise with the `read-switched` phase counts too.
 */
export async function readKeepNewColumn(db: Executor, name: string): Promise<KeepNewColumn | undefined> {
  if (!(await stateTableExists(db))) return undefined;
  const row = (
    await db.query<{ reason: string | null; since: string | null; phase: string }>(
      `SELECT to_jsonb(m) ->> 'keep_new_column' AS reason, to_jsonb(m) ->> 'keep_new_column_at' AS since, phase FROM ${STATE} AS m WHERE name = :name`,
      { name },
    )
  ).rows[0];
  if (!row) return undefined;
  if (row.reason) return { reason: row.reason, since: row.since ?? 'unknown' };
  if (row.phase === READ_SWITCHED_PHASE) return { reason: 'the read switch was recorded (ConfirmReadFromNewDeployed approved)', since: 'unknown' };
  return undefined;
}

/** Records the phase a migration is in (and optionally a final status). */
export async function markPhase(db: Executor, name: string, phase: string, status?: MigrationStatus): Promise<void> {
  const statement = markPhaseStatement(name, phase, status);
  await db.query(statement.sql, statement.params);
}

/** The statement of {@link markPhase}, for a plan step that must record the phase in its own transaction. */
export function markPhaseStatement(name: string, phase: string, status?: MigrationStatus): { sql: string; params: SqlParams } {
  return {
    sql: `UPDATE ${STATE} SET phase = :state_phase, status = COALESCE((:state_status)::text, status), updated_at = now() WHERE name = :state_name`,
    params: { state_name: name, state_phase: phase, state_status: status ?? null },
  };
}


/** The backfill engine's view of the progress row (columns added by STATE_DDL's ALTER; read after the claim). */
export interface BackfillStateRow {
  cursor: string | null;
  rows_done: number;
  rows_updated: number;
  batches: number;
  /** Batch size the last batch used or the last invocation chose; null before the first batch. */
  batch_size: number | null;
  rows_per_second: number | null;
  /** rows_done at the last VACUUM. */
  vacuumed_at_rows: number;
  paused: boolean;
  /** Live tuning (`stepwise tune`): null means the spec's value; a rate of 0 means no limit. */
  target_batch_ms: number | null;
  max_rows_per_second: number | null;
}

export async function readBackfillState(db: Executor, name: string): Promise<BackfillStateRow | undefined> {
  const row = (
    await db.query<Record<string, string | number | boolean | null>>(
      `SELECT cursor, rows_done, rows_updated, batches, batch_size, rows_per_second, vacuumed_at_rows, paused, target_batch_ms, max_rows_per_second FROM ${STATE} WHERE name = :name`,
      { name },
    )
  ).rows[0];
  if (!row) return undefined;
  return {
    cursor: row.cursor === null || row.cursor === undefined ? null : String(row.cursor),
    rows_done: Number(row.rows_done),
    rows_updated: Number(row.rows_updated),
    batches: Number(row.batches),
    batch_size: sqlNumberOrNull(row.batch_size),
    rows_per_second: sqlNumberOrNull(row.rows_per_second),
    vacuumed_at_rows: Number(row.vacuumed_at_rows ?? 0),
    paused: sqlTrue(row.paused),
    target_batch_ms: sqlNumberOrNull(row.target_batch_ms),
    max_rows_per_second: sqlNumberOrNull(row.max_rows_per_second),
  };
}

/** Records what an invocation learned: the batch size the next one starts with and the rate it reached. */
export async function recordBackfillTuning(db: Executor, name: string, batchSize: number, rowsPerSecond: number | null): Promise<void> {
  await db.query(
    `UPDATE ${STATE} SET batch_size = :batchSize, rows_per_second = COALESCE((:rate)::double precision, rows_per_second), updated_at = now() WHERE name = :name`,
    { name, batchSize, rate: rowsPerSecond },
  );
}

/** Records the rows_done at which the table was last vacuumed. */
/** The execution that sent the migration's backup copy (see `recordBackupSender`), or null. */
export async function readBackupSender(db: Executor, name: string): Promise<string | null> {
  return (await db.query<{ backup_by: string | null }>(`SELECT backup_by FROM ${STATE} WHERE name = :name`, { name })).rows[0]?.backup_by ?? null;
}

/** Records, just before it is sent, which execution sends the backup copy. */
export async function recordBackupSender(db: Executor, name: string, execution: string | null): Promise<void> {
  await db.query(`UPDATE ${STATE} SET backup_by = :execution WHERE name = :name`, { name, execution });
}

export async function recordVacuum(db: Executor, name: string, rowsDone: number): Promise<void> {
  await db.query(`UPDATE ${STATE} SET vacuumed_at_rows = :rows WHERE name = :name`, { name, rows: rowsDone });
}

/**
 * Pauses or resumes a migration's backfill. The backfill reads the flag in the same statement as each batch, so a
 * pause takes effect at the next batch; the cursor is kept, and resume continues from it.
 * (Equivalent SQL: `UPDATE _stepwise.migrations SET paused = true WHERE name = '<migration>'`.)
 */
export async function setPaused(db: Executor, name: string, paused: boolean): Promise<boolean> {
  const result = await db.query(`UPDATE ${STATE} SET paused = :paused, updated_at = now() WHERE name = :name RETURNING name`, { name, paused });
  return result.rows.length > 0;
}

/**
 * Continue-as-new, step 1 (the running execution, before it starts the next): names the execution that may take the
 * migration over. Ownership does not move yet: if the next execution never starts, this one still owns the row.
 */
export async function offerHandover(db: Executor, name: string, from: string, to: string): Promise<void> {
  await db.query(`UPDATE ${STATE} SET handover = :to, updated_at = now() WHERE name = :name AND (execution = :from OR execution IS NULL)`, { name, from, to });
}

/**
 * Continue-as-new, step 2 (the next execution, first thing): takes the row over when the previous execution offered
 * it to this one; true when this execution owns the row afterwards (a retried call finds it already taken).
 */
export async function acceptHandover(db: Executor, name: string, from: string, me: string): Promise<boolean> {
  const rows = (
    await db.query<{ execution: string | null }>(
      `UPDATE ${STATE} SET execution = CASE WHEN handover = :me AND (execution = :from OR execution IS NULL) THEN :me ELSE execution END,
         handover = CASE WHEN handover = :me THEN NULL ELSE handover END, updated_at = now()
       WHERE name = :name RETURNING execution`,
      { name, from, me },
    )
  ).rows;
  return rows[0]?.execution === me;
}

/** Live settings of a running backfill (`stepwise tune`); null clears one back to the spec's value. */
export interface LiveTuning {
  readonly targetBatchMs?: number | null;
  /** 0: no rate limit; null: the spec's. */
  readonly maxRowsPerSecond?: number | null;
}

/**
 * Changes a migration's batch target and rate limit while it runs: every batch statement reads them, so they apply
 * from the next batch. Fields left out stay as they are. False when the migration has no row.
 * (Equivalent SQL: `UPDATE _stepwise.migrations SET target_batch_ms = 50 WHERE name = '<migration>'`.)
 */
export async function setLiveTuning(db: Executor, name: string, tuning: LiveTuning): Promise<boolean> {
  if (!(await readMigration(db, name))) return false;
  const sets: string[] = [];
  if (tuning.targetBatchMs !== undefined) sets.push('target_batch_ms = (:target)::integer');
  if (tuning.maxRowsPerSecond !== undefined) sets.push('max_rows_per_second = (:rate)::integer');
  if (sets.length === 0) return true;
  const result = await db.query(`UPDATE ${STATE} SET ${sets.join(', ')}, updated_at = now() WHERE name = :name RETURNING name`, {
    name,
    target: tuning.targetBatchMs ?? null,
    rate: tuning.maxRowsPerSecond ?? null,
  });
  return result.rows.length > 0;
}
