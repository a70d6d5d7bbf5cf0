import type { HistoryEvent } from '@aws-sdk/client-sfn';
import { backfillProgress, defaultExecutionName, findWaitingGate, resolveEndpoint, taskTokenOf } from '../../lib/cli/operator';

/** A history as AWS writes it: previousEventId links a task's events to its TaskScheduled, not to the event before. */
function awsHistory(extra: Partial<HistoryEvent>[] = []): HistoryEvent[] {
  const message = { version: '1.0', source: 'custom', content: { title: 't' }, metadata: { additionalContext: { gate: 'ApproveStart', taskToken: 'TOKEN-1' } } };
  const events: Partial<HistoryEvent>[] = [
    { id: 1, previousEventId: 0, type: 'ExecutionStarted' },
    { id: 2, previousEventId: 1, type: 'TaskStateEntered', stateEnteredEventDetails: { name: 'ApproveStart' } },
    {
      id: 3,
      previousEventId: 2,
      type: 'TaskScheduled',
      taskScheduledEventDetails: { resourceType: 'sns', resource: 'publish.waitForTaskToken', region: 'eu-west-1', parameters: JSON.stringify({ TopicArn: 'arn', Message: message }) },
    },
    { id: 4, previousEventId: 3, type: 'TaskStarted' },
    { id: 5, previousEventId: 4, type: 'TaskSubmitted' },
    ...extra,
  ];
  return events.map((e) => ({ timestamp: new Date(1_800_000_000_000 + (e.id ?? 0) * 1000), ...e }) as HistoryEvent);
}

describe('findWaitingGate', () => {
  it('finds the gate and its token in the TaskScheduled parameters (Message as object or JSON string)', () => {
    expect(findWaitingGate(awsHistory())).toMatchObject({ stateName: 'ApproveStart', token: 'TOKEN-1', scheduledEventId: 3 });
    const asString = JSON.stringify({ Message: JSON.stringify({ metadata: { additionalContext: { taskToken: 'TOKEN-2' } } }) });
    expect(taskTokenOf(asString)).toBe('TOKEN-2');
    expect(taskTokenOf(JSON.stringify({ Payload: { TaskToken: 'TOKEN-3' } }))).toBe('TOKEN-3');
    expect(taskTokenOf('not json')).toBeUndefined();
  });

  it('closes the gate on its completion (through previousEventId), its exit, or the end of the execution', () => {
    expect(findWaitingGate(awsHistory([{ id: 6, previousEventId: 5, type: 'TaskSucceeded' }]))).toBeUndefined();
    expect(findWaitingGate(awsHistory([{ id: 6, previousEventId: 3, type: 'TaskTimedOut' }]))).toBeUndefined();
    expect(findWaitingGate(awsHistory([{ id: 6, previousEventId: 5, type: 'TaskStateExited', stateExitedEventDetails: { name: 'ApproveStart' } }]))).toBeUndefined();
    expect(findWaitingGate(awsHistory([{ id: 6, previousEventId: 5, type: 'ExecutionAborted' }]))).toBeUndefined();
    // An unrelated task finishing elsewhere does not close the gate.
    const other: Partial<HistoryEvent>[] = [
      { id: 6, previousEventId: 0, type: 'TaskScheduled', taskScheduledEventDetails: { resourceType: 'sns', resource: 'publish', region: 'r', parameters: '{}' } },
      { id: 7, previousEventId: 6, type: 'TaskSucceeded' },
    ];
    expect(findWaitingGate(awsHistory(other))?.stateName).toBe('ApproveStart');
  });
});

describe('backfillProgress', () => {
  it('reads the latest Backfill result', () => {
    const result = (rows: number, done: boolean) => JSON.stringify({ done, cursor: String(rows), rows, batches: rows / 100, seconds: 1, estimatedRows: 1000, waitSeconds: 0 });
    const history = [
      { id: 1, type: 'TaskStateEntered', stateEnteredEventDetails: { name: 'Backfill' } },
      { id: 2, type: 'LambdaFunctionSucceeded', lambdaFunctionSucceededEventDetails: { output: result(400, false) } },
      { id: 3, type: 'TaskStateEntered', stateEnteredEventDetails: { name: 'Backfill' } },
      { id: 4, type: 'LambdaFunctionSucceeded', lambdaFunctionSucceededEventDetails: { output: result(500, false) } },
    ] as HistoryEvent[];
    expect(backfillProgress(history)).toEqual({ rows: 500, estimatedRows: 1000, batches: 5, done: false, percent: 50 });
    expect(backfillProgress([])).toBeNull();
  });
});

describe('execution names and endpoints', () => {
  it('names an execution after the spec and the time, within the API limits', () => {
    expect(defaultExecutionName('product-price-cents', new Date('2026-11-05T10:15:00.123Z'))).toBe('product-price-cents-20261105T101500Z');
    const long = defaultExecutionName('x.'.repeat(100), new Date(0));
    expect(long).toMatch(/^[A-Za-z0-9_-]{1,80}$/);
  });

  it('takes --endpoint-url, then AWS_ENDPOINT_URL_SFN, then AWS_ENDPOINT_URL', () => {
    expect(resolveEndpoint({ endpointUrl: 'http://a:1' }, { AWS_ENDPOINT_URL: 'http://c:3' })).toBe('http://a:1');
    expect(resolveEndpoint({}, { AWS_ENDPOINT_URL_SFN: 'http://b:2', AWS_ENDPOINT_URL: 'http://c:3' })).toBe('http://b:2');
    expect(resolveEndpoint({}, { AWS_ENDPOINT_URL: 'http://c:3' })).toBe('http://c:3');
    expect(resolveEndpoint({}, {})).toBeUndefined();
    expect(() => resolveEndpoint({ endpointUrl: 'localhost:8083' }, {})).toThrow(/not an http/);
  });
});
