/**
 * AWS Step Functions limits the twin enforces: each test breaks one and expects the execution to end as it would on
 * AWS, with no Retry and no Catch taking over.
 */
import { ExecutionStartError, startLocalExecution, type AslDefinition, type HistoryEvent } from '../../../lib/local/step-functions';
import { deferred, fn, snsCollector } from './fixtures';

const catchAll = {
  Retry: [{ ErrorEquals: ['States.ALL'], MaxAttempts: 3, IntervalSeconds: 1 }],
  Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'Caught' }],
};

/** Work → (Choice) → Work … forever, every Task guarded by Retry/Catch States.ALL. */
function endlessLoop(): AslDefinition {
  return {
    StartAt: 'Work',
    States: {
      Work: { Type: 'Task', Resource: fn('work'), ResultPath: '$.last', TimeoutSeconds: 30, Next: 'Again', ...catchAll },
      Again: { Type: 'Choice', Choices: [{ Variable: '$.last.n', NumericGreaterThan: -1, Next: 'Work' }], Default: 'Done' },
      Done: { Type: 'Succeed' },
      Caught: { Type: 'Pass', Result: 'caught', ResultPath: '$.path', End: true },
    },
  };
}

/** One Task (Retry/Catch States.ALL), its result stored at `resultPath`. */
function oneTask(resultPath: string): AslDefinition {
  return {
    StartAt: 'Work',
    States: {
      Work: { Type: 'Task', Resource: fn('work'), ResultPath: resultPath, TimeoutSeconds: 30, End: true, ...catchAll },
      Caught: { Type: 'Pass', Result: 'caught', ResultPath: '$.path', End: true },
    },
  };
}

const entered = (history: HistoryEvent[], name: string) => history.filter((e) => e.stateEnteredEventDetails?.name === name);

describe('twin limits: 25,000 history events', () => {
  it('fails the execution with States.Runtime at event 25,000, as on AWS, without Catch or another invocation', async () => {
    let calls = 0;
    const execution = startLocalExecution({
      definition: endlessLoop(),
      input: {},
      lambdas: { work: () => ({ n: ++calls }) },
      sns: snsCollector().sink,
    });
    const result = await execution.done;
    const history = execution.history();

    expect(result).toMatchObject({ status: 'FAILED', error: 'States.Runtime', cause: 'The execution reached the maximum number of history events (25000).' });
    expect(history).toHaveLength(25_000);
    expect(history.at(-1)).toMatchObject({ id: 25_000, type: 'ExecutionFailed', executionFailedEventDetails: { error: 'States.Runtime' } });
    expect(entered(history, 'Caught')).toHaveLength(0);
    // Every invocation is in the history: none ran after the limit.
    expect(history.filter((e) => e.type === 'LambdaFunctionStarted')).toHaveLength(calls);
    expect(execution.describe()).toMatchObject({ status: 'FAILED', error: 'States.Runtime' });
  });
});

describe('twin limits: 256 KiB payloads (States.DataLimitExceeded, terminal)', () => {
  const big = (kib: number) => 'x'.repeat(kib * 1024);

  it('fails on a task result over 256 KiB: no retry, no Catch', async () => {
    let calls = 0;
    const execution = startLocalExecution({
      definition: oneTask('$.result'),
      input: {},
      lambdas: { work: () => ({ blob: big(257), call: ++calls }) },
      sns: snsCollector().sink,
    });
    const result = await execution.done;

    expect(result).toMatchObject({ status: 'FAILED', error: 'States.DataLimitExceeded' });
    expect(calls).toBe(1);
    expect(entered(execution.history(), 'Caught')).toHaveLength(0);
  });

  it('fails on a state output over 256 KiB although the task result fits', async () => {
    let calls = 0;
    const execution = startLocalExecution({
      definition: oneTask('$.result'),
      input: { carried: big(150) },
      lambdas: { work: () => ({ blob: big(150), call: ++calls }) },
      sns: snsCollector().sink,
    });
    const result = await execution.done;
    const history = execution.history();

    expect(result).toMatchObject({
      status: 'FAILED',
      error: 'States.DataLimitExceeded',
      cause: "The state/task 'Work' returned a result with a size exceeding the maximum number of bytes service limit.",
    });
    expect(calls).toBe(1);
    expect(history.at(-1)?.type).toBe('ExecutionFailed');
    expect(history.some((e) => e.type === 'TaskStateExited')).toBe(false);
    expect(entered(history, 'Caught')).toHaveLength(0);
  });

  it('fails a Lambda payload over 256 KiB (Parameters resolved) before invoking the function', async () => {
    let calls = 0;
    const definition = oneTask('$.result');
    const work = { ...(definition.States.Work as Record<string, unknown>), Parameters: { 'a.$': '$.half', 'b.$': '$.half' } };
    const execution = startLocalExecution({
      definition: { ...definition, States: { ...definition.States, Work: work } },
      input: { half: big(130) },
      lambdas: { work: () => ({ call: ++calls }) },
      sns: snsCollector().sink,
    });
    const result = await execution.done;

    expect(result).toMatchObject({ status: 'FAILED', error: 'States.DataLimitExceeded' });
    expect(calls).toBe(0);
    expect(entered(execution.history(), 'Caught')).toHaveLength(0);
  });

  it('refuses an execution input over 256 KiB (InvalidExecutionInput) and runs nothing', () => {
    let calls = 0;
    const start = () => startLocalExecution({ definition: oneTask('$.result'), input: { blob: big(257) }, lambdas: { work: () => ++calls }, sns: snsCollector().sink });
    expect(start).toThrow(ExecutionStartError);
    expect(start).toThrow(/execution input exceeds the maximum size of 262144 bytes/);
    expect(calls).toBe(0);
  });
});

describe("twin limits: the execution's own TimeoutSeconds", () => {
  it('ends TIMED_OUT while a task runs, without its Retry or Catch', async () => {
    const never = deferred<unknown>();
    let calls = 0;
    const definition = { ...oneTask('$.result'), TimeoutSeconds: 1 };
    const execution = startLocalExecution({
      definition,
      input: {},
      lambdas: {
        work: () => {
          calls += 1;
          return never.promise;
        },
      },
      sns: snsCollector().sink,
    });
    const result = await execution.done;
    const history = execution.history();

    expect(result).toMatchObject({ status: 'TIMED_OUT', error: 'States.Timeout' });
    expect(history.at(-1)?.type).toBe('ExecutionTimedOut');
    expect(entered(history, 'Caught')).toHaveLength(0);
    expect(calls).toBe(1);
    expect(execution.describe().status).toBe('TIMED_OUT');
    never.resolve({});
  });
});
