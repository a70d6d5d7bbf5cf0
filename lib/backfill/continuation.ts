import { createHash } from 'node:crypto';

/**
 * Continue-as-new: a Step Functions execution holds at most 25,000 history events, and each backfill invocation costs
 * about a dozen (task, choices, wait). After `maxInvocationsPerExecution` invocations the backfill hands the
 * migration to a new execution of the same state machine, which resumes from the cursor in the state table. These
 * pure functions decide when, and name the next execution deterministically, so a retried StartExecution is
 * idempotent (same name, same input) and the state row can name its next owner before it exists.
 */

/** Which executions a migration ran in: the first one's name and how many times it continued since. */
export interface Lineage {
  /** Name of the execution the migration started in. */
  readonly root: string;
  /** 0 in the first execution, n in the n-th continuation. */
  readonly generation: number;
}

/** The execution the backfill continues in. */
export interface Continuation extends Lineage {
  /** Execution name (≤ 80 of `[A-Za-z0-9_-]`). */
  readonly name: string;
  readonly executionArn: string;
}

/** Default invocations per execution: about 12,000 history events, half of Step Functions' 25,000. */
export const DEFAULT_MAX_INVOCATIONS_PER_EXECUTION = 1000;

const EXECUTION_ARN = /^(arn:aws[a-z-]*:states:[^:]+:[^:]+:execution:[^:]+):([^:]+)$/;

/** The name of an execution (last segment of its ARN); undefined when `arn` is not an execution ARN. */
export function executionNameOf(arn: string): string | undefined {
  return EXECUTION_ARN.exec(arn)?.[2];
}

/**
 * The n-th continuation's name: `<root>-c<n>`, the root shortened with a hash when the name would pass 80 characters.
 *
 * @example continuationName('orders-cents-1732550000', 2) // 'orders-cents-1732550000-c2'
 */
export function continuationName(root: string, generation: number): string {
  const suffix = `-c${generation}`;
  if (root.length + suffix.length <= 80) return `${root}${suffix}`;
  const hash = createHash('sha256').update(root).digest('hex').slice(0, 8);
  return `${root.slice(0, 80 - suffix.length - hash.length - 1)}-${hash}${suffix}`;
}

/** The continuation of `executionArn`: same state machine, the next generation's name. */
export function nextContinuation(executionArn: string, lineage: Lineage): Continuation {
  const m = EXECUTION_ARN.exec(executionArn);
  if (!m) throw new Error(`not an execution ARN: ${executionArn}`);
  const generation = lineage.generation + 1;
  const name = continuationName(lineage.root, generation);
  return { root: lineage.root, generation, name, executionArn: `${m[1]}:${name}` };
}

/** What the previous backfill result (the one in the state) says about this invocation's execution. */
export interface PreviousInvocation {
  readonly execution?: string | null;
  readonly executionInvocations?: number;
  readonly lineage?: Lineage;
  readonly continuation?: Continuation | null;
}

/** Where this invocation stands in its execution. */
export interface InvocationPlace {
  /** Invocations of the backfill in this execution, this one included. */
  readonly executionInvocations: number;
  readonly lineage: Lineage;
  /** Set on the first invocation of a continued execution: the execution that handed the migration over. */
  readonly handedOverFrom?: string;
}

/**
 * Counts invocations per execution and carries the lineage. A result from another execution means this is a new
 * one: a continuation (the previous result named this execution), or an execution started with another one's state
 * (counts from 1, lineage of its own; whether it may run at all is the state row's owner's call).
 */
export function placeInvocation(previous: PreviousInvocation | undefined, execution: string | undefined): InvocationPlace {
  const sameExecution = previous?.execution !== undefined && previous.execution === (execution ?? null);
  if (previous && sameExecution) {
    return { executionInvocations: (previous.executionInvocations ?? 0) + 1, lineage: previous.lineage ?? rootLineage(execution) };
  }
  const continued = previous?.continuation && execution !== undefined && previous.continuation.executionArn === execution;
  if (continued && previous?.continuation) {
    const { root, generation } = previous.continuation;
    return { executionInvocations: 1, lineage: { root, generation }, ...(previous.execution ? { handedOverFrom: previous.execution } : {}) };
  }
  // Not named by the previous result: a lineage of its own (a copied input must not reuse its source's names).
  return { executionInvocations: 1, lineage: rootLineage(execution) };
}

function rootLineage(execution: string | undefined): Lineage {
  return { root: (execution && executionNameOf(execution)) || 'stepwise', generation: 0 };
}

/** True when the backfill should hand over to a new execution now (never without an execution id, never when done). */
export function shouldContinueAsNew(input: { done: boolean; execution: string | undefined; executionInvocations: number; maxInvocationsPerExecution: number }): boolean {
  return !input.done && !!input.execution && executionNameOf(input.execution) !== undefined && input.executionInvocations >= input.maxInvocationsPerExecution;
}
