import type { Context } from 'aws-lambda';
import { LockTimeoutError } from '../../../lib/errors';
import {
  ApprovalRegistry,
  LocalStateMachine,
  runLocalExecution,
  startLocalExecution,
  type HistoryEvent,
  type PendingApproval,
} from '../../../lib/local/step-functions';
import { fn, happyPath, snsCollector, TOPIC } from './fixtures';

interface PhaseEventLike {
  execution: string;
  state: Record<string, unknown>;
  slot: string;
}

const types = (history: HistoryEvent[]) => history.map((e) => e.type);

/** Events of one state: from its `…StateEntered` to its `…StateExited` (first occurrence). */
function stateEvents(history: HistoryEvent[], name: string): string[] {
  const start = history.findIndex((e) => e.stateEnteredEventDetails?.name === name);
  const end = history.findIndex((e, i) => i > start && e.stateExitedEventDetails?.name === name);
  return types(history.slice(start, end + 1)) as string[];
}

describe('LocalStateMachine: happy path', () => {
  it('runs Pass → Lambda (both forms) → Choice/Wait loop ×3 → SNS → approved gate → Succeed', async () => {
    const calls: Record<string, PhaseEventLike[]> = { preflight: [], backfill: [] };
    const contexts: Array<{ name: string; remaining: number }> = [];
    const lambdas = {
      preflight: async (event: unknown, context: Context) => {
        calls.preflight!.push(event as PhaseEventLike);
        contexts.push({ name: context.functionName, remaining: context.getRemainingTimeInMillis() });
        return { primaryKey: 'id', estimatedRows: 3000 };
      },
      // Keyed by full ARN to check both lookups work.
      [fn('backfill')]: async (event: unknown) => {
        const e = event as PhaseEventLike;
        calls.backfill!.push(e);
        const previous = (e.state[e.slot] as { batches: number; rows: number } | undefined) ?? { batches: 0, rows: 0 };
        const batches = previous.batches + 1;
        return { done: batches === 3, cursor: String(batches * 1000), rows: batches * 1000, batches, waitSeconds: 3600 };
      },
    };
    const sns = snsCollector();
    const approvals = new ApprovalRegistry();
    const seenGates: PendingApproval[] = [];
    approvals.onPending((g) => {
      seenGates.push(g);
      approvals.sendTaskSuccess(g.token, JSON.stringify({ approvedBy: 'test' }));
    });
    const streamed: HistoryEvent[] = [];

    const execution = startLocalExecution({
      definition: happyPath,
      name: 'migrate-price',
      input: { table: 'Product', column: 'price' },
      lambdas,
      sns: sns.sink,
      approvals,
      waitOverrides: { BackfillWait: 0 },
      maxWaitMs: 1,
      onEvent: (e) => streamed.push(e),
    });
    const result = await execution.done;

    expect(result).toMatchObject({ status: 'SUCCEEDED' });
    expect(result.output).toEqual({
      spec: { table: 'Product', column: 'price' },
      preflight: { primaryKey: 'id', estimatedRows: 3000 },
      backfillCall: {
        Payload: { done: true, cursor: '3000', rows: 3000, batches: 3, waitSeconds: 3600 },
        statusCode: 200,
      },
      backfill: { done: true, cursor: '3000', rows: 3000, batches: 3, waitSeconds: 3600 },
      approval: { approvedBy: 'test' },
    });
    expect(execution.executionArn).toBe('arn:aws:states:us-east-1:000000000000:execution:stepwise:migrate-price');

    // PhaseEvent contract: {execution, state, slot}; the loop sees its previous result at state[slot].
    expect(calls.preflight).toEqual([{ execution: execution.executionArn, state: { spec: { table: 'Product', column: 'price' } }, slot: 'preflight' }]);
    expect(contexts).toEqual([{ name: 'preflight', remaining: expect.any(Number) }]);
    expect(contexts[0]!.remaining).toBeGreaterThan(0);
    expect(calls.backfill!.map((e) => (e.state.backfill as { batches: number } | undefined)?.batches)).toEqual([undefined, 1, 2]);

    // Init, Preflight, 3×Backfill, 3×StoreBackfill, 3×BackfillDone, 2×BackfillWait, Soak, Notify, ApproveContract, Done
    expect(execution.transitionCount).toBe(17);

    expect(sns.messages).toHaveLength(2);
    const [notify, gateMessage] = sns.messages;
    expect(notify).toMatchObject({ topicArn: TOPIC, subject: 'Backfill done', stateName: 'Notify', executionArn: execution.executionArn });
    expect(JSON.parse(notify!.message).content.description).toBe('3000 rows');
    expect(seenGates).toHaveLength(1);
    const token = seenGates[0]!.token;
    expect(seenGates[0]).toMatchObject({ executionArn: execution.executionArn, stateName: 'ApproveContract' });
    const published = JSON.parse(gateMessage!.message);
    expect(published.metadata).toEqual({ TaskToken: token, executionId: execution.executionArn });
    expect(published.content.description).toBe(`Run: stepwise approve ${token}`);
    expect(seenGates[0]!.message).toEqual(published);
    expect(approvals.pending()).toEqual([]);
    expect(() => approvals.sendTaskSuccess(token, '{}')).toThrow(expect.objectContaining({ name: 'TaskDoesNotExist' }));

    const history = execution.history();
    expect(streamed).toEqual(history);
    expect(history.map((e) => e.id)).toEqual(history.map((_, i) => i + 1));
    expect(history[0]).toMatchObject({ type: 'ExecutionStarted', previousEventId: 0 });
    expect(JSON.parse(history[0]!.executionStartedEventDetails!.input!)).toEqual({ table: 'Product', column: 'price' });
    expect(history.at(-1)!.type).toBe('ExecutionSucceeded');
    expect(types(history).filter((t) => t!.endsWith('StateEntered'))).toHaveLength(17);
    expect(stateEvents(history, 'Init')).toEqual(['PassStateEntered', 'PassStateExited']);
    expect(stateEvents(history, 'Preflight')).toEqual([
      'TaskStateEntered',
      'LambdaFunctionScheduled',
      'LambdaFunctionStarted',
      'LambdaFunctionSucceeded',
      'TaskStateExited',
    ]);
    expect(stateEvents(history, 'Backfill')).toEqual(['TaskStateEntered', 'TaskScheduled', 'TaskStarted', 'TaskSucceeded', 'TaskStateExited']);
    expect(stateEvents(history, 'BackfillDone')).toEqual(['ChoiceStateEntered', 'ChoiceStateExited']);
    expect(stateEvents(history, 'BackfillWait')).toEqual(['WaitStateEntered', 'WaitStateExited']);
    expect(stateEvents(history, 'ApproveContract')).toEqual([
      'TaskStateEntered',
      'TaskScheduled',
      'TaskStarted',
      'TaskSubmitted',
      'TaskSucceeded',
      'TaskStateExited',
    ]);
    const scheduled = history.find((e) => e.type === 'TaskScheduled' && e.taskScheduledEventDetails?.resource === 'publish.waitForTaskToken');
    expect(scheduled!.taskScheduledEventDetails).toMatchObject({ resourceType: 'sns', region: 'us-east-1', timeoutInSeconds: 3600 });
    expect(JSON.parse(scheduled!.taskScheduledEventDetails!.parameters!).Message.metadata.TaskToken).toBe(token);

    expect(execution.describe()).toMatchObject({ status: 'SUCCEEDED', name: 'migrate-price', output: JSON.stringify(result.output) });
  });

  it('caps dynamic waits with maxWaitMs and passes the input through', async () => {
    const result = await runLocalExecution({
      definition: {
        StartAt: 'W',
        States: {
          W: { Type: 'Wait', SecondsPath: '$.seconds', Next: 'T' },
          T: { Type: 'Wait', TimestampPath: '$.until', OutputPath: '$.seconds', End: true },
        },
      },
      input: { seconds: 86400, until: '2999-01-01T00:00:00Z' },
      lambdas: {},
      sns: () => undefined,
      maxWaitMs: 1,
    });
    expect(result).toMatchObject({ status: 'SUCCEEDED', output: 86400 });
  });

  it('runs Lambda tasks inside Parallel branches and refuses duplicate execution names', async () => {
    const machine = new LocalStateMachine({
      definition: {
        StartAt: 'Both',
        States: {
          Both: {
            Type: 'Parallel',
            Branches: [
              { StartAt: 'A', States: { A: { Type: 'Task', Resource: fn('expand'), End: true } } },
              { StartAt: 'B', States: { B: { Type: 'Pass', Result: 'b', End: true } } },
            ],
            End: true,
          },
        },
      },
      lambdas: { expand: async (e: unknown) => ({ got: e }) },
      sns: () => undefined,
    });
    const first = machine.start({ name: 'one', input: { x: 1 } });
    expect(machine.start({ name: 'one', input: { x: 1 } })).toBe(first);
    expect(() => machine.start({ name: 'one', input: { x: 2 } })).toThrow(expect.objectContaining({ name: 'ExecutionAlreadyExists' }));
    expect(await first.done).toMatchObject({ status: 'SUCCEEDED', output: [{ got: { x: 1 } }, 'b'] });
    expect(machine.getExecution(first.executionArn)).toBe(first);
  });
});

describe('LocalStateMachine: failures', () => {
  const failing = (resource: 'invoke' | 'arn') => ({
    StartAt: 'Expand',
    States: {
      Expand: {
        Type: 'Task',
        ...(resource === 'invoke'
          ? {
              Resource: 'arn:aws:states:::lambda:invoke',
              Parameters: { FunctionName: fn('expand'), 'Payload.$': '$' },
              OutputPath: '$.Payload',
            }
          : { Resource: fn('expand') }),
        Retry: [{ ErrorEquals: ['LockTimeoutError'], IntervalSeconds: 1, MaxAttempts: 2, BackoffRate: 2 }],
        Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'Rollback' }],
        Next: 'Done',
      },
      Rollback: { Type: 'Task', Resource: fn('rollback'), Next: 'Failed' },
      Failed: { Type: 'Fail', Error: 'MigrationFailed', Cause: 'rolled back' },
      Done: { Type: 'Succeed' },
    },
  });

  it.each(['invoke', 'arn'] as const)('retries LockTimeoutError, then Catch puts {Error, Cause} at $.error (%s form)', async (form) => {
    let attempts = 0;
    const rolledBack: unknown[] = [];
    const execution = startLocalExecution({
      definition: failing(form),
      input: { table: 'Product' },
      lambdas: {
        expand: async () => {
          attempts += 1;
          throw new LockTimeoutError('could not obtain lock on relation "Product"', { table: 'Product' });
        },
        rollback: async (event: unknown) => {
          rolledBack.push(event);
          return { rolledBack: true };
        },
      },
      sns: () => undefined,
      retryIntervalOverrides: { Expand: 0 },
    });
    const result = await execution.done;

    expect(attempts).toBe(3);
    expect(result).toMatchObject({ status: 'FAILED', error: 'MigrationFailed', cause: 'rolled back' });
    const state = rolledBack[0] as { table: string; error: { Error: string; Cause: string } };
    expect(state.table).toBe('Product');
    expect(state.error.Error).toBe('LockTimeoutError');
    const cause = JSON.parse(state.error.Cause);
    expect(cause).toMatchObject({ errorType: 'LockTimeoutError', errorMessage: 'could not obtain lock on relation "Product"' });
    expect(Array.isArray(cause.trace)).toBe(true);
    expect(cause.code).toBeUndefined(); // AWS's Node runtime sends only errorType/errorMessage/trace
    const failedType = form === 'invoke' ? 'TaskFailed' : 'LambdaFunctionFailed';
    expect(execution.history().filter((e) => e.type === failedType)).toHaveLength(3);
    expect(execution.transitionCount).toBe(5); // Expand + 2 retries + Rollback + Failed
    expect(execution.history().at(-1)).toMatchObject({
      type: 'ExecutionFailed',
      executionFailedEventDetails: { error: 'MigrationFailed', cause: 'rolled back' },
    });
  });

  it('adds toJSON() details to the Cause only when asked', async () => {
    const seen: Array<{ error: { Error: string; Cause: string } }> = [];
    await runLocalExecution({
      definition: failing('arn'),
      lambdas: {
        expand: async () => {
          throw new LockTimeoutError('locked');
        },
        rollback: async (e: unknown) => void seen.push(e as (typeof seen)[number]),
      },
      sns: () => undefined,
      retryIntervalOverrides: { Expand: 0 },
      includeErrorDetails: true,
    });
    expect(JSON.parse(seen[0]!.error.Cause)).toMatchObject({
      errorType: 'LockTimeoutError',
      errorMessage: 'locked',
      code: 'SW_LOCK_TIMEOUT',
      hint: expect.stringContaining('long-running transaction'),
    });
  });

  it('fails with Lambda.ResourceNotFoundException when no handler exists', async () => {
    const execution = startLocalExecution({
      definition: failing('invoke'),
      lambdas: { rollback: async (e: unknown) => e },
      sns: () => undefined,
    });
    await execution.done;
    const caught = execution.history().find((e) => e.type === 'TaskFailed');
    expect(caught?.taskFailedEventDetails).toMatchObject({ error: 'Lambda.ResourceNotFoundException', resourceType: 'lambda', resource: 'invoke' });
  });

  it('refuses Task states it cannot answer unless overridden', () => {
    const definition = {
      StartAt: 'Snapshot',
      States: { Snapshot: { Type: 'Task', Resource: 'arn:aws:states:::aws-sdk:rds:createDBClusterSnapshot', Parameters: {}, End: true } },
    };
    expect(() => new LocalStateMachine({ definition, lambdas: {}, sns: () => undefined })).toThrow(/Snapshot/);
    expect(() => new LocalStateMachine({ definition, lambdas: {}, sns: () => undefined, taskOverrides: { Snapshot: () => ({}) } })).not.toThrow();
  });
});
