/**
 * Hand-written ASL mirroring what CDK synthesizes for Stepwise (tokens resolved to local ARNs): `payloadResponseOnly`
 * Lambda tasks (Resource = function ARN), `lambda:invoke` tasks with ResultSelector, SNS publishes, a
 * `sns:publish.waitForTaskToken` gate, Choice/Wait loops, Retry on LockTimeoutError and Catch to `$.error`.
 */
import type { AslDefinition, SnsMessage } from '../../../lib/local/step-functions';

export const fn = (name: string): string => `arn:aws:lambda:us-east-1:000000000000:function:${name}`;
export const TOPIC = 'arn:aws:sns:us-east-1:000000000000:stepwise';

const phasePayload = (slot: string) => ({ 'execution.$': '$$.Execution.Id', 'state.$': '$', slot });

/** A gate as CDK emits it for `SnsPublish` with `IntegrationPattern.WAIT_FOR_TASK_TOKEN`. */
export function gate(next: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    Type: 'Task',
    Resource: 'arn:aws:states:::sns:publish.waitForTaskToken',
    Parameters: {
      TopicArn: TOPIC,
      Message: {
        version: '1.0',
        source: 'custom',
        content: {
          textType: 'client-markdown',
          title: 'Approve contract',
          'description.$': "States.Format('Run: stepwise approve {}', $$.Task.Token)",
        },
        metadata: { 'TaskToken.$': '$$.Task.Token', 'executionId.$': '$$.Execution.Id' },
      },
    },
    ResultPath: '$.approval',
    TimeoutSeconds: 3600,
    Next: next,
    ...extra,
  };
}

/** Pass → Lambda (ARN form) → Lambda (invoke form) loop ×3 with Choice/Wait → Wait → SNS → gate → Succeed. */
export const happyPath: AslDefinition = {
  Comment: 'stepwise happy path',
  StartAt: 'Init',
  States: {
    Init: { Type: 'Pass', Parameters: { 'spec.$': '$' }, Next: 'Preflight' },
    Preflight: {
      Type: 'Task',
      Resource: fn('preflight'),
      Parameters: phasePayload('preflight'),
      ResultPath: '$.preflight',
      TimeoutSeconds: 30,
      Next: 'Backfill',
    },
    Backfill: {
      Type: 'Task',
      Resource: 'arn:aws:states:::lambda:invoke',
      Parameters: { FunctionName: fn('backfill'), Payload: phasePayload('backfill') },
      ResultSelector: { 'Payload.$': '$.Payload', 'statusCode.$': '$.StatusCode' },
      ResultPath: '$.backfillCall',
      Retry: [
        {
          ErrorEquals: ['Lambda.ClientExecutionTimeoutException', 'Lambda.ServiceException', 'Lambda.AWSLambdaException', 'Lambda.SdkClientException'],
          IntervalSeconds: 2,
          MaxAttempts: 6,
          BackoffRate: 2,
        },
      ],
      Next: 'StoreBackfill',
    },
    StoreBackfill: { Type: 'Pass', InputPath: '$.backfillCall.Payload', ResultPath: '$.backfill', Next: 'BackfillDone' },
    BackfillDone: {
      Type: 'Choice',
      Choices: [{ Variable: '$.backfill.done', BooleanEquals: true, Next: 'Soak' }],
      Default: 'BackfillWait',
    },
    BackfillWait: { Type: 'Wait', SecondsPath: '$.backfill.waitSeconds', Next: 'Backfill' },
    Soak: { Type: 'Wait', Seconds: 604800, Next: 'Notify' },
    Notify: {
      Type: 'Task',
      Resource: 'arn:aws:states:::sns:publish',
      Parameters: {
        TopicArn: TOPIC,
        Subject: 'Backfill done',
        Message: {
          version: '1.0',
          source: 'custom',
          content: { textType: 'client-markdown', title: 'Backfill done', 'description.$': "States.Format('{} rows', $.backfill.rows)" },
        },
      },
      ResultPath: null,
      Next: 'ApproveContract',
    },
    ApproveContract: gate('Done'),
    Done: { Type: 'Succeed' },
  },
};

/** Collects SNS publishes. */
export function snsCollector(): { sink: (m: SnsMessage) => void; messages: SnsMessage[] } {
  const messages: SnsMessage[] = [];
  return { sink: (m) => void messages.push(m), messages };
}

/** A promise with its resolver, for handlers the test finishes by hand. */
export function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}
