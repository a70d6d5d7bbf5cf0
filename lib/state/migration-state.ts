import type { Executor } from '../db/executor';
import { MigrationLockedError } from '../errors';
import { STATE_SCHEMA, STATE_TABLE } from '../operations/names';
import type { Spec } from '../spec';
import { quoteIdent } from '../sql/quote';

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
 * `MigrationLockedError` when another migration is running on the table.
 */
export async function claimMigration(db: Executor, spec: Spec, estimatedRows: number): Promise<MigrationRow> {
  for (const ddl of STATE_DDL) await db.query(ddl);
  try {
    await db.query(
      `INSERT INTO ${STATE} AS m (name, table_schema, table_name, spec, phase, status, rows_estimate)
       VALUES (:name, :schema, :table, (:spec)::jsonb, 'backup', 'running', :estimate)
       ON CONFLICT (name) DO UPDATE SET
         spec = EXCLUDED.spec, rows_estimate = EXCLUDED.rows_estimate, updated_at = now(),
         phase = CASE WHEN m.status = 'running' THEN m.phase ELSE 'backup' END,
         cursor = CASE WHEN m.status = 'running' THEN m.cursor ELSE NULL END,
         rows_done = CASE WHEN m.status = 'running' THEN m.rows_done ELSE 0 END,
         rows_updated = CASE WHEN m.status = 'running' THEN m.rows_updated ELSE 0 END,
         batches = CASE WHEN m.status = 'running' THEN m.batches ELSE 0 END,
         started_at = CASE WHEN m.status = 'running' THEN m.started_at ELSE now() END,
         status = 'running'`,
      { name: spec.name, schema: spec.table.schema, table: spec.table.name, spec: JSON.stringify(spec), estimate: estimatedRows },
    );
  } catch (err) {
    const other = await findRunningOnTable(db, spec);
    if (other) throw lockedError(spec, other);
    throw err;
  }
  return (await readMigration(db, spec.name))!;
}

export function lockedError(spec: Spec, other: MigrationRow): MigrationLockedError {
  return new MigrationLockedError(
    'SW_TABLE_BUSY',
    `migration "${other.name}" is already running on ${spec.table.schema}.${spec.table.name} (phase ${other.phase}, ${other.rows_done} rows done)`,
    `Wait for "${other.name}" to finish or roll it back; one migration runs per table at a time.`,
    { other: other.name, phase: other.phase },
  );
}

/** Records the phase a migration is in (and optionally a final status). */
export async function markPhase(db: Executor, name: string, phase: string, status?: MigrationStatus): Promise<void> {
  await db.query(
    `UPDATE ${STATE} SET phase = :phase, status = COALESCE(:status, status), updated_at = now() WHERE name = :name`,
    { name, phase, status: status ?? null },
  );
}

/** Starts the backfill over from the first key (used when a run's backfill has not begun). */
export async function resetCursor(db: Executor, name: string): Promise<void> {
  await db.query(`UPDATE ${STATE} SET cursor = NULL, rows_done = 0, rows_updated = 0, batches = 0 WHERE name = :name`, { name });
}
