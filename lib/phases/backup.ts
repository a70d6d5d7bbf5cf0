import { objectNames, STATE_SCHEMA } from '../operations/names';
import { quoteIdent, quoteTable } from '../sql/quote';
import { PreflightError, StepwiseError } from '../errors';
import { STATE_TABLE } from '../operations/names';
import type { ValidationIssue } from '../operations/operation';
import type { Spec } from '../spec';
import { claimMigration, MigrationStatus, readBackupSender, readMigration, recordBackupSender } from '../state/migration-state';
import type { BackupResult, PhaseEvent } from '../workflow/state';
import { longStatementClock, longStatementTag, runLongStatement, waitForTagged } from './long-statement';
import { loadPhaseContext, type PhaseDeps } from './phase-context';

/**
 * Backup: claims the table in the state table (one migration per table), then copies the primary key and the old
 * column into `_stepwise."<name>_backup"`: after contract drops the old column, this copy is the way back.
 * (On AWS, the stack can take an Aurora cluster snapshot as well.) Reads take ACCESS SHARE only.
 */
export async function backupPhase(event: PhaseEvent, deps: PhaseDeps): Promise<BackupResult> {
  const { db } = deps;
  const { spec, table, operation, ctx } = await loadPhaseContext(event, db);
  await recheckBeforeFirstChange(db, spec, operation.validate(ctx));
  // The copy reads the whole table: on a big one it outlasts a Data API call and this invocation (long-statement.ts).
  const tag = longStatementTag(spec.name, 'backup.copy');
  const clock = longStatementClock(deps);
  const what = `the backup copy of ${table.schema}.${table.name}`;
  const waited = await waitForTagged(db, tag, clock, what);
  const before = await claimMigrationFresh(db, spec, table.estimatedRows, event.execution);
  const execution = event.execution ?? null;
  const backupTable = objectNames(spec.name).backupTable;
  const backup = `${quoteIdent(STATE_SCHEMA)}.${quoteIdent(backupTable)}`;
  const location = `${STATE_SCHEMA}.${backupTable}`;
  // A fresh claim drops a stale copy, but never the one this execution's earlier attempt made (a CREATE TABLE AS is
  // one transaction: if the table exists, it is complete). The sender is recorded only after the drop: an attempt that
  // died before the drop must not make its retry keep the stale copy.
  const ours = waited || (execution !== null && (await readBackupSender(db, spec.name)) === execution);
  if (before.fresh && !ours) await db.query(`DROP TABLE IF EXISTS ${backup}`);
  await recordBackupSender(db, spec.name, execution);
  const pk = quoteIdent(table.primaryKey.column);
  const col = quoteIdent(spec.operation.column);
  const exists = async () => (await db.query<{ ok: boolean }>('SELECT to_regclass(:backup) IS NOT NULL AS ok', { backup })).rows[0]?.ok === true;
  // Kept from an earlier attempt of this execution, or made now (and then perhaps watched past its call).
  const how = (await exists()) ? 'kept' : await runLongStatement(db, { sql: `CREATE TABLE IF NOT EXISTS ${backup} AS SELECT ${pk}, ${col} FROM ${quoteTable(table)}` }, tag, clock, what);
  if (how !== 'kept' && !(await exists())) {
    throw new StepwiseError('SW_BACKUP_FAILED', `${what} ended without creating ${location}`, 'The copy was cancelled or failed (disk full?); read the database log, then run the phase again.', { migration: spec.name, backup: location });
  }
  // Counting a copy that outlasted one call would outlast one too: the table's estimate stands in.
  if (how !== 'sent') return { location, rows: table.estimatedRows, rowsEstimated: true };
  const rows = Number((await db.query(`SELECT count(*) AS n FROM ${backup}`)).rows[0]?.n ?? 0);
  return { location, rows };
}

/**
 * The first change happens here, possibly days after preflight (the start gate waits up to its timeout). Checked
 * again now: a fresh run refuses a new column or index name that appeared meanwhile (expand's IF NOT EXISTS would
 * otherwise adopt, backfill and later drop someone else's column); a resumed run refuses a spec whose operation
 * changed (its cursor and its column were made for the old one).
 */
async function recheckBeforeFirstChange(db: PhaseDeps['db'], spec: Spec, issues: readonly ValidationIssue[]): Promise<void> {
  const own = await readMigration(db, spec.name);
  if (own?.status === MigrationStatus.Running) {
    const same = (await db.query<{ same: boolean }>(
      `SELECT spec -> 'operation' = (:operation)::jsonb AS same FROM ${quoteIdent(STATE_SCHEMA)}.${quoteIdent(STATE_TABLE)} WHERE name = :name`,
      { name: spec.name, operation: JSON.stringify(spec.operation) },
    )).rows[0]?.same;
    if (same === false) {
      throw new PreflightError(
        'SW_SPEC_CHANGED',
        `migration "${spec.name}" is part-way done with a different operation than this spec's`,
        'Run it to the end (or roll it back) with the spec it started with, or give this spec another name.',
        { migration: spec.name },
      );
    }
    return;
  }
  const appeared = issues[0];
  if (appeared) throw new PreflightError(appeared.code, `${appeared.message} (checked again before the first change)`, appeared.hint, { issues });
}

/** Claims the table for this execution; `fresh` when no earlier attempt of this migration got past backup. */
async function claimMigrationFresh(db: PhaseDeps['db'], spec: Parameters<typeof claimMigration>[1], estimate: number, execution: string | undefined) {
  const row = await claimMigration(db, spec, estimate, execution);
  return { row, fresh: row.phase === 'backup' && Number(row.batches) === 0 };
}
