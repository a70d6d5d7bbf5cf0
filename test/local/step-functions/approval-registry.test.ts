import { ApprovalRegistry } from '../../../lib/local/step-functions';

describe('ApprovalRegistry', () => {
  const request = { executionArn: 'arn:exec:1', stateName: 'ApproveStart', message: { text: 'go?' } };

  it('resolves a gate with the parsed output of sendTaskSuccess', async () => {
    const registry = new ApprovalRegistry();
    const { token, result } = registry.register(request);
    expect(token.length).toBeGreaterThan(40);
    expect(registry.pending()).toEqual([expect.objectContaining({ token, stateName: 'ApproveStart', message: { text: 'go?' } })]);
    registry.sendTaskSuccess(token, '{"ok":true}');
    await expect(result).resolves.toEqual({ ok: true });
    expect(registry.pending()).toEqual([]);
  });

  it('rejects a gate with the error name and cause of sendTaskFailure', async () => {
    const registry = new ApprovalRegistry();
    const { token, result } = registry.register(request);
    registry.sendTaskFailure(token, 'Rejected', 'no');
    await expect(result).rejects.toMatchObject({ name: 'Rejected', message: 'no' });
    const other = registry.register(request);
    registry.sendTaskFailure(other.token);
    await expect(other.result).rejects.toMatchObject({ name: 'States.TaskFailed', message: '' });
  });

  it('names errors like the AWS API', () => {
    const registry = new ApprovalRegistry();
    expect(() => registry.sendTaskSuccess('nope', '{}')).toThrow(expect.objectContaining({ name: 'TaskDoesNotExist' }));
    expect(() => registry.sendTaskFailure('nope')).toThrow(expect.objectContaining({ name: 'TaskDoesNotExist' }));
    const { token } = registry.register(request);
    expect(() => registry.sendTaskSuccess(token, 'not json')).toThrow(expect.objectContaining({ name: 'InvalidOutput' }));
    expect(registry.pending()).toHaveLength(1); // a bad answer leaves the gate waiting
    registry.discard({ executionArn: 'arn:exec:1' }, 'timed-out');
    expect(() => registry.sendTaskSuccess(token, '{}')).toThrow(expect.objectContaining({ name: 'TaskTimedOut' }));
  });

  it('notifies onPending (which may answer at once) and onClosed; unsubscribes', async () => {
    const registry = new ApprovalRegistry();
    const outcomes: string[] = [];
    registry.onClosed((g, outcome) => outcomes.push(`${g.stateName}:${outcome}`));
    const off = registry.onPending((g) => registry.sendTaskSuccess(g.token, '"auto"'));
    await expect(registry.register(request).result).resolves.toBe('auto');
    off();
    const second = registry.register({ ...request, stateName: 'ApproveContract' });
    expect(registry.pending().map((g) => g.stateName)).toEqual(['ApproveContract']);
    expect(registry.discard({ executionArn: 'arn:exec:1', stateName: 'ApproveContract' }, 'discarded')).toBe(1);
    expect(outcomes).toEqual(['ApproveStart:succeeded', 'ApproveContract:discarded']);
    expect(registry.get(second.token)).toBeUndefined();
  });

  it('defers onPending until announce() when asked', () => {
    const registry = new ApprovalRegistry();
    const seen: string[] = [];
    registry.onPending((g) => seen.push(g.token));
    const { token } = registry.register(request, { announce: false });
    expect(seen).toEqual([]);
    registry.announce(token);
    expect(seen).toEqual([token]);
  });
});
