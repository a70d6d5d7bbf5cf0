import { continuationName, executionNameOf, nextContinuation, placeInvocation, shouldContinueAsNew } from '../../lib/backfill/continuation';

const ARN = 'arn:aws:states:eu-west-1:123456789012:execution:Stepwise:orders-cents-1';

describe('continue-as-new decisions (pure)', () => {
  it('names continuations after the root, within 80 characters, stably', () => {
    expect(continuationName('orders-cents-1', 3)).toBe('orders-cents-1-c3');
    const long = 'x'.repeat(80);
    const name = continuationName(long, 12);
    expect(name).toHaveLength(80);
    expect(name).toMatch(/^x+-[0-9a-f]{8}-c12$/);
    expect(continuationName(long, 12)).toBe(name);
    expect(continuationName(`${'x'.repeat(79)}y`, 12)).not.toBe(name);
  });

  it('derives the next execution ARN on the same state machine', () => {
    expect(executionNameOf(ARN)).toBe('orders-cents-1');
    expect(executionNameOf('not-an-arn')).toBeUndefined();
    expect(nextContinuation(ARN, { root: 'orders-cents-1', generation: 0 })).toEqual({
      root: 'orders-cents-1',
      generation: 1,
      name: 'orders-cents-1-c1',
      executionArn: 'arn:aws:states:eu-west-1:123456789012:execution:Stepwise:orders-cents-1-c1',
    });
  });

  it('counts invocations per execution and recognises the first invocation of a continuation', () => {
    const first = placeInvocation(undefined, ARN);
    expect(first).toEqual({ executionInvocations: 1, lineage: { root: 'orders-cents-1', generation: 0 } });
    expect(placeInvocation({ execution: ARN, executionInvocations: 4, lineage: first.lineage }, ARN).executionInvocations).toBe(5);

    const next = nextContinuation(ARN, first.lineage);
    const handed = placeInvocation({ execution: ARN, executionInvocations: 5, lineage: first.lineage, continuation: next }, next.executionArn);
    expect(handed).toEqual({ executionInvocations: 1, lineage: { root: 'orders-cents-1', generation: 1 }, handedOverFrom: ARN });

    // A result from another execution that did not name this one (its input copied): counts from 1, no takeover, and
    // a lineage of its own, so it never reuses its source's continuation names.
    const other = 'arn:aws:states:eu-west-1:123456789012:execution:Stepwise:someone-else';
    expect(placeInvocation({ execution: ARN, executionInvocations: 9, lineage: first.lineage, continuation: next }, other)).toEqual({
      executionInvocations: 1,
      lineage: { root: 'someone-else', generation: 0 },
    });
  });

  it('continues only when not done, inside an execution, and at the budget', () => {
    const base = { done: false, execution: ARN, executionInvocations: 10, maxInvocationsPerExecution: 10 };
    expect(shouldContinueAsNew(base)).toBe(true);
    expect(shouldContinueAsNew({ ...base, executionInvocations: 9 })).toBe(false);
    expect(shouldContinueAsNew({ ...base, done: true })).toBe(false);
    expect(shouldContinueAsNew({ ...base, execution: undefined })).toBe(false);
  });
});
