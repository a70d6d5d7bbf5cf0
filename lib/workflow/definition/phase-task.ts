import { Duration } from 'aws-cdk-lib';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { Phase } from '../../constants';
import { LAMBDA_FAILURE_RETRY, LONG_STATEMENT_RETRY, PHASE_RETRY, RETRYABLE_ERRORS } from '../defaults';
import type { BackfillAction } from '../state';
import type { Slot, StateName } from '../state-names';
import { EXECUTION_ID_PATH, type DefinitionContext } from './context';

/** Options of {@link phaseTask}. */
export interface PhaseTaskOptions {
  /** Which phase function runs. */
  readonly phase: Phase;
  /** Where the result goes (`$.<slot>`); a loop reads its previous result from the same slot. */
  readonly slot: Slot;
  /** State comment: what the phase does and why it is safe. */
  readonly comment: string;
  /** The step of a phase with several (`PhaseEvent.action`); absent: its main step. */
  readonly action?: BackfillAction;
  /**
   * Retry on {@link RETRYABLE_ERRORS}.
   * @default PHASE_RETRY (2 attempts, interval 5 s, backoff 2)
   */
  readonly retry?: { readonly maxAttempts: number; readonly backoffRate: number; readonly interval: Duration };
  /**
   * The phase runs long statements (CREATE INDEX CONCURRENTLY, VALIDATE, the backup copy, or cancels them): retry
   * `StatementRunningError` patiently ({@link LONG_STATEMENT_RETRY}). Off elsewhere, so loops stay cheap in history.
   * @default false
   */
  readonly longStatements?: boolean;
}

/**
 * A Lambda task for one phase. Every phase task gets the same `PhaseEvent` payload (see `state.ts`):
 * `{ "execution.$": "$$.Execution.Id", "state.$": "$", "slot": "<slot>" }`, and its result is stored at `$.<slot>`.
 *
 * @example
 * const expand = phaseTask(ctx, StateName.Expand, { phase: Phase.Expand, slot: Slot.Expand, comment: '...' });
 */
export function phaseTask(ctx: DefinitionContext, name: StateName, options: PhaseTaskOptions): tasks.LambdaInvoke {
  const retry = options.retry ?? PHASE_RETRY;
  const task = new tasks.LambdaInvoke(ctx.scope, name, {
    stateName: name,
    comment: options.comment,
    lambdaFunction: ctx.functions[options.phase],
    payload: sfn.TaskInput.fromObject({
      execution: sfn.JsonPath.stringAt(EXECUTION_ID_PATH),
      state: sfn.JsonPath.entirePayload,
      slot: options.slot,
      ...(options.action ? { action: options.action } : {}),
      ...(ctx.limits ? { limits: ctx.limits } : {}),
    }),
    payloadResponseOnly: true,
    resultPath: `$.${options.slot}`,
    // Lambda service errors (throttling, 5xx) are retried by CDK's standard policy.
    retryOnServiceExceptions: true,
    // Explicit, never the 60 s default of the local runner nor the 99999999 s default of AWS.
    taskTimeout: sfn.Timeout.duration(ctx.taskTimeouts[options.phase]),
  });
  // Phases are idempotent: a lock timeout or a transient database error is retried with backoff.
  task.addRetry({ errors: [...RETRYABLE_ERRORS], ...retry });
  // Lambda failed the invocation (timeout, crash, throttled): the idempotent phase runs again.
  const lambdaFailure = LAMBDA_FAILURE_RETRY;
  task.addRetry({ errors: [...lambdaFailure.errors], maxAttempts: lambdaFailure.maxAttempts, backoffRate: lambdaFailure.backoffRate, interval: lambdaFailure.interval, jitterStrategy: sfn.JitterType.FULL });
  // A long statement still running is not a failure: the next attempt watches it again (never sends it twice).
  if (options.longStatements) {
    const long = LONG_STATEMENT_RETRY;
    task.addRetry({ errors: [...long.errors], maxAttempts: long.maxAttempts, backoffRate: long.backoffRate, interval: long.interval, maxDelay: long.maxDelay });
  }
  return task;
}
