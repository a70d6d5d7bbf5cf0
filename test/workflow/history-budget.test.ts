import { Duration } from 'aws-cdk-lib';
import { MAX_PARALLELISM, resolveBackfillSettings } from '../../lib/backfill/settings';
import { parseSpec } from '../../lib/spec';
import {
  BACKFILL_WORST_INVOCATION_EVENTS,
  DEFAULT_SNAPSHOT_MAX_POLLS,
  LONG_STATEMENT_RETRY,
  MAX_BACKFILL_INVOCATIONS_PER_EXECUTION,
  MAX_HISTORY_EVENTS,
  MAX_REMINDERS_PER_GATE,
  MAX_VERIFY_CALLS_PER_EXECUTION,
  PHASE_TIMEOUT,
} from '../../lib/workflow/defaults';
import { historyBudget, retrierSeconds, statesOf, type LoopBounds } from '../../lib/workflow/history-budget';
import { StateName } from '../../lib/workflow/state-names';
import { synthesizeDefinition } from '../../lib/workflow/synthesize-definition';
import { validateWorkflowProps } from '../../lib/workflow/validate-props';
import runbook from '../../examples/product-price-cents.json';

/**
 * The history budget, proven on the synthesized definition: every loop's bound is the most any input can reach
 * (the spec's budgets are capped by the definition's limits, reminders by synth validation, ranges by the schema),
 * every task at its worst (every retrier spent), and the sum stays below Step Functions' 25,000 events.
 */
describe('history budget of one execution', () => {
  const { definition } = synthesizeDefinition();
  const states = statesOf(definition);
  const worst: LoopBounds = {
    backfillInvocations: MAX_BACKFILL_INVOCATIONS_PER_EXECUTION,
    verifyCalls: MAX_VERIFY_CALLS_PER_EXECUTION,
    snapshotPolls: DEFAULT_SNAPSHOT_MAX_POLLS,
    remindersPerGate: MAX_REMINDERS_PER_GATE,
    milestones: 4,
    keyRanges: MAX_PARALLELISM,
  };

  it('stays below 25,000 events at every loop’s worst case, whatever the table size or the waits', () => {
    const budget = historyBudget(definition, worst);
    expect(budget.total).toBeLessThan(MAX_HISTORY_EVENTS);
    // Each loop is bounded and none alone takes more than half the history.
    for (const loop of budget.loops) expect([loop.name, loop.events < MAX_HISTORY_EVENTS / 2]).toEqual([loop.name, true]);
    // The straight path counts every state once at its worst, the long-statement waits of five phases included.
    expect(budget.straight).toBeLessThan(MAX_HISTORY_EVENTS / 4);
  });

  it('tells every phase task the caps the budget was computed with', () => {
    const phaseTasks = [...states.entries()].filter(([, s]) => s.Type === 'Task' && /:function:/.test(String(s.Resource)));
    for (const [name, state] of phaseTasks) {
      const limits = (state.Parameters as { limits?: Record<string, number> }).limits;
      expect([name, limits?.maxBackfillInvocations, limits?.maxVerifyCalls]).toEqual([name, worst.backfillInvocations, worst.verifyCalls]);
    }
  });

  it('derives the backfill cap from the same retriers the definition has', () => {
    const loop = historyBudget(definition, worst).loops.find((l) => l.name === 'backfill')!;
    expect(loop.eventsPerIteration).toBe(BACKFILL_WORST_INVOCATION_EVENTS);
    const ranges = historyBudget(definition, worst).loops.find((l) => l.name === 'key ranges')!;
    expect(ranges.eventsPerIteration).toBe(BACKFILL_WORST_INVOCATION_EVENTS);
  });

  it('caps any spec’s maxInvocationsPerExecution at what the history has room for', () => {
    const spec = parseSpec({ ...runbook, backfill: { maxInvocationsPerExecution: 1500 } });
    expect(resolveBackfillSettings(spec.backfill, { maxBackfillInvocations: MAX_BACKFILL_INVOCATIONS_PER_EXECUTION }).maxInvocationsPerExecution).toBe(
      MAX_BACKFILL_INVOCATIONS_PER_EXECUTION,
    );
    // A smaller budget of the spec's own stays; without limits (a handler called directly) the spec's value holds.
    const small = parseSpec({ ...runbook, backfill: { maxInvocationsPerExecution: 3 } });
    expect(resolveBackfillSettings(small.backfill, { maxBackfillInvocations: MAX_BACKFILL_INVOCATIONS_PER_EXECUTION }).maxInvocationsPerExecution).toBe(3);
    expect(resolveBackfillSettings(spec.backfill).maxInvocationsPerExecution).toBe(1500);
  });

  it('would have broken with the flat 2,000-attempt long-statement retry on every phase task', () => {
    const flat = JSON.parse(JSON.stringify(definition)) as typeof definition;
    for (const state of statesOf(flat).values()) {
      if (state.Type !== 'Task' || !/:function:/.test(String(state.Resource))) continue;
      const retry = (state.Retry as { ErrorEquals: string[]; MaxAttempts?: number }[]).filter((r) => !r.ErrorEquals.includes('StatementRunningError'));
      state.Retry = [...retry, { ErrorEquals: ['StatementRunningError'], MaxAttempts: 2000, IntervalSeconds: 30, BackoffRate: 1 }];
    }
    expect(historyBudget(flat, worst).total).toBeGreaterThan(MAX_HISTORY_EVENTS);
  });

  it('still waits two days for a long statement, with far fewer attempts', () => {
    const long = LONG_STATEMENT_RETRY;
    const seconds = retrierSeconds({ interval: long.interval.toSeconds(), backoffRate: long.backoffRate, maxAttempts: long.maxAttempts, maxDelay: long.maxDelay.toSeconds() });
    // Pauses alone (each attempt also watches the statement for up to a minute): more than 1.8 days, under 2.5.
    expect(seconds).toBeGreaterThan(1.8 * 86400);
    expect(retrierSeconds({ interval: long.interval.toSeconds(), backoffRate: long.backoffRate, maxAttempts: long.maxAttempts, maxDelay: long.maxDelay.toSeconds() }, PHASE_TIMEOUT.toSeconds())).toBeLessThan(2.5 * 86400);
    expect(statesOf(definition).get(StateName.Expand)?.Retry).toContainEqual(expect.objectContaining({ ErrorEquals: ['StatementRunningError'], MaxDelaySeconds: 600 }));
  });
});

describe('approval reminders vs the history budget', () => {
  const base = { clusterArn: 'arn:aws:rds:us-east-1:123456789012:cluster:c', secretArn: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:s-AbCdEf', database: 'app' };

  it('refuses a reminder interval that would publish more than the budgeted reminders per gate, naming the shortest that fits', () => {
    const problems = validateWorkflowProps({ ...base, approvalTimeout: Duration.days(7), approvalReminderAfter: Duration.minutes(1) });
    expect(problems).toEqual([expect.stringContaining(`makes each gate publish 10080 reminders within approvalTimeout (7 days); at most ${MAX_REMINDERS_PER_GATE} fit`)]);
    expect(problems[0]).toContain('remind every 7 hours or more');
  });

  it('accepts the defaults and the shortest interval that fits', () => {
    expect(validateWorkflowProps(base)).toEqual([]);
    expect(validateWorkflowProps({ ...base, approvalTimeout: Duration.days(7), approvalReminderAfter: Duration.hours(7) })).toEqual([]);
  });
});
