import { Aws } from 'aws-cdk-lib';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { SPEC_NAME_PATH } from './context';

/** Content of an AWS Chatbot custom notification. Values may be JSONPath tokens (`JsonPath.format`, `stringAt`). */
export interface ChatbotContent {
  /** Markdown title. */
  readonly title: string;
  /** Markdown body. */
  readonly description: string;
  /** Bullet list shown under "Next steps"; a `JsonPath.array(...)` token or plain strings. */
  readonly nextSteps?: string | readonly string[];
  /** Extra key/value pairs under `metadata.additionalContext` (shown by Chatbot, read by the CLI). */
  readonly additionalContext?: Readonly<Record<string, string>>;
}

/**
 * An AWS Chatbot custom notification (`version 1.0`, `source custom`, client-markdown), threaded by migration name,
 * as the SNS message of a task.
 *
 * @example
 * chatbotMessage({ title: JsonPath.format('Stepwise {} planned', JsonPath.stringAt('$.spec.name')), description: '...' });
 */
export function chatbotMessage(content: ChatbotContent): sfn.TaskInput {
  return sfn.TaskInput.fromObject({
    version: '1.0',
    source: 'custom',
    content: {
      textType: 'client-markdown',
      title: content.title,
      description: content.description,
      ...(content.nextSteps === undefined ? {} : { nextSteps: content.nextSteps }),
    },
    metadata: {
      threadId: sfn.JsonPath.stringAt(SPEC_NAME_PATH),
      additionalContext: {
        execution: sfn.JsonPath.stringAt('$$.Execution.Id'),
        // The execution in the Step Functions console (the stack's region; resolved at deploy).
        console: sfn.JsonPath.format(`https://${Aws.REGION}.console.aws.amazon.com/states/home?region=${Aws.REGION}#/v2/executions/details/{}`, sfn.JsonPath.stringAt('$$.Execution.Id')),
        ...content.additionalContext,
      },
    },
  });
}

/** `States.Format(template, ...paths)`: each `{}` in the template takes the value at the next JSONPath. */
export function fmt(template: string, ...paths: string[]): string {
  return sfn.JsonPath.format(template, ...paths.map((p) => sfn.JsonPath.stringAt(p)));
}
