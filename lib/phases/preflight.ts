import { DEFAULT_SCAN_BATCH_SIZE, resolveBackfillSettings } from '../backfill';
import { readTableFacts } from '../catalog/read-table-facts';
import { backfillEstimateCheck, sampleBackfill } from '../catalog/backfill-estimate';
import { formatBytes, headroomCheck, readSize, sizeCheck, type SizeFacts } from '../catalog/table-size';
import { backfillTriggersCheck, maySkipUserTriggers, readUpdateTriggers } from '../catalog/backfill-triggers';
import {
  indexNameCheck,
  invalidIndexesCheck,
  laterTriggersCheck,
  privilegesCheck,
  readExpressionFacts,
  readIndexFacts,
  readPrivileges,
  readServerVersion,
  readSessions,
  longStatementsCheck,
  readStatementTimeout,
  statementTimeoutCheck,
  sessionsCheck,
  stagingCheck,
  versionCheck,
  windowCheck,
  type PreflightCheck,
} from '../catalog/preflight-checks';
import {
  checkError,
  conversionBoundsCheck,
  estimateBackfillWalBytes,
  functionVolatilityCheck,
  generatedColumnsCheck,
  immutabilityCheck,
  newTypeRewriteCheck,
  oldColumnNullableCheck,
  probeImmutable,
  readConversionBounds,
  readFunctionVolatility,
  readGeneratedColumns,
  readNewTypeFacts,
  readNullGivesNull,
  readReplication,
  replicationCheck,
} from '../catalog/expression-checks';
import type { Executor } from '../db/executor';
import { analyzeUsing, type UsingAnalysis } from '../spec/expression';
import { tagsVisible } from './long-statement';
import { DataCheckError, MigrationLockedError, PreflightError, StepwiseError, asStepwiseError } from '../errors';
import { conversionChecks, type ConvertDataCheck, type ExpressionFacts } from '../operations/convert-column';
import type { TableFacts } from '../operations/operation';
import { objectNames, operationFor, STATE_SCHEMA } from '../operations';
import { durationToSeconds, parseSpec, sampleKeysAllowed, type Spec } from '../spec';
import {
  findRunningOnTable,
  lockedError,
  MigrationStatus,
  readMigrationOwner,
  runningElsewhereError,
  runningForAnotherExecution,
  type MigrationOwner,
} from '../state/migration-state';
import { readResumePoint, SOAK_STEP } from '../state/resume-point';
import type { PhaseEvent, PreflightResult } from '../workflow/state';
import { executionDeadlineCheck } from './execution-deadline';
import type { PhaseDeps } from './phase-context';
import { scanTable } from './scan-table';

export type { CheckStatus, PreflightCheck } from '../catalog/preflight-checks';

/** Longest time preflight spends on data checks before it leaves the rest to verification (ms). */
const DATA_CHECK_BUDGET_MS = 25_000;

/**
 * What preflight returns: the `PreflightResult` the workflow reads, plus every check with its status and fix, and
 * `alreadyDone` when this migration already succeeded and the column is converted (the run must then change nothing:
 * the workflow should end successfully right after preflight).
 */
export interface PreflightReport extends PreflightResult {
  readonly checks: readonly PreflightCheck[];
  readonly alreadyDone?: boolean;
}

export interface PreflightCheckOptions {
  /** The Step Functions execution id asking; a row running for another execution is refused. */
  readonly execution?: string;
  readonly now?: () => number;
  /** Time the data checks may take (ms). @default 25000 */
  readonly dataCheckBudgetMs?: number;
}

/**
 * Preflight: everything that can be known before a change, checked read-only. Any failing check throws its error
 * (code, problem, fix) and the workflow ends before the first change. Nothing is written, not even Stepwise's state
 * table. Warnings are returned in `warnings` and every check in `checks`.
 */
export async function preflightPhase(event: PhaseEvent, deps: PhaseDeps): Promise<PreflightReport> {
  const now = deps.now ?? Date.now;
  const spec = parseSpec(event.state.spec);
  // Before any database access: a migration that cannot finish within its execution would end TIMED_OUT, no rollback.
  const deadline = executionDeadlineCheck(spec, event.limits, new Date(now()));
  if (deadline.status === 'fail') throw new PreflightError(deadline.code ?? 'SW_EXECUTION_TIMEOUT_TOO_SHORT', deadline.message, deadline.hint, deadline.details ?? {});
  const run = await collectChecks(deps.db, spec, { ...(event.execution ? { execution: event.execution } : {}), now });
  const failure = run.failures[0];
  if (failure) {
    if (run.failures.length > 1) {
      (failure.details as Record<string, unknown>).otherFailures = run.failures.slice(1).map((f) => `${f.code}: ${f.message}`);
    }
    throw failure;
  }
  const table = run.table!;
  const warnings = run.checks.filter((c) => c.status === 'warn').map((c) => `${c.name}: ${c.message}`);
  return {
    primaryKey: table.primaryKey.column,
    primaryKeyType: table.primaryKey.type,
    estimatedRows: table.estimatedRows,
    soakSeconds: durationToSeconds(spec.soak),
    warnings,
    checks: run.checks,
    ...(run.alreadyDone ? { alreadyDone: true } : {}),
    ...(await resumeSkips(deps.db, spec)),
  };
}

/**
 * A run that carries on a running migration (a resume) skips the gates and the soak the state row records as passed,
 * unless the spec asks to repeat them (`repeatGates`, `--repeat-gates`). Read-only.
 */
async function resumeSkips(db: Executor, spec: Spec): Promise<Pick<PreflightResult, 'resume'>> {
  const own = await readMigrationOwner(db, spec.name);
  if (own?.status !== MigrationStatus.Running || spec.repeatGates) return {};
  const point = await readResumePoint(db, spec.name);
  if (!point) return {};
  const skip: Record<string, true> = Object.fromEntries(point.gatesPassed.map((gate) => [gate, true as const]));
  if (point.soakServedAt) skip[SOAK_STEP] = true;
  return Object.keys(skip).length ? { resume: { skip } } : {};
}

/**
 * Every preflight check, for `stepwise plan --database-url` and the CLI: never throws for a failing check (it is a
 * `fail` entry naming the fix), only for an unreachable database. Read-only.
 *
 * @example (await runPreflightChecks(executor, spec)).filter((c) => c.status !== 'pass')
 */
export async function runPreflightChecks(db: Executor, spec: unknown, options: PreflightCheckOptions = {}): Promise<PreflightCheck[]> {
  let parsed: Spec;
  try {
    parsed = parseSpec(spec);
  } catch (err) {
    const e = asStepwiseError(err);
    return [fail('spec', e)];
  }
  return (await collectChecks(db, parsed, options)).checks;
}

interface CollectedChecks {
  checks: PreflightCheck[];
  failures: StepwiseError[];
  table?: TableFacts;
  alreadyDone: boolean;
}

async function collectChecks(db: Executor, spec: Spec, options: PreflightCheckOptions): Promise<CollectedChecks> {
  const now = options.now ?? Date.now;
  const out: CollectedChecks = { checks: [], failures: [], alreadyDone: false };
  const add = (check: PreflightCheck, error?: StepwiseError) => {
    out.checks.push(check);
    if (check.status === 'fail') out.failures.push(error ?? new PreflightError(check.code ?? 'SW_PREFLIGHT_FAILED', check.message, check.hint));
  };
  const failWith = (name: string, error: StepwiseError) => add(fail(name, error), error);
  /** Runs an informational check; a database error becomes a warning instead of stopping preflight. */
  const soft = async (name: string, f: () => Promise<PreflightCheck>) => {
    try {
      add(await f());
    } catch (err) {
      add({ name, status: 'warn', message: `could not check: ${(err as Error).message}`, hint: 'Grant the migration role read access to pg_catalog views, or check this by hand.' });
    }
  };

  // 1. The server.
  const version = await readServerVersion(db);
  add(versionCheck(version));

  // 2. The table, its key and its columns.
  let table: TableFacts;
  try {
    table = await readTableFacts(db, spec.table);
  } catch (err) {
    failWith('table', asStepwiseError(err));
    return out;
  }
  out.table = table;
  add({ name: 'table', status: 'pass', message: `${table.schema}.${table.name}: primary key ${table.primaryKey.column} (${table.primaryKey.type}), ${table.columns.length} columns`, hint: '' });
  const { operation, ctx } = operationFor(spec, table);
  const indexFacts = await readIndexFacts(db, spec);
  if (indexFacts.partitioned && spec.operation.index) {
    failWith(
      'table',
      new PreflightError(
        'SW_PARTITIONED_INDEX',
        `${table.schema}.${table.name} is partitioned, and Postgres cannot CREATE INDEX CONCURRENTLY on a partitioned table`,
        'Remove operation.index from the spec; after the migration, create the index on each partition CONCURRENTLY, then CREATE INDEX ON ONLY the parent and ALTER INDEX … ATTACH PARTITION each one.',
        { table: `${table.schema}.${table.name}` },
      ),
    );
  }

  // 3. One migration per table; a finished migration is done.
  const other = await findRunningOnTable(db, spec);
  if (other) failWith('migration', lockedError(spec, other));
  const own = await readMigrationOwner(db, spec.name);
  if (own && runningForAnotherExecution(own, options.execution, spec.resumeFrom)) failWith('migration', runningElsewhereError(spec, own, options.execution));
  if (!other && isAlreadyDone(own, spec, table, await finalColumnMatches(db, spec, table))) {
    out.alreadyDone = true;
    add({
      name: 'migration',
      status: 'pass',
      message: `migration "${spec.name}" already succeeded: ${spec.operation.column} is gone and ${finalColumn(spec)} is ${spec.operation.newType}; nothing to do`,
      hint: 'To migrate again, give the new migration another name.',
    });
    return out;
  }
  if (own?.status === MigrationStatus.Succeeded) {
    // A succeeded migration's name is not reused: its backup table (the way back after contract) would be replaced.
    failWith(
      'migration',
      new MigrationLockedError(
        'SW_MIGRATION_SUCCEEDED',
        `migration "${spec.name}" already succeeded, but the table does not match its result (${finalColumn(spec)} ${spec.operation.newType}): this spec differs from the one that ran`,
        `Give the new migration another name; "${spec.name}" keeps its backup table ${STATE_SCHEMA}."${objectNames(spec.name).backupTable}".`,
        { migration: spec.name },
      ),
    );
  }
  const resuming = own?.status === MigrationStatus.Running && out.failures.length === 0;
  if (!other && !runningForAnotherExecution(own, options.execution, spec.resumeFrom)) {
    add({
      name: 'migration',
      status: resuming ? 'warn' : 'pass',
      message: resuming
        ? `resuming migration "${spec.name}" from phase ${own?.phase} (${own?.rows_done} rows done)`
        : `no other migration is running on ${table.schema}.${table.name}`,
      hint: resuming ? 'This run continues where the last one stopped; every phase is idempotent.' : '',
    });
  }

  // 4. What the operation needs from the table.
  const issues = operation.validate(ctx).filter((i) => !(resuming && i.code === 'SW_NEW_COLUMN_EXISTS'));
  for (const issue of issues) {
    failWith('operation', new PreflightError(issue.code, issue.message, issue.hint, { table: `${table.schema}.${table.name}`, issues }));
  }
  if (issues.length === 0) add({ name: 'operation', status: 'pass', message: `${spec.operation.column} → ${spec.operation.newColumn} ${spec.operation.newType}`, hint: '' });
  add(indexNameCheck(spec, table, indexFacts, resuming), indexNameFailure(spec, indexFacts, resuming));
  add(invalidIndexesCheck(table, indexFacts, spec));
  if (spec.dualWrite === 'trigger') add(await laterTriggersCheck(db, table, objectNames(spec.name).syncTrigger));
  add(backfillTriggersCheck(await readUpdateTriggers(db, table), await maySkipUserTriggers(db), spec.backfill.fireTriggers ?? [], table));

  // 5. The type and the expression: parsed and proven deterministic before it is ever evaluated.
  let expression: ExpressionFacts | undefined;
  const analysis = await keepsWritesWorking(db, spec, table, add, failWith);
  if (analysis) {
    try {
      expression = await readExpressionFacts(db, spec, indexFacts.relations, version);
      add({ name: 'expression', status: 'pass', message: `${spec.operation.using} is one side-effect-free expression over ${table.schema}.${table.name}`, hint: '' });
    } catch (err) {
      failWith('expression', asStepwiseError(err));
    }
  }
  if (analysis && expression) await valuesKeepConverting(db, spec, table, analysis, add);

  // 6. Privileges of the migration role.
  const privileges = await readPrivileges(db, spec);
  const privilegeCheck = privilegesCheck(spec, privileges);
  add(privilegeCheck);

  // 7. The data (only when the expression evaluates: a broken expression would fail every row).
  if (expression && issues.length === 0 && spec.operation.type === 'convert-column') {
    await dataChecks(db, ctx as Parameters<typeof conversionChecks>[0], table, expression, now, options.dataCheckBudgetMs ?? DATA_CHECK_BUDGET_MS, add);
  }

  // 8. Size, sessions, headroom: advice, never a refusal.
  let size: SizeFacts | undefined;
  await soft('size', async () => {
    size = await readSize(db, spec);
    return sizeCheck(size, table.estimatedRows);
  });
  if (expression && issues.length === 0) {
    await soft('backfill estimate', async () => backfillEstimateCheck(await sampleBackfill(db, spec, table), table.estimatedRows, resolveBackfillSettings(spec.backfill)));
  }
  await soft('sessions', async () => sessionsCheck(await readSessions(db, spec), table));
  await soft('statement-timeout', async () => statementTimeoutCheck(await readStatementTimeout(db)));
  await soft('long-statements', async () => longStatementsCheck(await tagsVisible(db)));
  if (size) add(headroomCheck(size, table.estimatedRows, !!spec.operation.index));
  await soft('replication', async () => {
    const replication = await readReplication(db, spec);
    return replicationCheck(replication, estimateBackfillWalBytes(replication.heapBytes, replication.totalBytes), table.estimatedRows, formatBytes);
  });

  // 9. The runbook's checklist items a program can read from the spec (the others are confirmed at ApproveStart).
  add(stagingCheck(spec));
  add(windowCheck(spec));
  return out;
}

/**
 * The checks that keep application writes working from expand to contract (issue 14): `using` parsed by the real
 * Postgres parser, what it calls looked up in pg_proc, the whole expression proven immutable by the server, no
 * generated column read, no table rewrite by the new type. Returns the parse when `using` is safe to evaluate.
 */
async function keepsWritesWorking(
  db: Executor,
  spec: Spec,
  table: TableFacts,
  add: (check: PreflightCheck, error?: StepwiseError) => void,
  failWith: (name: string, error: StepwiseError) => void,
): Promise<UsingAnalysis | undefined> {
  let analysis: UsingAnalysis;
  try {
    analysis = await analyzeUsing(spec.operation.using);
  } catch (err) {
    failWith('expression', asStepwiseError(err));
    return undefined;
  }
  const checked = (check: PreflightCheck) => {
    add(check, checkError(check, spec));
    return check.status !== 'fail';
  };
  checked(newTypeRewriteCheck(spec, await readNewTypeFacts(db, spec.operation.newType)));
  const noGenerated = checked(generatedColumnsCheck(spec, analysis, await readGeneratedColumns(db, table)));
  if (!checked(functionVolatilityCheck(spec, await readFunctionVolatility(db, analysis.functions)))) return undefined;
  if (!checked(immutabilityCheck(spec, await probeImmutable(db, spec)))) return undefined;
  return noGenerated ? analysis : undefined;
}

/** Values the application may still write: the old type's whole range, and NULL under notNull. */
async function valuesKeepConverting(db: Executor, spec: Spec, table: TableFacts, analysis: UsingAnalysis, add: (check: PreflightCheck) => void): Promise<void> {
  if (spec.operation.notNull) add(oldColumnNullableCheck(spec, table, await readNullGivesNull(db, spec)));
  add(conversionBoundsCheck(spec, await readConversionBounds(db, spec, table, analysis)));
}

async function dataChecks(
  db: Executor,
  ctx: Parameters<typeof conversionChecks>[0],
  table: TableFacts,
  expression: ExpressionFacts,
  now: () => number,
  budgetMs: number,
  add: (check: PreflightCheck, error?: StepwiseError) => void,
): Promise<void> {
  const checks: ConvertDataCheck[] = conversionChecks(ctx, expression);
  if (checks.length === 0) return;
  const key = (i: number) => `check_${String.fromCharCode(97 + i)}`;
  const predicates = Object.fromEntries(checks.map((c, i) => [key(i), c.predicate]));
  const totals = await scanTable(db, table, predicates, { batchSize: DEFAULT_SCAN_BATCH_SIZE * 5, deadline: now() + budgetMs, now });
  const where = `${table.schema}.${table.name}`;
  const showSamples = sampleKeysAllowed(ctx.spec);
  checks.forEach((check, i) => {
    const count = totals.counts[key(i)] ?? 0;
    const samples = totals.samples[key(i)] ?? [];
    const name = `data: ${check.code}`;
    if (count === 0) {
      add({ name, status: 'pass', message: `no ${check.message}`, hint: '', code: check.code });
      return;
    }
    const message = `${count} ${check.message}${showSamples ? ` (e.g. ${table.primaryKey.column} = ${samples.slice(0, 10).join(', ')})` : ''}`;
    if (check.severity === 'warn') {
      add({ name, status: 'warn', message, hint: check.hint, code: check.code });
      return;
    }
    add(
      { name, status: 'fail', message, hint: check.hint, code: check.code },
      new DataCheckError(check.code, message, check.hint, { table: where, counts: { [check.code]: count }, ...(showSamples ? { sampleIds: { [check.code]: samples } } : {}) }),
    );
  });
  if (!totals.done) {
    add({
      name: 'data: coverage',
      status: 'warn',
      message: `data checks covered ${totals.rowsChecked} rows in the time available; verification checks the rest`,
      hint: 'Values that do not convert in the rest of the table make the backfill fail, and the workflow rolls back.',
    });
  }
}

// ── helpers ──────────────────────────────────────────────────────────────────────────────────────────────────────

function fail(name: string, error: StepwiseError): PreflightCheck {
  return { name, status: 'fail', message: error.message, hint: error.hint, code: error.code };
}

function finalColumn(spec: Spec): string {
  return spec.operation.renameTo ?? spec.operation.newColumn;
}

async function finalColumnMatches(db: Executor, spec: Spec, table: TableFacts): Promise<boolean> {
  const column = table.columns.find((c) => c.name === finalColumn(spec));
  if (!column) return false;
  const row = (await db.query<{ same: boolean }>('SELECT to_regtype(:have) = to_regtype(:want) AS same', { have: column.type, want: spec.operation.newType })).rows[0];
  return row?.same === true;
}

/**
 * A migration is done when its row says it succeeded, the old column is gone (or was renamed over) and the final
 * column has the new type.
 */
export function isAlreadyDone(own: MigrationOwner | undefined, spec: Spec, table: TableFacts, finalTypeMatches: boolean): boolean {
  if (own?.status !== MigrationStatus.Succeeded) return false;
  const op = spec.operation;
  const oldGone = finalColumn(spec) === op.column || !table.columns.some((c) => c.name === op.column);
  return oldGone && finalTypeMatches && !table.columns.some((c) => c.name === op.newColumn && op.newColumn !== finalColumn(spec));
}

/** The failure to raise when the spec's index name is taken by something Stepwise must not drop. */
function indexNameFailure(spec: Spec, facts: Awaited<ReturnType<typeof readIndexFacts>>, resuming: boolean): StepwiseError | undefined {
  const check = indexNameCheck(spec, undefined, facts, resuming);
  return check.status === 'fail' ? new PreflightError(check.code ?? 'SW_INDEX_NAME_TAKEN', check.message, check.hint, { index: spec.operation.index?.name }) : undefined;
}
