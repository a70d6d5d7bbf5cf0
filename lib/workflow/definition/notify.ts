import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { NOTIFY_RETRY, NOTIFY_TIMEOUT } from '../defaults';
import type { StateName } from '../state-names';
import { chatbotMessage, type ChatbotContent } from './chatbot-message';
import type { DefinitionContext } from './context';

/** Options of {@link notify}. */
export interface NotifyOptions extends ChatbotContent {
  /** State comment. */
  readonly comment: string;
  /** Value of the `event` message attribute, for subscription filter policies (`planned`, `failed`, ...). */
  readonly event: string;
}

/**
 * An SNS publish of a Chatbot custom notification. Its result is discarded, so the state flows through unchanged.
 * A notification is best effort: chain it with {@link continueOnFailure} so a failed publish never rolls a migration
 * back nor stops a rollback.
 */
export function notify(ctx: DefinitionContext, name: StateName, options: NotifyOptions): tasks.SnsPublish {
  const task = new tasks.SnsPublish(ctx.scope, name, {
    stateName: name,
    comment: options.comment,
    topic: ctx.topic,
    message: chatbotMessage(options),
    messageAttributes: { event: { value: options.event } },
    resultPath: sfn.JsonPath.DISCARD,
    taskTimeout: sfn.Timeout.duration(NOTIFY_TIMEOUT),
  });
  task.addRetry({ errors: [sfn.Errors.TASKS_FAILED], ...NOTIFY_RETRY });
  return task;
}

/**
 * Makes a best-effort task go on to `next` (its `Next` state) when it fails after its retries, with the state
 * unchanged. Add it before any other Catch: the first matching catcher wins.
 */
export function continueOnFailure(task: tasks.SnsPublish, next: sfn.IChainable): void {
  task.addCatch(next, { errors: [sfn.Errors.ALL], resultPath: sfn.JsonPath.DISCARD });
}
