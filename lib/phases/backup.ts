import { objectNames, STATE_SCHEMA } from '../operations/names';
import { quoteIdent, quoteTable } from '../sql/quote';
import { claimMigration } from '../state/migration-state';
import type { BackupResult, PhaseEvent } from '../workflow/state';
import { loadPhaseContext, type PhaseDeps } from './phase-context';

/**
 * Backup: claims the table in the state table (one migration per table), then copies the primary key and the old
 * column into `_stepwise."<name>_backup"`: after contract drops the old column, this copy is the way back.
 * (On AWS, the stack can take an Aurora cluster snapshot as well.) Reads take ACCESS SHARE only.
 */
export async function backupPhase(event: PhaseEvent, { db }: PhaseDeps): Promise<BackupResult> {
  const { spec, table } = await loadPhaseContext(event, db);
  const before = await claimMigrationFresh(db, spec, table.estimatedRows, event.execution);
  const backup = `${quoteIdent(STATE_SCHEMA)}.${quoteIdent(objectNames(spec.name).backupTable)}`;
  if (before.fresh) await db.query(`DROP TABLE IF EXISTS ${backup}`);
  const pk = quoteIdent(table.primaryKey.column);
  const col = quoteIdent(spec.operation.column);
  await db.query(`CREATE TABLE IF NOT EXISTS ${backup} AS SELECT ${pk}, ${col} FROM ${quoteTable(table)}`);
  const rows = Number((await db.query(`SELECT count(*) AS n FROM ${backup}`)).rows[0]?.n ?? 0);
  return { location: `${STATE_SCHEMA}.${objectNames(spec.name).backupTable}`, rows };
}

/** Claims the table for this execution; `fresh` when no earlier attempt of this migration got past backup. */
async function claimMigrationFresh(db: PhaseDeps['db'], spec: Parameters<typeof claimMigration>[1], estimate: number, execution: string | undefined) {
  const row = await claimMigration(db, spec, estimate, execution);
  return { row, fresh: row.phase === 'backup' && Number(row.batches) === 0 };
}
