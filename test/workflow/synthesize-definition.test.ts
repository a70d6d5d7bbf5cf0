import { StateMachine } from 'aws-local-stepfunctions';
import { Phase } from '../../lib/constants';
import { StateName, synthesizeDefinition } from '../../lib/workflow';

type AslState = { Type: string; Resource?: string; Parameters?: Record<string, unknown> };

// aws-local-stepfunctions calls Promise.withResolvers (Node >= 22).
const P = Promise as unknown as { withResolvers?: () => unknown };
P.withResolvers ??= () => {
  let resolve: unknown;
  let reject: unknown;
  const promise = new Promise((res, rej) => { resolve = res; reject = rej; });
  return { promise, resolve, reject };
};

const snapshotIdOf = (input: unknown): string => (input as { DbClusterSnapshotIdentifier: string }).DbClusterSnapshotIdentifier;

describe('synthesizeDefinition', () => {
  const result = synthesizeDefinition();
  const states = result.definition['States'] as Record<string, AslState>;

  it('resolves every token to a plain string', () => {
    const json = JSON.stringify(result.definition);
    expect(json).not.toMatch(/Fn::|\$\{Token|\$\{AWS::|Ref"/);
    console.info(`synthesizeDefinition took ${result.durationMs} ms`);
  });

  it('maps each Lambda task to the local ARN of its phase', () => {
    const lambdaArn = (phase: Phase) => `arn:aws:lambda:us-east-1:000000000000:function:${phase}`;
    expect(Object.values(result.functions).sort()).toEqual(Object.values(Phase).sort());
    expect(result.functionArns[Phase.Backfill]).toBe(lambdaArn(Phase.Backfill));
    const expected: Record<string, Phase> = {
      [StateName.Preflight]: Phase.Preflight, [StateName.Backup]: Phase.Backup, [StateName.Expand]: Phase.Expand,
      [StateName.Backfill]: Phase.Backfill, [StateName.Verify]: Phase.Verify, [StateName.Constrain]: Phase.Constrain,
      [StateName.VerifyAfterSoak]: Phase.Verify, [StateName.Contract]: Phase.Contract, [StateName.Rollback]: Phase.Rollback,
      [StateName.WindowForConstrain]: Phase.Window, [StateName.WindowForContract]: Phase.Window,
    };
    for (const [name, phase] of Object.entries(expected)) expect([name, states[name]?.Resource]).toEqual([name, lambdaArn(phase)]);
  });

  it('sends every phase task the PhaseEvent payload and publishes to the local topic', () => {
    expect(states[StateName.VerifyAfterSoak]?.Parameters).toEqual({
      'execution.$': '$$.Execution.Id',
      'state.$': '$',
      slot: 'verifyAfterSoak',
      // The execution's limits as built: 90 days, gates of 7 days, the history budget's caps.
      limits: {
        executionTimeoutSeconds: 90 * 86400,
        approvalTimeoutSeconds: 7 * 86400,
        maxBackfillInvocations: 212,
        maxVerifyCalls: 40,
        longStatementSeconds: expect.any(Number),
        snapshotSeconds: 6 * 3600,
      },
    });
    expect(states[StateName.ApproveStart]?.Resource).toBe('arn:aws:states:::sns:publish.waitForTaskToken');
    expect(states[StateName.NotifyPlanned]?.Parameters?.['TopicArn']).toBe('arn:aws:sns:us-east-1:000000000000:stepwise-local');
    expect(result.topicArn).toBe('arn:aws:sns:us-east-1:000000000000:stepwise-local');
  });

  describe('on aws-local-stepfunctions', () => {
    const spec = { name: 'price-to-cents', dualWrite: 'application' };
    const published: Record<string, unknown>[] = [];
    const publish = (name: string) => (input: unknown) => { published.push({ name, input }); return { MessageId: '1' }; };
    const noWaits = { [StateName.BackfillWait]: 0, [StateName.Soak]: 0, [StateName.SnapshotWait]: 0, [StateName.WaitForConstrainWindow]: 0, [StateName.WaitForContractWindow]: 0 };
    // The runner supplies the context object; the gates read $$.Task.Token from it.
    const context = { Execution: { Id: 'arn:aws:states:us-east-1:000000000000:execution:stepwise:test' }, Task: { Token: 'token-1' } };
    // 90 days overflows a Node timer (2^31 ms); a local runner has to clamp the execution timeout.
    const definition = { ...result.definition, TimeoutSeconds: 3600 } as never;
    let backfillCalls = 0;
    let verifyCalls = 0;
    const handlers = {
      [StateName.Preflight]: () => ({ primaryKey: 'id', primaryKeyType: 'integer', estimatedRows: 3, soakSeconds: 0, warnings: [] }),
      [StateName.Backup]: () => ({ location: 'backup_table', rows: 3 }),
      [StateName.Expand]: () => ({ steps: ['add column'], seconds: 0 }),
      [StateName.Backfill]: () => ({ done: ++backfillCalls >= 2, cursor: '2', rows: 3, batches: backfillCalls, seconds: 0, estimatedRows: 3, waitSeconds: 0,
        // The first invocation crosses no milestone (no field at all); the last one reports 100 %.
        ...(backfillCalls >= 2 ? { milestone: 100, rowsPerSecond: 1500, eta: '0s' } : {}) }),
      [StateName.Verify]: () => ({ done: ++verifyCalls >= 2, cursor: null, rowsChecked: 3, nulls: 0, mismatches: 0, sampleIds: [], seconds: 0 }),
      [StateName.VerifyAfterSoak]: () => ({ done: true, cursor: null, rowsChecked: 3, nulls: 0, mismatches: 0, sampleIds: [], seconds: 0 }),
      [StateName.VerifyBeforeContract]: () => ({ done: true, cursor: null, rowsChecked: 3, nulls: 0, mismatches: 0, sampleIds: [], seconds: 0 }),
      [StateName.Constrain]: () => ({ steps: [], seconds: 0 }),
      [StateName.Contract]: () => ({ steps: [], seconds: 0 }),
      [StateName.Rollback]: () => ({ steps: ['rollback.drop-column'], seconds: 0, outcome: 'rolled-back', headline: 'rolled back', summary: 'Rolled back: dropped column "x".', dropped: ['column "x"'], kept: [], reason: null, command: null }),
      [StateName.WindowForConstrain]: () => ({ phase: 'constrain', waitUntil: '2026-01-01T00:00:00Z', waiting: false }),
      [StateName.WindowForContract]: () => ({ phase: 'contract', waitUntil: '2026-01-01T00:00:00Z', waiting: false }),
      [StateName.CreateSnapshot]: (input: unknown) => ({ DbClusterSnapshot: { DbClusterSnapshotIdentifier: snapshotIdOf(input), Status: 'creating' } }),
      [StateName.DescribeSnapshot]: (input: unknown) => ({ DbClusterSnapshots: [{ DbClusterSnapshotIdentifier: snapshotIdOf(input), Status: 'available' }] }),
      ...Object.fromEntries(Object.values(StateName).filter((n) => n.startsWith('Notify') || n.startsWith('Approve') || n.startsWith('Confirm')).map((n) => [n, publish(n)])),
    };

    it('runs the happy path through every gate and both loops', async () => {
      const machine = new StateMachine(definition);
      const output = (await machine.run(spec, { overrides: { taskResourceLocalHandlers: handlers, waitTimeOverrides: noWaits }, context: context as never }).result) as Record<string, unknown>;
      expect(Object.keys(output).sort()).toEqual(['approvals', 'backfill', 'backup', 'constrain', 'contract', 'expand', 'preflight', 'snapshot', 'snapshotPolls', 'spec', 'verify', 'verifyAfterSoak', 'verifyBeforeContract', 'windowConstrain', 'windowContract']);
      // Created 'creating', polled once, then available; the id is derived from the execution ARN.
      expect(output['snapshotPolls']).toEqual({ count: 1 });
      expect(output['snapshot']).toEqual({ id: expect.stringMatching(/^stepwise-[0-9a-f]{40}$/), status: 'available' });
      expect(Object.keys(output['approvals'] as object).sort()).toEqual(['ApproveContract', 'ApproveStart', 'ConfirmDualWriteDeployed', 'ConfirmReadFromNewDeployed']);
      expect(backfillCalls).toBe(2);
      // One milestone, announced once, after the invocation that crossed it.
      const progress = published.filter((p) => p['name'] === StateName.NotifyBackfillProgress);
      expect(progress).toHaveLength(1);
      const milestone = progress[0]?.['input'] as { Message: { content: { title: string; description: string } } };
      expect(milestone.Message.content.title).toBe('Stepwise price-to-cents: 100% backfilled');
      expect(milestone.Message.content.description).toBe('100% backfilled: 3 of about 3 rows, 1500 rows/s, ETA 0s.');
      const gate = published.find((p) => p['name'] === StateName.ApproveStart)?.['input'] as { Message: { content: { description: string; nextSteps: string[] }; metadata: { threadId: string } } };
      expect(gate.Message.metadata.threadId).toBe('price-to-cents');
      expect(gate.Message.content.nextSteps[0]).toMatch(/^stepwise approve arn:aws:states:/);
      const contractGate = published.find((p) => p['name'] === StateName.ApproveContract)?.['input'] as typeof gate;
      expect(contractGate.Message.content.description).toMatch(/Cluster snapshot: stepwise-[0-9a-f]{40} \(available\)/);
    });

    it('rolls back when a gate is rejected, and reports the cause', async () => {
      published.length = 0;
      const reject = () => { const e = new Error('Rejected by alice'); e.name = 'Rejected'; throw e; };
      const machine = new StateMachine(definition);
      const run = machine.run(spec, { overrides: { taskResourceLocalHandlers: { ...handlers, [StateName.ApproveContract]: reject }, waitTimeOverrides: noWaits }, context: context as never });
      await expect(run.result).rejects.toThrow(/Rejected by alice/);
      const names = published.map((p) => p['name']);
      expect(names.slice(-2)).toEqual([StateName.NotifyFailed, StateName.NotifyRolledBack]);
      const failed = published.at(-2)?.['input'] as { Message: { content: { description: string } } };
      expect(failed.Message.content.description).toContain('Rejected by alice');
      // The result notification says what the rollback reported, not a fixed sentence.
      const rolledBack = published.at(-1)?.['input'] as { Message: { content: { title: string; description: string } } };
      expect(rolledBack.Message.content.title).toBe('Stepwise price-to-cents: rolled back');
      expect(rolledBack.Message.content.description).toMatch(/^Rolled back: dropped column "x"\. Cause: .*Rejected by alice/);
    });

    it.each([StateName.ConfirmReadFromNewDeployed, StateName.ApproveContract])('keeps waiting at %s past the approval timeout instead of rolling back', async (gateName) => {
      published.length = 0;
      let asked = 0;
      let rolledBack = false;
      // Nobody answers for 10 intervals (past the 7-interval timeout), then someone approves.
      const late = () => { asked += 1; if (asked <= 10) { const e = new Error('Task timed out'); e.name = 'States.Timeout'; throw e; } return { approved: true }; };
      const machine = new StateMachine(definition);
      const output = (await machine.run(spec, { overrides: { taskResourceLocalHandlers: { ...handlers, [gateName]: late, [`${gateName}TimedOut`]: publish(`${gateName}TimedOut`),
        [StateName.Rollback]: () => { rolledBack = true; return {}; } }, waitTimeOverrides: noWaits }, context: context as never }).result) as Record<string, unknown>;
      expect(rolledBack).toBe(false);
      expect(output['contract']).toBeDefined();
      const stillWaiting = published.filter((p) => p['name'] === `${gateName}TimedOut`);
      expect(stillWaiting).toHaveLength(1);
      const message = stillWaiting[0]?.['input'] as { Message: { content: { title: string; description: string } } };
      expect(message.Message.content.title).toBe(`Stepwise price-to-cents: still waiting at ${gateName}`);
      expect(message.Message.content.description).toMatch(/does not roll back on silence: it keeps waiting/);
    }, 30_000);
    it('reminds an unanswered gate with a fresh publish, then goes on once it is approved', async () => {
      published.length = 0;
      let asked = 0;
      const slowApprover = (input: unknown) => {
        published.push({ name: StateName.ApproveContract, input });
        if (++asked <= 2) { const e = new Error('Task timed out'); e.name = 'States.Timeout'; throw e; }
        return { approved: true };
      };
      const machine = new StateMachine(definition);
      const output = (await machine.run(spec, { overrides: { taskResourceLocalHandlers: { ...handlers, [StateName.ApproveContract]: slowApprover }, waitTimeOverrides: noWaits }, context: context as never }).result) as Record<string, unknown>;
      expect(asked).toBe(3);
      expect((output['reminders'] as Record<string, unknown>)[StateName.ApproveContract]).toEqual({ count: 2 });
      expect(published.filter((p) => p['name'] === StateName.ApproveContract)).toHaveLength(3);
    });

    it('rolls back once the reminders add up to the approval timeout (7 days / 1 day: 7 waits)', async () => {
      published.length = 0;
      let asked = 0;
      const nobody = () => { asked += 1; const e = new Error('Task timed out'); e.name = 'States.Timeout'; throw e; };
      const machine = new StateMachine(definition);
      const run = machine.run(spec, { overrides: { taskResourceLocalHandlers: { ...handlers, [StateName.ApproveStart]: nobody }, waitTimeOverrides: noWaits }, context: context as never });
      await expect(run.result).rejects.toThrow(/No answer to ApproveStart within the approval timeout \(7 notifications sent\)/);
      expect(asked).toBe(7);
      expect(published.map((p) => p['name']).slice(-2)).toEqual([StateName.NotifyFailed, StateName.NotifyRolledBack]);
    });

    it('skips the dual-write gate for trigger mode and survives a failed notification', async () => {
      const failPublish = () => { throw new Error('SNS down'); };
      const machine = new StateMachine(definition);
      const run = machine.run({ name: 'trigger-mode' }, { overrides: {
        taskResourceLocalHandlers: { ...handlers, [StateName.NotifyPlanned]: failPublish }, waitTimeOverrides: noWaits, retryIntervalOverrides: { [StateName.NotifyPlanned]: 0 } }, context: context as never });
      const output = (await run.result) as { approvals: Record<string, unknown> };
      expect(Object.keys(output.approvals)).not.toContain(StateName.ConfirmDualWriteDeployed);
    });

    it('rolls back with the snapshot status as the cause when the snapshot fails', async () => {
      published.length = 0;
      const machine = new StateMachine(definition);
      const run = machine.run(spec, { overrides: { taskResourceLocalHandlers: { ...handlers,
        [StateName.DescribeSnapshot]: (input: unknown) => ({ DbClusterSnapshots: [{ DbClusterSnapshotIdentifier: snapshotIdOf(input), Status: 'failed' }] }),
      }, waitTimeOverrides: noWaits }, context: context as never });
      await expect(run.result).rejects.toThrow(/Cluster snapshot stepwise-[0-9a-f]{40} ended in status failed after 1 polls/);
      expect(published.map((p) => p['name']).slice(-2)).toEqual([StateName.NotifyFailed, StateName.NotifyRolledBack]);
    });

    it('polls the existing snapshot when CreateSnapshot finds it already exists (retry or redrive)', async () => {
      let described = 0;
      const machine = new StateMachine(definition);
      const exists = () => { const e = new Error('DBClusterSnapshotAlreadyExistsFault'); e.name = 'Rds.DbClusterSnapshotAlreadyExistsException'; throw e; };
      const run = machine.run(spec, { overrides: { taskResourceLocalHandlers: { ...handlers, [StateName.CreateSnapshot]: exists,
        [StateName.DescribeSnapshot]: (input: unknown) => ({ DbClusterSnapshots: [{ DbClusterSnapshotIdentifier: snapshotIdOf(input), Status: ++described < 3 ? 'creating' : 'available' }] }),
      }, waitTimeOverrides: noWaits }, context: context as never });
      const output = (await run.result) as { snapshot: { status: string }; snapshotPolls: { count: number } };
      expect(output.snapshot.status).toBe('available');
      expect(output.snapshotPolls.count).toBe(3);
    });

    it('stops at ContractFailed without rolling back when contract fails', async () => {
      let rolledBack = false;
      const machine = new StateMachine(definition);
      const run = machine.run(spec, { overrides: { taskResourceLocalHandlers: { ...handlers,
        [StateName.Contract]: () => { const e = new Error('deadlock'); e.name = 'DatabaseError'; throw e; },
        [StateName.Rollback]: () => { rolledBack = true; return {}; } }, waitTimeOverrides: noWaits, retryIntervalOverrides: { [StateName.Contract]: 0 } }, context: context as never });
      await expect(run.result).rejects.toThrow(/deadlock/);
      expect(rolledBack).toBe(false);
    });
  });
});
