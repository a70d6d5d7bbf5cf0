import { Phase } from '../constants';
import { recordPassed } from '../state/resume-point';
import type { PhaseEvent } from '../workflow/state';
import { Slot } from '../workflow/state-names';
import { backfillPhase } from './backfill';
import { backupPhase } from './backup';
import { constrainPhase, contractPhase, expandPhase } from './ddl-phases';
import type { PhaseDeps } from './phase-context';
import { preflightPhase } from './preflight';
import { rollbackPhase } from './rollback';
import { verifyPhase } from './verify';
import { windowPhase } from './window';

type PhaseFn = (event: PhaseEvent, deps: PhaseDeps) => Promise<unknown>;

/** Every phase's implementation, keyed by `Phase`: a missing one fails to compile. */
export const PHASES: Readonly<Record<Phase, PhaseFn>> = {
  [Phase.Preflight]: preflightPhase,
  [Phase.Backup]: backupPhase,
  [Phase.Expand]: expandPhase,
  [Phase.Backfill]: backfillPhase,
  [Phase.Verify]: verifyPhase,
  [Phase.Constrain]: constrainPhase,
  [Phase.Contract]: contractPhase,
  [Phase.Rollback]: rollbackPhase,
  [Phase.Window]: windowPhase,
};

/** Phases that record the gates before them as passed (see recordPassedSteps): those that run once the row is claimed. */
const RECORDS_BEFORE = new Set<Phase>([Phase.Expand, Phase.Backfill, Phase.Verify, Phase.Constrain, Phase.Contract]);

/** Runs one phase: what the Lambda handlers, the local twin and the tests all call. */
export async function runPhase(phase: Phase, event: PhaseEvent, deps: PhaseDeps): Promise<unknown> {
  if (RECORDS_BEFORE.has(phase)) await recordPassedSteps(event, deps);
  const result = await PHASES[phase](event, deps);
  // Backup claims the row: the start gate is recorded once there is a row to record it in.
  if (phase === Phase.Backup) await recordPassedSteps(event, deps);
  return result;
}

/**
 * Recovery: writes into the state row what this execution has passed — the gates approved (`$.approvals`) and the
 * soak, once the re-verification after it runs — so a resumed execution skips them (preflight's `resume.skip`).
 */
async function recordPassedSteps(event: PhaseEvent, deps: PhaseDeps): Promise<void> {
  const approvals = (event.state as { approvals?: Record<string, unknown> }).approvals ?? {};
  const gates = Object.keys(approvals).filter((gate) => approvals[gate] !== null && approvals[gate] !== undefined);
  const soakServed = event.slot === Slot.VerifyAfterSoak;
  const name = (event.state.spec as { name?: unknown } | undefined)?.name;
  if (typeof name !== 'string') return;
  await recordPassed(deps.db, name, event.execution, gates, soakServed);
}
