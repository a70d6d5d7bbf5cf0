import { executionDeadlineCheck, longestWindowGapSeconds } from '../../lib/phases/execution-deadline';
import { parseSpec } from '../../lib/spec';
import type { ExecutionLimits } from '../../lib/workflow/state';
import runbook from '../../examples/product-price-cents.json';

/** The limits the default stack synthesizes (test/workflow/synthesize-definition.test.ts pins them). */
const LIMITS: ExecutionLimits = {
  executionTimeoutSeconds: 90 * 86400,
  approvalTimeoutSeconds: 7 * 86400,
  maxBackfillInvocations: 212,
  maxVerifyCalls: 40,
  longStatementSeconds: 191_078,
  snapshotSeconds: 6 * 3600,
};
const NOW = new Date('2026-12-04T12:00:00Z');
const spec = (over: Record<string, unknown> = {}) => parseSpec({ ...runbook, ...over });

describe('preflight: the migration must fit its execution timeout', () => {
  it('passes the default spec on the default stack (3 gates, 7-day soak, 90-day timeout)', () => {
    const check = executionDeadlineCheck(spec(), LIMITS, NOW);
    expect(check).toMatchObject({ status: 'pass' });
    expect(check.message).toMatch(/within the execution timeout of 90 days/);
  });

  it('refuses a P180D soak: it outlives the 90-day execution, which would end TIMED_OUT with the trigger in place', () => {
    const check = executionDeadlineCheck(spec({ soak: 'P180D' }), LIMITS, NOW);
    expect(check).toMatchObject({ status: 'fail', code: 'SW_EXECUTION_TIMEOUT_TOO_SHORT' });
    expect(check.message).toMatch(/^the migration can take 2\d\d(\.\d)? days \(soak P180D: 180 days, 3 approval gates x approvalTimeout: 21 days/);
    expect(check.message).toMatch(/longer than the execution timeout of 90 days: the execution would end TIMED_OUT, with no rollback/);
    expect(check.hint).toMatch(/Shorten the soak or the approval timeout, or deploy the stack with a longer executionTimeout/);
  });

  it('counts the fourth gate of application dual-write and the approval timeout the stack was built with', () => {
    const tight = { ...LIMITS, approvalTimeoutSeconds: 20 * 86400 };
    expect(executionDeadlineCheck(spec(), tight, NOW).status).toBe('pass');
    expect(executionDeadlineCheck(spec({ dualWrite: 'application' }), tight, NOW)).toMatchObject({ status: 'fail', message: expect.stringMatching(/4 approval gates x approvalTimeout: 80 days/) });
  });

  it('counts the longest wait for a maintenance window: a weekly window waits up to 7 days, a yearly one a year', () => {
    const weekly = { schedule: 'cron(0 2 ? * SAT *)', timezone: 'UTC', durationMinutes: 120, phases: ['constrain', 'contract'] as ('constrain' | 'contract')[] };
    expect(longestWindowGapSeconds(weekly, NOW)).toBe(7 * 86400);
    expect(executionDeadlineCheck(spec({ window: weekly }), LIMITS, NOW).status).toBe('pass');
    const yearly = { ...weekly, schedule: 'cron(0 2 1 JAN ? *)' };
    expect(executionDeadlineCheck(spec({ window: yearly }), LIMITS, NOW)).toMatchObject({ status: 'fail', code: 'SW_EXECUTION_TIMEOUT_TOO_SHORT' });
  });

  it('passes without limits (a handler called outside the state machine)', () => {
    expect(executionDeadlineCheck(spec({ soak: 'P180D' }), undefined, NOW).status).toBe('pass');
  });
});
