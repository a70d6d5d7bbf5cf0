import type { PreviousInvocation } from '../backfill';
import { Gate, Phase } from '../constants';
import type { Executor } from '../db/executor';
import { LockTimeoutError, RollbackBlockedError, StepwiseError } from '../errors';
import { objectNames, STATE_SCHEMA } from '../operations/names';
import type { AddedObject, Plan } from '../operations/operation';
import { quoteIdent } from '../sql/quote';
import {
  acceptHandover,
  markPhase,
  MigrationStatus,
  readKeepNewColumn,
  readMigration,
  readMigrationOwner,
  recordKeepNewColumn,
  type MigrationOwner,
} from '../state/migration-state';
import { RollbackOutcome, type PhaseEvent, type RollbackResult } from '../workflow/state';
import { executePlan } from './execute-plan';
import { cancelLongStatements, longStatementClock } from './long-statement';
import { loadPhaseContext, type PhaseDeps } from './phase-context';
import { rollbackResult } from './rollback-summary';

/**
 * Lock-timeout retries of the rollback's one transaction. Rollback is the last line of defence, but a session that
 * holds a conflicting lock (often idle in transaction) will not let go because we ask again: after
 * `lockTimeoutMs × (1 + ROLLBACK_LOCK_RETRIES)` (plus jitter) it gives up, names the blockers, and leaves the
 * migration resumable. @internal
 */
export const ROLLBACK_LOCK_RETRIES = 1;

/** The how-to for undoing a migration from the command line (no execution needed). */
const ROLLBACK_COMMAND = (migration: string) =>
  `stepwise rollback --spec <the spec file of "${migration}"> --database-url <url> (on AWS: --cluster-arn <arn> --secret-arn <arn> --database <name>)`;

/**
 * Rollback, phase-aware and truthful:
 * - only the execution that owns the migration undoes it (a row never claimed, claimed by another execution, or
 *   already ended is reported as `nothing-to-do` / `skipped`, with the reason and the command that does the work);
 * - after contract it refuses (`SW_ROLLBACK_AFTER_CONTRACT`): the old column is gone;
 * - once the application was asked to read or write the new column (recorded in the state row, set-only), it removes
 *   only the sync machinery and keeps the new column, its index and the backup (`released`);
 * - otherwise it drops what expand added (`rolled-back`), the old column untouched.
 * It drops only objects the catalog shows exist (checked without locking the table): a change that never happened
 * takes no lock and ends rolled back. The one transaction it needs gets `ROLLBACK_LOCK_RETRIES` lock-timeout retries;
 * then it throws `RollbackBlockedError` naming the blocking sessions, with nothing dropped and the phase restored.
 * What it reports as dropped and kept is read back from the catalog afterwards.
 */
export async function rollbackPhase(event: PhaseEvent, deps: PhaseDeps): Promise<RollbackResult> {
  const now = deps.now ?? Date.now;
  const started = now();
  const context = await loadPhaseContext(event, deps.db);
  const { spec, table, operation, ctx } = context;
  const { db } = deps;
  const objects = [...operation.addedObjects(ctx), backupObject(spec.name)];
  const result = (outcome: RollbackOutcome, rest: { dropped?: string[]; kept?: string[]; reason?: string; command?: string; steps?: string[] }) =>
    rollbackResult({
      migration: spec.name,
      outcome,
      oldColumn: spec.operation.column,
      newColumn: spec.operation.newColumn,
      dropped: rest.dropped ?? [],
      kept: rest.kept ?? [],
      ...(rest.reason === undefined ? {} : { reason: rest.reason }),
      ...(rest.command === undefined ? {} : { command: rest.command }),
      steps: rest.steps ?? [],
      seconds: (now() - started) / 1000,
    });

  const own = await readMigration(db, spec.name);
  if (!own) {
    return result(RollbackOutcome.NothingToDo, { reason: `no migration "${spec.name}" was claimed on this database (the execution stopped before Backup), so it changed nothing` });
  }
  const contracted = own.phase === Phase.Contract || own.status === MigrationStatus.Succeeded;
  // A continued execution that failed before its backfill took the row over (continue-as-new) is the owner the
  // previous execution named: it takes the row now, so its rollback undoes the migration rather than nothing.
  const carried = (event.state as { backfill?: PreviousInvocation }).backfill;
  if (event.execution && carried?.execution && carried.continuation?.executionArn === event.execution) {
    await acceptHandover(db, spec.name, carried.execution, event.execution);
  }
  const owner = await readMigrationOwner(db, spec.name);
  const ours = owner?.status === MigrationStatus.Running && (owner.execution ?? null) === (event.execution ?? null);
  if (contracted || (ours && !table.columns.some((c) => c.name === spec.operation.column))) {
    throw new StepwiseError(
      'SW_ROLLBACK_AFTER_CONTRACT',
      `column "${spec.operation.column}" no longer exists: contract has run, so an automatic rollback would lose data`,
      `Restore the old values from ${STATE_SCHEMA}.${objectNames(spec.name).backupTable} (primary key + old column) or from your snapshot.`,
      { migration: spec.name },
    );
  }
  if (!ours) {
    const present = await probe(db, objects);
    const kept = labels(objects, present);
    return result(RollbackOutcome.Skipped, {
      kept,
      reason: notOursReason(spec.name, owner, event.execution),
      ...(kept.length ? { command: skippedCommand(spec.name, owner, manualSql(operation.rollback(ctx, present), present.has(BACKUP_ID) ? backupDrop(spec.name) : undefined)) } : {}),
    });
  }

  // The event's approvals are this execution's own record of what the application was told; the row keeps it.
  const approvals = (event.state as { approvals?: Record<string, unknown> }).approvals ?? {};
  if (approvals[Gate.ReadFromNewDeployed] != null) {
    await recordKeepNewColumn(db, spec.name, `${Gate.ReadFromNewDeployed} was approved: the application reads "${spec.operation.newColumn}"`);
  }
  if (approvals[Gate.DualWriteDeployed] != null) {
    await recordKeepNewColumn(db, spec.name, `${Gate.DualWriteDeployed} was approved: the application writes "${spec.operation.newColumn}"`);
  }
  const keep = await readKeepNewColumn(db, spec.name);

  // First the phase: a backfill batch still in flight (a key range of a failed Map state) sees it and stops.
  await markPhase(db, spec.name, Phase.Rollback);
  // A CREATE INDEX CONCURRENTLY or VALIDATE still running from a forward phase would hold up the DROPs below.
  const clock = longStatementClock(deps);
  const cancelled = await cancelLongStatements(db, spec.name, clock);
  if (cancelled.length) deps.log?.('cancelled long statements', { pids: cancelled });

  const before = await probe(db, objects);
  const plan = keep ? operation.release(ctx, before) : operation.rollback(ctx, before);
  let steps: string[];
  try {
    steps = await executePlan(db, plan, spec.lockTimeoutMs, { migration: spec.name, clock }, { lockRetries: ROLLBACK_LOCK_RETRIES });
  } catch (err) {
    if (!(err instanceof LockTimeoutError)) throw err;
    // Nothing was dropped (the plan is one transaction): give the migration back its phase so it can resume.
    if (own.phase !== Phase.Rollback) await markPhase(db, spec.name, own.phase);
    throw blockedError(spec.name, own.phase, spec.lockTimeoutMs, err);
  }
  if (!keep) await db.query(`DROP TABLE IF EXISTS ${backupDrop(spec.name).table}`);

  const after = await probe(db, objects);
  const dropped = labels(objects, before).filter((label) => !labels(objects, after).includes(label));
  const kept = labels(objects, after);
  if (!keep && kept.length) {
    throw new StepwiseError(
      'SW_ROLLBACK_INCOMPLETE',
      `rollback of "${spec.name}" ran, but the catalog still shows ${kept.join(', ')}`,
      'Something re-created them meanwhile (another attempt of a forward phase?); make sure no execution of this migration runs, then roll back again.',
      { migration: spec.name, kept },
    );
  }
  await markPhase(db, spec.name, Phase.Rollback, MigrationStatus.RolledBack);
  if (!keep) return result(RollbackOutcome.RolledBack, { dropped, steps });
  return result(RollbackOutcome.Released, {
    dropped,
    kept,
    reason: `${keep.reason} (recorded ${keep.since})`,
    command: manualSql(operation.rollback(ctx, after), after.has(BACKUP_ID) ? backupDrop(spec.name) : undefined) ?? '(nothing left)',
    steps,
  });
}

const BACKUP_ID = 'backup';

function backupDrop(migration: string) {
  const table = `${quoteIdent(STATE_SCHEMA)}.${quoteIdent(objectNames(migration).backupTable)}`;
  return { table, sql: `DROP TABLE IF EXISTS ${table}` };
}

/** The local table copy Backup made: dropped with the rest, kept with the new column. */
function backupObject(migration: string): AddedObject {
  const { table } = backupDrop(migration);
  return { id: BACKUP_ID, label: `backup table ${table}`, probe: { sql: 'SELECT to_regclass(:backup) IS NOT NULL AS present', params: { backup: table } } };
}

/** Which of the objects exist now: catalog reads only, no lock on the user's table. */
async function probe(db: Executor, objects: readonly AddedObject[]): Promise<ReadonlySet<string>> {
  const present = new Set<string>();
  for (const object of objects) {
    const row = (await db.query<{ present: boolean }>(object.probe.sql, object.probe.params)).rows[0];
    if (row?.present === true) present.add(object.id);
  }
  return present;
}

function labels(objects: readonly AddedObject[], present: ReadonlySet<string>): string[] {
  return objects.filter((o) => present.has(o.id)).map((o) => o.label);
}

/** The SQL of a plan (and the backup drop), as one line an operator can run; undefined when there is nothing to do. */
function manualSql(plan: Plan, backup: { sql: string } | undefined): string | undefined {
  const statements = [...plan.flatMap((step) => step.statements.map((s) => s.sql)), ...(backup ? [backup.sql] : [])];
  return statements.length ? `${statements.join('; ')};` : undefined;
}

function notOursReason(migration: string, owner: MigrationOwner | undefined, execution: string | undefined): string {
  if (owner?.status === MigrationStatus.Running) {
    return `migration "${migration}" is running for execution ${owner.execution ?? '(none recorded)'}, not for this one (${execution ?? 'no execution id'}); its changes are not this execution's to undo`;
  }
  return `migration "${migration}" is already ${owner?.status ?? 'ended'} (phase ${owner?.phase ?? 'unknown'}); this execution does not own it`;
}

function skippedCommand(migration: string, owner: MigrationOwner | undefined, sql: string | undefined): string | undefined {
  if (owner?.status === MigrationStatus.Running) {
    return `${owner.execution ? `stop execution ${owner.execution} if it still runs (stepwise abort ${owner.execution}), then ` : ''}${ROLLBACK_COMMAND(migration)}`;
  }
  return sql ? `once no application version uses them: ${sql}` : undefined;
}

function blockedError(migration: string, phase: string, lockTimeoutMs: number, err: LockTimeoutError): RollbackBlockedError {
  const blockers = (err.details.blockers as { pid: number; state: string | null }[] | undefined) ?? [];
  const pids = blockers.map((b) => b.pid);
  return new RollbackBlockedError(
    `rollback of "${migration}" gave up after ${(ROLLBACK_LOCK_RETRIES + 1)} tries of lock_timeout ${lockTimeoutMs} ms: ${err.message}. Nothing was dropped; the migration is left resumable (phase ${phase}, status running)`,
    pids.length
      ? `End or wait for the blocking session(s) (e.g. SELECT pg_terminate_backend(${pids.join('), pg_terminate_backend(')}) for an idle one), then roll back with ${ROLLBACK_COMMAND(migration)}, or resume with the same spec.`
      : `The blocker has ended; roll back with ${ROLLBACK_COMMAND(migration)}, or resume with the same spec.`,
    { migration, phase, blockers, lockTimeoutMs },
    { cause: err },
  );
}
