import type { PreflightCheck } from '../catalog/preflight-checks';
import { durationToSeconds, type Spec } from '../spec';
import { nextWindowStart } from '../window/next-window';
import type { ExecutionLimits } from '../workflow/state';

/**
 * Does the migration fit its execution? A Step Functions execution past its `TimeoutSeconds` ends TIMED_OUT: no Catch
 * runs, so no rollback and no notification, and the sync trigger stays in place. The waits of one migration (gates,
 * soak, maintenance windows, long statements, the cluster snapshot) plus the work of one execution (its backfill and
 * verification budgets) must end well before it. The backfill and the verifications continue as new within their
 * budgets, so they count once; the waits add up across the executions, so counting them all is an upper bound.
 */

/** One wait or piece of work, in seconds. */
export interface DeadlineItem {
  readonly what: string;
  readonly seconds: number;
}

/** A year of window starts is enough to find the longest gap between two of them. */
const WINDOW_SAMPLE_DAYS = 400;
const WINDOW_SAMPLE_MAX = 5000;
/** Room for the phases themselves, the Lambda cold starts, the notifications: 1 day. */
const MARGIN_SECONDS = 86_400;

/** Longest time between two consecutive window starts of `schedule` (what a phase may wait for a window). */
export function longestWindowGapSeconds(window: NonNullable<Spec['window']>, from: Date): number {
  const end = from.getTime() + WINDOW_SAMPLE_DAYS * 86_400_000;
  const start = (at: number): number | undefined => {
    try {
      return nextWindowStart(window.schedule, window.timezone, new Date(at)).getTime();
    } catch {
      return undefined; // no window after `at` (a schedule that ends): preflight's window check reports that
    }
  };
  let previous = start(from.getTime());
  if (previous === undefined) return 0;
  let longest = (previous - from.getTime()) / 1000;
  for (let i = 0; i < WINDOW_SAMPLE_MAX && previous < end; i += 1) {
    const next = start(previous + 60_000);
    if (next === undefined) break;
    longest = Math.max(longest, (next - previous) / 1000);
    previous = next;
  }
  return longest;
}

/** Every wait and the work of one execution, at its longest. */
export function deadlineItems(spec: Spec, limits: ExecutionLimits, now: Date): DeadlineItem[] {
  const gates = spec.dualWrite === 'application' ? 4 : 3;
  const longStatements = 1 + (spec.operation.index ? 1 : 0) + (spec.operation.notNull ? 1 : 0);
  const invocationSeconds = spec.backfill.maxSecondsPerInvocation + 30;
  const items: DeadlineItem[] = [
    { what: `${gates} approval gates x approvalTimeout`, seconds: gates * limits.approvalTimeoutSeconds },
    { what: `soak ${spec.soak}`, seconds: durationToSeconds(spec.soak) },
    { what: `${longStatements} long statement(s) (backup copy, index build, VALIDATE)`, seconds: longStatements * limits.longStatementSeconds },
    { what: 'cluster snapshot', seconds: limits.snapshotSeconds },
    { what: 'backfill and verification of one execution', seconds: (limits.maxBackfillInvocations + 2 * limits.maxVerifyCalls) * invocationSeconds },
    { what: 'phases, cold starts, notifications', seconds: MARGIN_SECONDS },
  ];
  if (spec.window) {
    const waits = spec.window.phases.length;
    items.push({ what: `${waits} maintenance window wait(s)`, seconds: waits * longestWindowGapSeconds(spec.window, now) });
  }
  return items;
}

const days = (seconds: number) => `${Math.round((seconds / 86_400) * 10) / 10} days`;

/**
 * Preflight's check: `fail` (SW_EXECUTION_TIMEOUT_TOO_SHORT) when the longest path outlasts the execution timeout,
 * naming the sum and what to shorten. Without limits (a handler called outside the state machine) it passes.
 */
export function executionDeadlineCheck(spec: Spec, limits: ExecutionLimits | undefined, now: Date): PreflightCheck & { readonly details?: Record<string, unknown> } {
  const name = 'execution-timeout';
  if (!limits) return { name, status: 'pass', message: 'no execution limits given (called outside the state machine)', hint: '' };
  const items = deadlineItems(spec, limits, now);
  const total = items.reduce((sum, item) => sum + item.seconds, 0);
  if (total < limits.executionTimeoutSeconds) {
    return { name, status: 'pass', message: `the longest path takes ${days(total)}, within the execution timeout of ${days(limits.executionTimeoutSeconds)}`, hint: '' };
  }
  const longest = [...items].sort((a, b) => b.seconds - a.seconds).slice(0, 3).map((i) => `${i.what}: ${days(i.seconds)}`).join(', ');
  return {
    name,
    status: 'fail',
    code: 'SW_EXECUTION_TIMEOUT_TOO_SHORT',
    message: `the migration can take ${days(total)} (${longest}), longer than the execution timeout of ${days(limits.executionTimeoutSeconds)}: the execution would end TIMED_OUT, with no rollback and the sync trigger left in place`,
    hint: 'Shorten the soak or the approval timeout, or deploy the stack with a longer executionTimeout (at most 365 days).',
    details: { totalSeconds: total, executionTimeoutSeconds: limits.executionTimeoutSeconds, items },
  };
}
