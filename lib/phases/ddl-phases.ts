import { Phase } from '../constants';
import { parseSpec } from '../spec';
import { assertOwnsMigration, markPhase, markPhaseStatement, MigrationStatus, recordKeepNewColumn } from '../state/migration-state';
import type { PhaseEvent, PhaseSummary } from '../workflow/state';
import type { Plan, Statement } from '../operations/plan';
import { executePlan } from './execute-plan';
import { longStatementClock } from './long-statement';
import { loadPhaseContext, type PhaseDeps } from './phase-context';

/** Expand: the new column, the sync trigger (dualWrite: trigger) and the index, each step idempotent. */
export async function expandPhase(event: PhaseEvent, deps: PhaseDeps): Promise<PhaseSummary> {
  const summary = await runDdlPhase(event, deps, Phase.Expand, ({ operation, ctx }) => operation.expand(ctx));
  // With application dual-write, the team is asked next to deploy code that writes the new column: from here on no
  // automatic rollback may drop it (every application write would fail).
  const spec = parseSpec(event.state.spec);
  if (spec.dualWrite === 'application') {
    await recordKeepNewColumn(deps.db, spec.name, `dualWrite is "application": the application was asked to write "${spec.operation.newColumn}" after expand`);
  }
  return summary;
}

/** Constrain: NOT NULL through CHECK NOT VALID → VALIDATE → SET NOT NULL → DROP CHECK. */
export async function constrainPhase(event: PhaseEvent, deps: PhaseDeps): Promise<PhaseSummary> {
  const summary = await runDdlPhase(event, deps, Phase.Constrain, ({ operation, ctx }) => operation.constrain(ctx));
  // The next notification tells the team to deploy the application reading the new column: from here on no
  // automatic rollback (a rejected or failed later gate, a verify mismatch, a resumed run) may drop it.
  const spec = parseSpec(event.state.spec);
  await recordKeepNewColumn(deps.db, spec.name, `constrain finished and the team was told to deploy the application reading "${spec.operation.newColumn}"`);
  return summary;
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
  // Only the execution that owns the migration changes the table (a retried contract finds its row succeeded).
  await assertOwnsMigration(deps.db, context.spec, event.execution, phase, status);
  const steps = await executePlan(deps.db, plan(context), context.spec.lockTimeoutMs, { migration: context.spec.name, clock: longStatementClock(deps) });
  await markPhase(deps.db, context.spec.name, phase, status);
  return { steps, seconds: (now() - started) / 1000 };
}
