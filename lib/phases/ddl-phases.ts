import { Gate, Phase } from '../constants';
import { StepwiseError } from '../errors';
import { objectNames, STATE_SCHEMA } from '../operations/names';
import { quoteIdent } from '../sql/quote';
import type { PreviousInvocation } from '../backfill';
import { acceptHandover, markPhase, markPhaseStatement, MigrationStatus, READ_SWITCHED_PHASE, readMigration, readMigrationOwner } from '../state/migration-state';
import type { PhaseEvent, PhaseSummary } from '../workflow/state';
import type { Plan, Statement } from '../operations/plan';
import { executePlan } from './execute-plan';
import { cancelLongStatements, longStatementClock } from './long-statement';
import { loadPhaseContext, type PhaseDeps } from './phase-context';

/** Expand: the new column, the sync trigger (dualWrite: trigger) and the index, each step idempotent. */
export async function expandPhase(event: PhaseEvent, deps: PhaseDeps): Promise<PhaseSummary> {
  return runDdlPhase(event, deps, Phase.Expand, ({ operation, ctx }) => operation.expand(ctx));
}

/** Constrain: NOT NULL through CHECK NOT VALID → VALIDATE → SET NOT NULL → DROP CHECK. */
export async function constrainPhase(event: PhaseEvent, deps: PhaseDeps): Promise<PhaseSummary> {
  return runDdlPhase(event, deps, Phase.Constrain, ({ operation, ctx }) => operation.constrain(ctx));
}

/** Contract: drop the trigger and the old column, rename the new one; the migration is then done. */
export async function contractPhase(event: PhaseEvent, deps: PhaseDeps): Promise<PhaseSummary> {
  // The row is marked succeeded in the contract's own transaction: the schema change and the record of it commit
  // together, so a Lambda that dies after COMMIT can never leave a converted table that looks unconverted.
  return runDdlPhase(event, deps, Phase.Contract, ({ operation, ctx, spec }) => withStatement(operation.contract(ctx), markPhaseStatement(spec.name, Phase.Contract, MigrationStatus.Succeeded)), MigrationStatus.Succeeded);
}

/** Appends a statement to the plan's last transactional step (so it commits with it). */
function withStatement(plan: Plan, statement: Statement): Plan {
  const last = plan.map((s) => s.transactional).lastIndexOf(true);
  if (last < 0) return [...plan, { id: 'record', description: 'Records the phase.', lock: 'none', transactional: true, statements: [statement] }];
  return plan.map((step, i) => (i === last ? { ...step, statements: [...step.statements, statement] } : step));
}

/**
 * Rollback (before contract): removes exactly what expand added; the old column and its data are never touched.
 * After contract the old column is gone, so rollback refuses and points at the backup. After the
 * `ConfirmReadFromNewDeployed` gate the application reads the new column, so dropping it would break the application:
 * rollback refuses and names the manual path. A migration row running for another execution is not this
 * execution's to undo: rollback changes nothing.
 */
export async function rollbackPhase(event: PhaseEvent, deps: PhaseDeps): Promise<PhaseSummary> {
  const started = (deps.now ?? Date.now)();
  const context = await loadPhaseContext(event, deps.db);
  const { spec, table, operation, ctx } = context;
  const own = await readMigration(deps.db, spec.name);
  // After contract, rollback refuses loudly (below). Before it, only what this execution claimed is this execution's to undo: a row never claimed, claimed by another execution,
  // or left by an earlier run (rolled back, succeeded, or released for a resume that has not claimed it yet) means
  // this run changed nothing, e.g. when ApproveStart is rejected before Backup claims the table.
  if (!own) return { steps: [], seconds: 0 }; // never claimed: nothing was changed
  const contracted = own.phase === Phase.Contract || own.status === MigrationStatus.Succeeded;
  // A continued execution that failed before its backfill took the row over (continue-as-new) is the owner the
  // previous execution named: it takes the row now, so its rollback undoes the migration rather than nothing.
  const carried = (event.state as { backfill?: PreviousInvocation }).backfill;
  if (event.execution && carried?.execution && carried.continuation?.executionArn === event.execution) {
    await acceptHandover(deps.db, spec.name, carried.execution, event.execution);
  }
  const owner = await readMigrationOwner(deps.db, spec.name);
  const ours = owner?.status === MigrationStatus.Running && (owner.execution ?? null) === (event.execution ?? null);
  if (!contracted && !ours) return { steps: [], seconds: 0 };
  if (contracted || !table.columns.some((c) => c.name === spec.operation.column)) {
    throw new StepwiseError(
      'SW_ROLLBACK_AFTER_CONTRACT',
      `column "${spec.operation.column}" no longer exists: contract has run, so an automatic rollback would lose data`,
      `Restore the old values from ${STATE_SCHEMA}.${objectNames(spec.name).backupTable} (primary key + old column) or from your snapshot.`,
      { migration: spec.name },
    );
  }
  const readSwitch = (event.state as { approvals?: Record<string, unknown> }).approvals?.[Gate.ReadFromNewDeployed];
  if ((readSwitch !== undefined && readSwitch !== null) || own.phase === READ_SWITCHED_PHASE) {
    throw new StepwiseError(
      'SW_ROLLBACK_AFTER_READ_SWITCH',
      `the ${Gate.ReadFromNewDeployed} gate was approved: the application now reads "${spec.operation.newColumn}", so an automatic rollback would drop a column in use`,
      `Deploy the application version that reads "${spec.operation.column}" again (the sync trigger still keeps both columns equal), ` +
        'then roll back by hand with the rollback SQL that `stepwise plan --spec <file>` prints, or fix the cause and run the migration again (it resumes).',
      { migration: spec.name, gate: Gate.ReadFromNewDeployed },
    );
  }
  // First the phase: a backfill batch still in flight (a key range of a failed Map state) sees it and stops.
  await markPhase(deps.db, spec.name, Phase.Rollback);
  // A CREATE INDEX CONCURRENTLY or VALIDATE still running from a forward phase would hold up the DROPs below.
  const clock = longStatementClock(deps);
  const cancelled = await cancelLongStatements(deps.db, spec.name, clock);
  if (cancelled.length) deps.log?.('cancelled long statements', { pids: cancelled });
  const steps = await executePlan(deps.db, operation.rollback(ctx), spec.lockTimeoutMs, { migration: spec.name, clock });
  const backup = `${quoteIdent(STATE_SCHEMA)}.${quoteIdent(objectNames(spec.name).backupTable)}`;
  await deps.db.query(`DROP TABLE IF EXISTS ${backup}`);
  await markPhase(deps.db, spec.name, Phase.Rollback, MigrationStatus.RolledBack);
  return { steps, seconds: ((deps.now ?? Date.now)() - started) / 1000 };
}

type Context = Awaited<ReturnType<typeof loadPhaseContext>>;

async function runDdlPhase(
  event: PhaseEvent,
  deps: PhaseDeps,
  phase: Phase,
  plan: (c: Context) => ReturnType<Context['operation']['expand']>,
  status?: MigrationStatus,
): Promise<PhaseSummary> {
  const now = deps.now ?? Date.now;
  const started = now();
  const context = await loadPhaseContext(event, deps.db);
  const steps = await executePlan(deps.db, plan(context), context.spec.lockTimeoutMs, { migration: context.spec.name, clock: longStatementClock(deps) });
  await markPhase(deps.db, context.spec.name, phase, status);
  return { steps, seconds: (now() - started) / 1000 };
}
