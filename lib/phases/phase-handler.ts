import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { z } from 'zod';
import type { Phase } from '../constants';
import { executorFromEnv } from '../db/create-executor';
import { asStepwiseError, StatementRunningError } from '../errors';
import { BackfillAction, type PhaseEvent } from '../workflow/state';
import { DEFAULT_PHASE_BUDGET_MS, LONG_STATEMENT_MARGIN_MS } from './long-statement';
import { runPhase } from './run-phase';

const logger = new Logger({ serviceName: 'stepwise' });
const metrics = new Metrics({ namespace: 'Stepwise', serviceName: 'stepwise' });

const eventSchema = z.object({
  execution: z.string().optional(),
  state: z.object({ spec: z.unknown() }).passthrough(),
  slot: z.string().min(1),
  action: z.enum(Object.values(BackfillAction) as [BackfillAction, ...BackfillAction[]]).optional(),
  // The execution's limits, as the state machine was built (PhaseEvent.limits).
  limits: z
    .object({
      executionTimeoutSeconds: z.number(),
      approvalTimeoutSeconds: z.number(),
      maxBackfillInvocations: z.number().int().min(1),
      maxVerifyCalls: z.number().int().min(1),
      longStatementSeconds: z.number(),
      snapshotSeconds: z.number(),
    })
    .optional(),
});

/**
 * Builds the Lambda handler of one phase: parse the event, run the phase against the Data API, return its small JSON
 * result. Errors are rethrown as `StepwiseError`s whose `name` Step Functions matches in Retry/Catch, with the code
 * and the fix in the message (which becomes the execution's Cause).
 */
export function makePhaseHandler(phase: Phase) {
  return async (event: unknown, context?: { getRemainingTimeInMillis?: () => number }): Promise<unknown> => {
    const parsed = eventSchema.parse(event) as PhaseEvent;
    logger.appendKeys({ phase, execution: parsed.execution });
    const started = Date.now();
    try {
      const deadline = phaseDeadline(started, context?.getRemainingTimeInMillis?.());
      const result = await runPhase(phase, parsed, { db: executorFromEnv(), deadline, log: (message, data) => logger.debug(message, data ?? {}) });
      metrics.addMetric(`${phase}Seconds`, MetricUnit.Seconds, (Date.now() - started) / 1000);
      logger.info('phase finished', { result: result as Record<string, unknown> });
      return result;
    } catch (err) {
      const error = asStepwiseError(err);
      if (error instanceof StatementRunningError) {
        // Not a failure: the state machine retries the phase, which watches the same statement again.
        metrics.addMetric(`${phase}StatementRunning`, MetricUnit.Count, 1);
        logger.info('long statement still running', { code: error.code, error: error.message, details: error.details });
      } else {
        metrics.addMetric(`${phase}Failed`, MetricUnit.Count, 1);
        logger.error('phase failed', { code: error.code, error: error.message, hint: error.hint, details: error.details });
      }
      error.message = error.describe();
      throw error;
    } finally {
      metrics.publishStoredMetrics();
    }
  };
}

/**
 * Until when a phase may watch a long statement: the invocation's remaining time less a margin, at most
 * `DEFAULT_PHASE_BUDGET_MS` (the local twin's Lambda context counts down from 15 minutes, its tasks time out sooner).
 * @internal
 */
export function phaseDeadline(started: number, remainingMs: number | undefined): number {
  const budget = remainingMs === undefined ? DEFAULT_PHASE_BUDGET_MS : Math.min(DEFAULT_PHASE_BUDGET_MS, remainingMs - LONG_STATEMENT_MARGIN_MS);
  return started + Math.max(0, budget);
}
