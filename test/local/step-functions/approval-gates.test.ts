import { ApprovalRegistry, startLocalExecution, type AslDefinition, type PendingApproval } from '../../../lib/local/step-functions';
import { deferred, fn, gate, snsCollector } from './fixtures';

/** Gate → Done, with Catches sending a rejection or a timeout elsewhere. */
function gated(timeoutSeconds = 3600): AslDefinition {
  return {
    StartAt: 'ApproveContract',
    States: {
      ApproveContract: gate('Done', {
        TimeoutSeconds: timeoutSeconds,
        Catch: [
          { ErrorEquals: ['Rejected'], ResultPath: '$.error', Next: 'WasRejected' },
          // States.TaskFailed must not match a timeout (as on AWS), so the next catcher gets it.
          { ErrorEquals: ['States.TaskFailed'], ResultPath: '$.error', Next: 'OtherFailure' },
          { ErrorEquals: ['States.Timeout'], ResultPath: '$.error', Next: 'TimedOut' },
        ],
      }),
      Done: { Type: 'Succeed' },
      WasRejected: { Type: 'Pass', Result: 'rejected', ResultPath: '$.path', End: true },
      OtherFailure: { Type: 'Pass', Result: 'other', ResultPath: '$.path', End: true },
      TimedOut: { Type: 'Pass', Result: 'timed-out', ResultPath: '$.path', End: true },
    },
  };
}

/** Resolves with the first gate that starts waiting. */
function nextGate(approvals: ApprovalRegistry): Promise<PendingApproval> {
  return new Promise((resolve) => {
    const off = approvals.onPending((g) => {
      off();
      resolve(g);
    });
  });
}

describe('approval gates (.waitForTaskToken)', () => {
  it('lists the waiting gate, then sendTaskFailure takes the Catch path', async () => {
    const approvals = new ApprovalRegistry();
    const sns = snsCollector();
    const execution = startLocalExecution({ definition: gated(), input: { n: 1 }, lambdas: {}, sns: sns.sink, approvals });
    const pending = await nextGate(approvals);

    expect(approvals.pending(execution.executionArn)).toEqual([pending]);
    expect(approvals.pending('arn:other')).toEqual([]);
    expect(pending.since).toBeInstanceOf(Date);
    expect(sns.messages).toHaveLength(1);
    expect(execution.describe().status).toBe('RUNNING');

    approvals.sendTaskFailure(pending.token, 'Rejected', 'not during business hours');
    const result = await execution.done;

    expect(result).toMatchObject({
      status: 'SUCCEEDED',
      output: { n: 1, error: { Error: 'Rejected', Cause: 'not during business hours' }, path: 'rejected' },
    });
    expect(execution.history().find((e) => e.type === 'TaskFailed')?.taskFailedEventDetails).toEqual({
      resourceType: 'sns',
      resource: 'publish.waitForTaskToken',
      error: 'Rejected',
      cause: 'not during business hours',
    });
    expect(() => approvals.sendTaskSuccess(pending.token, '{}')).toThrow(expect.objectContaining({ name: 'TaskDoesNotExist' }));
  });

  it('fails the task with States.Timeout after TimeoutSeconds and expires the token', async () => {
    const approvals = new ApprovalRegistry();
    const execution = startLocalExecution({ definition: gated(1), lambdas: {}, sns: () => undefined, approvals });
    const pending = await nextGate(approvals);
    const result = await execution.done;

    expect(result.status).toBe('SUCCEEDED');
    expect(result.output).toMatchObject({ error: { Error: 'States.Timeout' }, path: 'timed-out' });
    expect(execution.history().map((e) => e.type)).toContain('TaskTimedOut');
    expect(approvals.pending()).toEqual([]);
    expect(() => approvals.sendTaskSuccess(pending.token, '{}')).toThrow(expect.objectContaining({ name: 'TaskTimedOut' }));
  });

  it('abort() while a gate waits ends the execution ABORTED and drops the gate', async () => {
    const approvals = new ApprovalRegistry();
    const closed: string[] = [];
    approvals.onClosed((_g, outcome) => closed.push(outcome));
    const execution = startLocalExecution({ definition: gated(), lambdas: {}, sns: () => undefined, approvals });
    const pending = await nextGate(approvals);

    execution.abort();
    const result = await execution.done;

    expect(result.status).toBe('ABORTED');
    expect(execution.describe()).toMatchObject({ status: 'ABORTED', stopDate: result.stoppedAt });
    expect(execution.history().at(-1)?.type).toBe('ExecutionAborted');
    expect(approvals.pending()).toEqual([]);
    expect(closed).toEqual(['discarded']);
    expect(() => approvals.sendTaskSuccess(pending.token, '{}')).toThrow(expect.objectContaining({ name: 'TaskDoesNotExist' }));
  });

  it('abort() during a Lambda handler: the handler finishes, its result is ignored, no further state runs', async () => {
    const started = deferred<void>();
    const release = deferred<unknown>();
    const later: unknown[] = [];
    const execution = startLocalExecution({
      definition: {
        StartAt: 'Backfill',
        States: {
          Backfill: { Type: 'Task', Resource: fn('backfill'), Next: 'Verify' },
          Verify: { Type: 'Task', Resource: fn('verify'), End: true },
        },
      },
      lambdas: {
        backfill: async () => {
          started.resolve();
          return release.promise;
        },
        verify: async (e: unknown) => void later.push(e),
      },
      sns: () => undefined,
    });
    await started.promise;
    execution.abort();
    const result = await execution.done;
    release.resolve({ rows: 1 });
    await new Promise((r) => setImmediate(r));

    expect(result.status).toBe('ABORTED');
    expect(later).toEqual([]);
    expect(execution.history().at(-1)?.type).toBe('ExecutionAborted');
    expect(execution.history().map((e) => e.type)).not.toContain('LambdaFunctionSucceeded');
  });

  it('lambda:invoke.waitForTaskToken: the handler gets the token and may answer it itself', async () => {
    const approvals = new ApprovalRegistry();
    const execution = startLocalExecution({
      definition: {
        StartAt: 'Window',
        States: {
          Window: {
            Type: 'Task',
            Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
            Parameters: { FunctionName: fn('window'), Payload: { 'token.$': '$$.Task.Token', 'input.$': '$' } },
            ResultPath: '$.window',
            TimeoutSeconds: 60,
            End: true,
          },
        },
      },
      input: { a: 1 },
      lambdas: {
        window: async (event: unknown) => {
          const { token } = event as { token: string };
          expect(approvals.get(token)).toMatchObject({ stateName: 'Window', message: { token, input: { a: 1 } } });
          approvals.sendTaskSuccess(token, JSON.stringify({ open: true }));
          return { submitted: true };
        },
      },
      sns: () => undefined,
      approvals,
    });
    const result = await execution.done;
    expect(result).toMatchObject({ status: 'SUCCEEDED', output: { a: 1, window: { open: true } } });
    const submitted = execution.history().find((e) => e.type === 'TaskSubmitted');
    expect(JSON.parse(submitted!.taskSubmittedEventDetails!.output!)).toMatchObject({ StatusCode: 200, Payload: { submitted: true } });
  });
});
