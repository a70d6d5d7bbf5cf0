import { reminderStateNames, StateName, WORKFLOW_GATES } from './state-names';

/**
 * The history budget of one execution, computed from a synthesized definition (ASL JSON): Step Functions fails an
 * execution at 25,000 history events (`States.Runtime`, no Catch), so every state that can be entered many times
 * (a loop) needs a bound, and the sum of all worst cases must stay below the limit.
 *
 * The model, per state entered once, at its worst:
 * - Pass, Choice, Wait, Succeed: 2 events (entered, exited); Fail: 2 (entered, ExecutionFailed).
 * - Task: 2 + 3 per attempt (scheduled, started, succeeded/failed/timed out; a `.waitForTaskToken` task 4: submitted),
 *   attempts = 1 + the `MaxAttempts` of every retrier (each retrier counts its own attempts, as on AWS).
 * - Map: 4 (entered, started, succeeded, exited) + 2 per iteration; its states count once per iteration.
 * Every state counts once (the straight path; generous: branches that exclude each other are all counted), and each
 * loop adds its bound on iterations x the events of one pass through its states.
 */

/** Events every execution has besides its states: ExecutionStarted and the terminal event. */
const EXECUTION_EVENTS = 2;

type Json = Record<string, unknown>;
interface Retrier {
  readonly ErrorEquals: readonly string[];
  readonly MaxAttempts?: number;
  readonly IntervalSeconds?: number;
  readonly BackoffRate?: number;
  readonly MaxDelaySeconds?: number;
}

/** What bounds the loops of one execution. */
export interface LoopBounds {
  /** Backfill invocations per execution (sequential loop, or all key ranges together). */
  readonly backfillInvocations: number;
  /** Calls of each verification loop per execution. */
  readonly verifyCalls: number;
  /** Snapshot status polls. */
  readonly snapshotPolls: number;
  /** Reminders one gate publishes before its approval timeout. */
  readonly remindersPerGate: number;
  /** Backfill milestones announced per execution (25/50/75/100 %). */
  readonly milestones: number;
  /** Key ranges of a parallel backfill (Map iterations). */
  readonly keyRanges: number;
}

/** One loop's share of the history. */
export interface LoopCost {
  readonly name: string;
  readonly iterations: number;
  /** Worst-case events of one pass through the loop's states. */
  readonly eventsPerIteration: number;
  readonly events: number;
}

export interface HistoryBudget {
  /** Every state entered once, at its worst (the execution's own two events included). */
  readonly straight: number;
  readonly loops: readonly LoopCost[];
  /** Worst case of one execution: straight plus every loop (the two backfill modes exclude each other: the larger). */
  readonly total: number;
}

/** Every state of the definition by name, Map item processors included. */
export function statesOf(definition: Json): Map<string, Json> {
  const out = new Map<string, Json>();
  const walk = (machine: Json) => {
    for (const [name, state] of Object.entries((machine.States ?? {}) as Record<string, Json>)) {
      out.set(name, state);
      const processor = (state.ItemProcessor ?? state.Iterator) as Json | undefined;
      if (processor) walk(processor);
      for (const branch of (state.Branches ?? []) as Json[]) walk(branch);
    }
  };
  walk(definition);
  return out;
}

/** Attempts of a Task at worst: the first, plus every retrier's MaxAttempts (ASL default 3). */
export function worstAttempts(state: Json): number {
  return 1 + ((state.Retry ?? []) as Retrier[]).reduce((sum, r) => sum + (r.MaxAttempts ?? 3), 0);
}

/** Worst-case history events of entering `state` once (see the module comment). */
export function stateEvents(state: Json): number {
  switch (state.Type) {
    case 'Task': {
      const perAttempt = String(state.Resource).endsWith('.waitForTaskToken') ? 4 : 3;
      return 2 + worstAttempts(state) * perAttempt;
    }
    case 'Map':
      return 4;
    default:
      return 2;
  }
}

/**
 * Seconds a retrier waits at most before its last attempt: the sum of its pauses (IntervalSeconds x BackoffRate^n,
 * each at most MaxDelaySeconds), plus `attemptSeconds` for each attempt itself.
 */
export function retrierSeconds(retrier: { interval: number; backoffRate: number; maxAttempts: number; maxDelay?: number }, attemptSeconds = 0): number {
  let total = 0;
  for (let n = 0; n < retrier.maxAttempts; n += 1) {
    total += Math.min(retrier.interval * retrier.backoffRate ** n, retrier.maxDelay ?? Infinity) + attemptSeconds;
  }
  return total;
}

function loopCost(states: Map<string, Json>, name: string, members: readonly string[], iterations: number): LoopCost {
  const eventsPerIteration = members.reduce((sum, member) => {
    const state = states.get(member);
    if (!state) throw new Error(`history budget: loop ${name} names state ${member}, which the definition does not have`);
    return sum + stateEvents(state);
  }, 0);
  return { name, iterations, eventsPerIteration, events: iterations * eventsPerIteration };
}

/** Each loop of the Stepwise workflow, its states, and its bound. */
export function workflowLoops(states: Map<string, Json>, bounds: LoopBounds): LoopCost[] {
  const loops: LoopCost[] = [
    loopCost(states, 'backfill', [StateName.Backfill, StateName.BackfillMilestone, StateName.BackfillDone, StateName.BackfillWait], bounds.backfillInvocations),
    loopCost(states, 'backfill milestones', [StateName.NotifyBackfillProgress], bounds.milestones),
    // Each range's share is at least one invocation: all ranges together run at most budget + ranges invocations.
    loopCost(states, 'key ranges', [StateName.BackfillRange, StateName.BackfillRangeMilestone, StateName.BackfillRangeDone, StateName.BackfillRangeWait], bounds.backfillInvocations + bounds.keyRanges),
    { ...loopCost(states, 'key range ends', [StateName.BackfillRangeFinished], bounds.keyRanges), name: 'key range ends' },
    { name: 'key range iterations', iterations: bounds.keyRanges, eventsPerIteration: 2, events: 2 * bounds.keyRanges },
    loopCost(states, 'key range milestones', [StateName.NotifyBackfillRangeProgress], bounds.milestones),
    loopCost(states, 'verify', [StateName.Verify, StateName.VerifyDone], bounds.verifyCalls),
    loopCost(states, 'verify after soak', [StateName.VerifyAfterSoak, StateName.VerifyAfterSoakDone], bounds.verifyCalls),
    loopCost(states, 'verify before contract', [StateName.VerifyBeforeContract, StateName.VerifyBeforeContractDone], bounds.verifyCalls),
  ];
  if (states.has(StateName.SnapshotWait)) {
    loops.push(loopCost(states, 'snapshot polls', [StateName.SnapshotWait, StateName.CountSnapshotPoll, StateName.DescribeSnapshot, StateName.SnapshotReady], bounds.snapshotPolls));
  }
  for (const gate of WORKFLOW_GATES) {
    const names = reminderStateNames(gate);
    // ReminderFirst and ReminderNext exclude each other (the same cost): one per reminder.
    loops.push(loopCost(states, `${gate} reminders`, [gate, names.reminder, names.next, names.due], bounds.remindersPerGate));
  }
  return loops;
}

/** Loops of the sequential backfill and of the key ranges: an execution runs one mode or the other. */
const SEQUENTIAL = new Set(['backfill', 'backfill milestones']);
const PARALLEL = new Set(['key ranges', 'key range ends', 'key range iterations', 'key range milestones']);

/** The worst case of one execution of `definition` under `bounds`. */
export function historyBudget(definition: Json, bounds: LoopBounds): HistoryBudget {
  const states = statesOf(definition);
  const straight = EXECUTION_EVENTS + [...states.values()].reduce((sum, state) => sum + stateEvents(state), 0);
  const loops = workflowLoops(states, bounds);
  const sum = (names: Set<string>) => loops.filter((l) => names.has(l.name)).reduce((s, l) => s + l.events, 0);
  const others = loops.filter((l) => !SEQUENTIAL.has(l.name) && !PARALLEL.has(l.name)).reduce((s, l) => s + l.events, 0);
  return { straight, loops, total: straight + Math.max(sum(SEQUENTIAL), sum(PARALLEL)) + others };
}
