import { Phase } from '../constants';
import type { PhaseEvent } from '../workflow/state';
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

/** Runs one phase: what the Lambda handlers, the local twin and the tests all call. */
export function runPhase(phase: Phase, event: PhaseEvent, deps: PhaseDeps): Promise<unknown> {
  return PHASES[phase](event, deps);
}
