import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { StateName } from '../state-names';
import { continueOnFailure, notify } from './notify';
import type { DefinitionContext } from './context';

/** Options of {@link notifyAndFail}. */
export interface NotifyAndFailOptions {
  /** Name of the notification state. */
  readonly notify: StateName;
  /** Name of the Fail state; also its `Error`. */
  readonly fail: StateName;
  /** Notification title and description (JSONPath tokens allowed). */
  readonly title: string;
  readonly description: string;
  /** "Next steps" bullets of the notification (a `JsonPath.array(...)` token or strings). */
  readonly nextSteps?: string | readonly string[];
  /** Comment of the notification state. */
  readonly comment: string;
  /** `Cause` of the Fail state: where things stand, for whoever reads the execution. */
  readonly cause: string;
}

/** Notify, then fail the execution. The notification is best effort: the Fail state is reached either way. */
export function notifyAndFail(ctx: DefinitionContext, options: NotifyAndFailOptions): sfn.IChainable {
  const message = notify(ctx, options.notify, {
    comment: options.comment,
    event: 'failed',
    title: options.title,
    description: options.description,
    ...(options.nextSteps === undefined ? {} : { nextSteps: options.nextSteps }),
  });
  const fail = failWithCause(ctx, options.fail, options.cause, options.cause);
  continueOnFailure(message, fail);
  return message.next(fail);
}

/**
 * A Fail state whose Error is its name and whose Cause is the caught error's Cause (`$.error.Cause`), so whoever reads
 * the execution (DescribeExecution, the CLI, the report) sees why it failed; `summary` goes to the comment. A plain
 * path, not States.Format: the local runner evaluates only paths in CausePath.
 */
export function failWithCause(ctx: DefinitionContext, name: StateName, summary: string, comment: string): sfn.Fail {
  return new sfn.Fail(ctx.scope, name, {
    stateName: name,
    comment: `${comment} ${summary}`,
    error: name,
    causePath: sfn.JsonPath.stringAt('$.error.Cause'),
  });
}
