import { executionNameOf, nextContinuation, placeInvocation, type Lineage, type PreviousInvocation } from '../backfill';
import { StepwiseError } from '../errors';
import type { Spec } from '../spec';
import { acceptHandover, offerHandover } from '../state/migration-state';
import type { PhaseEvent, VerifyResult } from '../workflow/state';
import type { PhaseDeps } from './phase-context';

/**
 * Continue-as-new for the verification loops, as the backfill does it (lib/backfill/continuation.ts): each loop counts
 * its calls per execution; once `limits.maxVerifyCalls` (or the spec's `backfill.maxInvocationsPerExecution`, if
 * lower) are spent and the table is not covered yet, the call names the next execution, offers it the state row and
 * returns `continueAsNew`; the state machine starts it with the whole state, and its first verify call takes the row
 * over and goes on from the cursor. The history of one execution so stays bounded whatever the table size.
 */

/** Where this verify call stands in its execution. */
export interface VerifyPlace {
  /** Calls of this loop in this execution, this one included. */
  readonly executionCalls: number;
  readonly lineage: Lineage;
}

type Fields = Pick<VerifyResult, 'execution' | 'executionCalls' | 'lineage' | 'continueAsNew' | 'continuation'>;

/** The result in `state` that tells this execution's lineage: its own, or the one that named it as continuation. */
function lineageSource(event: PhaseEvent): PreviousInvocation | undefined {
  const state = event.state as unknown as Record<string, PreviousInvocation | undefined>;
  // Every loop that can hand over, latest first: the one that named this execution carries its lineage.
  const candidates = [state[event.slot], state.verifyBeforeContract, state.verifyAfterSoak, state.verify, state.backfill];
  return candidates.find((c) => c && event.execution !== undefined && (c.execution === event.execution || c.continuation?.executionArn === event.execution));
}

/**
 * Places the call; on the first call of an execution that a verify loop continued in, takes the state row over
 * (`SW_HANDOVER_REFUSED` when it was not offered to this execution).
 */
export async function placeVerifyCall(event: PhaseEvent, deps: PhaseDeps, spec: Spec): Promise<VerifyPlace> {
  const previous = event.state[event.slot as 'verify'] as VerifyResult | undefined;
  const place = placeInvocation(lineageSource(event), event.execution);
  if (place.handedOverFrom && event.execution && !(await acceptHandover(deps.db, spec.name, place.handedOverFrom, event.execution))) {
    throw new StepwiseError(
      'SW_HANDOVER_REFUSED',
      `execution ${event.execution} was started as the continuation of ${place.handedOverFrom}, but the state row of "${spec.name}" was not handed over to it`,
      'Only an execution that the running migration started itself can take it over. Check `stepwise status` for the execution that owns the migration.',
      { migration: spec.name, from: place.handedOverFrom },
    );
  }
  const sameExecution = previous !== undefined && !previous.done && event.execution !== undefined && previous.execution === event.execution;
  return { executionCalls: sameExecution ? (previous.executionCalls ?? 0) + 1 : 1, lineage: place.lineage };
}

/** The call's continue-as-new fields: hands over when the loop's budget is spent and the table is not covered. */
export async function verifyContinuation(event: PhaseEvent, place: VerifyPlace, done: boolean, deps: PhaseDeps, spec: Spec): Promise<Fields> {
  const budget = Math.min(event.limits?.maxVerifyCalls ?? Infinity, spec.backfill.maxInvocationsPerExecution ?? Infinity);
  const execution = event.execution;
  const base = { execution: execution ?? null, executionCalls: place.executionCalls, lineage: place.lineage };
  if (done || !execution || executionNameOf(execution) === undefined || place.executionCalls < budget) {
    return { ...base, continueAsNew: false, continuation: null };
  }
  const continuation = nextContinuation(execution, place.lineage);
  await offerHandover(deps.db, spec.name, execution, continuation.executionArn);
  return { ...base, continueAsNew: true, continuation };
}
