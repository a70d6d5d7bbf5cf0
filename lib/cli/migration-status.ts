/**
 * `stepwise status --spec F --database-url URL` (or the Aurora flags): a migration's state row and what exists in its
 * table, in words, with the exact command that carries it on and the one that undoes it. Reads only.
 */
import type { Executor } from '../db/executor';
import { objectNames, STATE_SCHEMA } from '../operations/names';
import type { Spec } from '../spec';
import { quoteIdent, quoteTable } from '../sql/quote';
import { MigrationStatus, readMigration, readMigrationOwner } from '../state/migration-state';
import { readResumePoint } from '../state/resume-point';

/** What the table holds of the migration's objects. */
export interface MigrationObjects {
  readonly oldColumn: boolean;
  /** The new column with its type and NOT NULL, or null when absent. */
  readonly newColumn: { readonly type: string; readonly notNull: boolean } | null;
  readonly syncTriggers: readonly string[];
  /** The spec's index (`operation.index.name`), or null when the spec has none. */
  readonly index: { readonly name: string; readonly exists: boolean; readonly valid: boolean } | null;
  readonly backupTable: { readonly name: string; readonly exists: boolean };
}

export interface MigrationStatusView {
  readonly migration: string;
  readonly table: string;
  /** Null when the migration has no row: it never started on this database. */
  readonly row: {
    readonly status: string;
    readonly phase: string;
    readonly execution: string | null;
    readonly cursor: string | null;
    readonly rowsDone: number;
    readonly rowsEstimate: number | null;
    readonly batches: number;
    readonly paused: boolean;
    readonly gatesPassed: readonly string[];
    readonly soakServedAt: string | null;
  } | null;
  readonly objects: MigrationObjects;
  /** Whether the owner execution still runs: true, false, or null when it cannot be known from here. */
  readonly ownerRunning: boolean | null;
  /** The next commands, each with what it does. */
  readonly next: readonly { readonly what: string; readonly command: string }[];
}

/** How the commands are told where the database is (printed in the next commands; never a password). */
export interface StatusTarget {
  /** `--database-url …` with the password hidden, or the Aurora flags. */
  readonly databaseFlags: string;
  /** True for the local twin (`run --local`), false for AWS (`start`). */
  readonly local: boolean;
}

/** Reads the row and the table; `ownerRunning` is the caller's knowledge of the owner execution (null: unknown). */
export async function readMigrationStatus(db: Executor, spec: Spec, specFile: string, target: StatusTarget, ownerRunning: (execution: string) => Promise<boolean | null>): Promise<MigrationStatusView> {
  const row = await readMigration(db, spec.name);
  const owner = row ? await readMigrationOwner(db, spec.name) : undefined;
  const point = row ? await readResumePoint(db, spec.name) : undefined;
  const paused = row ? (await db.query<{ paused: string | null }>(`SELECT to_jsonb(m) ->> 'paused' AS paused FROM ${quoteIdent(STATE_SCHEMA)}.migrations AS m WHERE name = :name`, { name: spec.name })).rows[0]?.paused === 'true' : false;
  const objects = await readMigrationObjects(db, spec);
  const execution = owner?.execution ?? null;
  const running = row?.status === MigrationStatus.Running && execution ? await ownerRunning(execution) : null;
  const view = {
    migration: spec.name,
    table: `${spec.table.schema}.${spec.table.name}`,
    row: row
      ? {
          status: row.status,
          phase: row.phase,
          execution,
          cursor: row.cursor === null ? null : String(row.cursor),
          rowsDone: Number(row.rows_done),
          rowsEstimate: row.rows_estimate === null ? null : Number(row.rows_estimate),
          batches: Number(row.batches),
          paused,
          gatesPassed: point?.gatesPassed ?? [],
          soakServedAt: point?.soakServedAt ?? null,
        }
      : null,
    objects,
    ownerRunning: running,
  };
  return { ...view, next: nextCommands(view, specFile, target) };
}

async function readMigrationObjects(db: Executor, spec: Spec): Promise<MigrationObjects> {
  const names = objectNames(spec.name);
  const table = quoteTable(spec.table);
  const exists = (await db.query<{ ok: boolean }>('SELECT to_regclass(:t) IS NOT NULL AS ok', { t: table })).rows[0]?.ok === true;
  const backup = `${quoteIdent(STATE_SCHEMA)}.${quoteIdent(names.backupTable)}`;
  const backupExists = (await db.query<{ ok: boolean }>('SELECT to_regclass(:t) IS NOT NULL AS ok', { t: backup })).rows[0]?.ok === true;
  const indexName = spec.operation.index?.name;
  const empty: MigrationObjects = { oldColumn: false, newColumn: null, syncTriggers: [], index: indexName ? { name: indexName, exists: false, valid: false } : null, backupTable: { name: `${STATE_SCHEMA}.${names.backupTable}`, exists: backupExists } };
  if (!exists) return empty;
  const columns = (
    await db.query<{ attname: string; type: string; notnull: boolean }>(
      `SELECT attname, format_type(atttypid, atttypmod) AS type, attnotnull AS notnull FROM pg_attribute
       WHERE attrelid = to_regclass(:t) AND attnum > 0 AND NOT attisdropped AND attname IN (:old, :new)`,
      { t: table, old: spec.operation.column, new: spec.operation.newColumn },
    )
  ).rows;
  const column = columns.find((c) => c.attname === spec.operation.newColumn);
  const triggers = (
    await db.query<{ tgname: string }>(`SELECT tgname FROM pg_trigger WHERE tgrelid = to_regclass(:t) AND tgname IN (:a, :b) ORDER BY tgname`, { t: table, a: names.syncTrigger, b: names.syncUpdateTrigger })
  ).rows.map((r) => r.tgname);
  let index: MigrationObjects['index'] = null;
  if (indexName) {
    const found = (
      await db.query<{ valid: boolean }>(
        `SELECT i.indisvalid AS valid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = to_regclass(:t) AND c.relname = :name`,
        { t: table, name: indexName },
      )
    ).rows[0];
    index = { name: indexName, exists: !!found, valid: found?.valid === true || String(found?.valid) === 'true' };
  }
  return {
    oldColumn: columns.some((c) => c.attname === spec.operation.column),
    newColumn: column ? { type: column.type, notNull: column.notnull === true || String(column.notnull) === 'true' } : null,
    syncTriggers: triggers,
    index,
    backupTable: empty.backupTable,
  };
}

/** The commands that get the migration out of the state it is in. */
export function nextCommands(view: Omit<MigrationStatusView, 'next'>, specFile: string, target: StatusTarget): MigrationStatusView['next'] {
  const run = target.local ? `stepwise run --local --spec ${specFile} ${target.databaseFlags}` : `stepwise start --spec ${specFile}`;
  const rollback = { what: 'undo it (drops what the migration added; the old column is untouched)', command: `stepwise rollback --spec ${specFile} ${target.databaseFlags}` };
  const row = view.row;
  if (!row) return [{ what: 'start it', command: run }];
  if (row.status === MigrationStatus.Succeeded) return [];
  if (row.status !== MigrationStatus.Running) return [{ what: 'run it again (it starts over)', command: run }];
  if (view.ownerRunning === true) {
    return [{ what: `follow its execution (it is running)`, command: `stepwise status ${row.execution}` }];
  }
  const resume = target.local || !row.execution ? run : `${run} --resume-from ${row.execution}`;
  return [{ what: `resume it from phase ${row.phase}${row.gatesPassed.length ? ' (gates already passed are not asked again; add --repeat-gates to ask them)' : ''}`, command: resume }, rollback];
}

/** The view in words. */
export function formatMigrationStatus(v: MigrationStatusView): string {
  const lines = [`migration "${v.migration}" on ${v.table}`];
  const r = v.row;
  if (!r) {
    lines.push('  not started on this database: no row in the state table, nothing was changed');
  } else {
    lines.push(`  status:    ${r.status}, phase ${r.phase}${r.paused ? ' (backfill paused)' : ''}`);
    if (r.status === MigrationStatus.Running) {
      const owner = r.execution ?? '(none: any run may carry it on)';
      const state = v.ownerRunning === true ? 'still running' : v.ownerRunning === false ? 'no longer runs' : 'not known from here';
      lines.push(`  owner:     execution ${owner}${r.execution ? ` — ${state}` : ''}`);
    }
    const percent = r.rowsEstimate ? ` (${Math.min(100, Math.round((100 * r.rowsDone) / Math.max(r.rowsEstimate, 1)))}% of about ${r.rowsEstimate})` : '';
    lines.push(`  backfill:  cursor ${r.cursor ?? '(start)'}, ${r.rowsDone} rows done${percent}, ${r.batches} batches`);
    lines.push(`  gates passed: ${r.gatesPassed.length ? [...r.gatesPassed].sort().join(', ') : 'none'}; soak ${r.soakServedAt ? `served (${r.soakServedAt})` : 'not served'}`);
  }
  const o = v.objects;
  lines.push('  in the table:');
  lines.push(`    old column: ${o.oldColumn ? 'present' : 'absent'}`);
  lines.push(`    new column: ${o.newColumn ? `present (${o.newColumn.type}${o.newColumn.notNull ? ', NOT NULL' : ', nullable'})` : 'absent'}`);
  lines.push(`    sync trigger: ${o.syncTriggers.length ? o.syncTriggers.join(', ') : 'absent'}`);
  if (o.index) lines.push(`    index ${o.index.name}: ${o.index.exists ? (o.index.valid ? 'present' : 'present but INVALID (the next run rebuilds it)') : 'absent'}`);
  lines.push(`    backup copy ${o.backupTable.name}: ${o.backupTable.exists ? 'present' : 'absent'}`);
  if (v.next.length === 0) lines.push(r?.status === MigrationStatus.Succeeded ? '  done: nothing to do' : '  nothing to do');
  else {
    lines.push('  next:');
    for (const n of v.next) lines.push(`    ${n.what}:\n      ${n.command}`);
  }
  return lines.join('\n');
}
