import { DEFAULT_SCAN_BATCH_SIZE } from '../backfill';
import { readTableFacts } from '../catalog/read-table-facts';
import type { Executor } from '../db/executor';
import { DataCheckError, PreflightError, StepwiseError } from '../errors';
import { operationFor } from '../operations';
import { durationToSeconds, parseSpec, type Spec } from '../spec';
import { quoteTable } from '../sql/quote';
import { findRunningOnTable, lockedError, MigrationStatus, readMigration } from '../state/migration-state';
import type { PhaseEvent, PreflightResult } from '../workflow/state';
import type { PhaseDeps } from './phase-context';
import { scanTable } from './scan-table';

/** Longest time preflight spends on data checks before it leaves the rest to verification (ms). */
const DATA_CHECK_BUDGET_MS = 25_000;

/**
 * Preflight: everything that can be known before a change, checked read-only. Any problem throws an error naming the
 * fix, and the workflow ends before the first change. Nothing is written, not even Stepwise's state table.
 */
export async function preflightPhase(event: PhaseEvent, deps: PhaseDeps): Promise<PreflightResult> {
  const { db } = deps;
  const now = deps.now ?? Date.now;
  const spec = parseSpec(event.state.spec);
  const table = await readTableFacts(db, spec.table);
  const { operation, ctx } = operationFor(spec, table);

  const other = await findRunningOnTable(db, spec);
  if (other) throw lockedError(spec, other);
  const own = await readMigration(db, spec.name);
  const resuming = own?.status === MigrationStatus.Running;

  const issues = operation.validate(ctx).filter((i) => !(resuming && i.code === 'SW_NEW_COLUMN_EXISTS'));
  if (issues.length > 0) {
    const first = issues[0]!;
    throw new PreflightError(first.code, issues.map((i) => i.message).join('; '), issues.map((i) => i.hint).join(' '), {
      table: `${table.schema}.${table.name}`,
      issues,
    });
  }
  await checkTypeAndExpression(db, spec);

  const warnings: string[] = [];
  const checks = operation.dataChecks(ctx);
  if (checks.length > 0) {
    const predicates = Object.fromEntries(checks.map((c, i) => [`check_${String.fromCharCode(97 + i)}`, c.predicate]));
    const totals = await scanTable(db, table, predicates, { batchSize: DEFAULT_SCAN_BATCH_SIZE * 5, deadline: now() + DATA_CHECK_BUDGET_MS, now });
    const failed = checks
      .map((c, i) => ({ check: c, key: `check_${String.fromCharCode(97 + i)}` }))
      .filter(({ key }) => (totals.counts[key] ?? 0) > 0);
    if (failed.length > 0) {
      const lines = failed.map(({ check, key }) => `${totals.counts[key]} ${check.message} (e.g. ${table.primaryKey.column} = ${(totals.samples[key] ?? []).slice(0, 10).join(', ')})`);
      throw new DataCheckError(failed[0]!.check.code, lines.join('; '), failed.map(({ check }) => check.hint).join(' '), {
        table: `${table.schema}.${table.name}`,
        counts: Object.fromEntries(failed.map(({ check, key }) => [check.code, totals.counts[key]])),
        sampleIds: Object.fromEntries(failed.map(({ check, key }) => [check.code, totals.samples[key]])),
      });
    }
    if (!totals.done) warnings.push(`data checks covered ${totals.rowsChecked} rows in the time available; verification checks the rest`);
  }
  if (resuming) warnings.push(`resuming migration "${spec.name}" from phase ${own?.phase} (${own?.rows_done} rows done)`);

  return {
    primaryKey: table.primaryKey.column,
    primaryKeyType: table.primaryKey.type,
    estimatedRows: table.estimatedRows,
    soakSeconds: durationToSeconds(spec.soak),
    warnings,
  };
}

/**
 * Proves that `newType` is a type and `using` is one expression over this table's columns that converts to it, by
 * evaluating it on one row inside a READ ONLY transaction that is always rolled back: an expression with side effects
 * (nextval, a writing function) fails here instead of running.
 */
async function checkTypeAndExpression(db: Executor, spec: Spec): Promise<void> {
  const op = spec.operation;
  const type = (await db.query<{ ok: boolean }>('SELECT to_regtype(:type) IS NOT NULL AS ok', { type: op.newType })).rows[0];
  if (!type?.ok) {
    throw new PreflightError('SW_TYPE_NOT_FOUND', `type "${op.newType}" does not exist`, 'Set operation.newType to a Postgres type such as integer, bigint or numeric(12,2).', { newType: op.newType });
  }
  const rollback = new Error('rollback');
  try {
    await db.transaction(async (tx) => {
      await tx.query('SET TRANSACTION READ ONLY');
      await tx.query(`SELECT (${op.using})::${op.newType} AS v FROM ${quoteTable(spec.table)} LIMIT 1`);
      throw rollback;
    });
  } catch (err) {
    if (err === rollback) return;
    if (err instanceof StepwiseError && err.code !== 'SW_DB_ERROR') throw err;
    throw new PreflightError(
      'SW_USING_INVALID',
      `operation.using "${op.using}" is not a side-effect-free expression over ${spec.table.schema}.${spec.table.name} that converts to ${op.newType}: ${(err as Error).message}`,
      'Write one SQL expression over the table\'s own columns, e.g. round(price * 100).',
      { using: op.using },
    );
  }
}
