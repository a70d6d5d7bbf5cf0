import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Gate } from '../../constants';
import { reminderStateNames, type StateName } from '../state-names';
import { continueOnFailure, notify } from './notify';
import { chatbotMessage, fmt } from './chatbot-message';
import { ON_CALL_COMMENT, startChecklist } from './checklist';
import { EXECUTION_ID_PATH, SNAPSHOT_ID_PATH, SNAPSHOT_STATUS_PATH, SPEC_NAME_PATH, type DefinitionContext } from './context';

/** Options of {@link approvalGate}. */
export interface ApprovalGateOptions {
  /** What happens once the gate is approved, in one sentence (shown to the approver). */
  readonly next: string;
  /** State comment. */
  readonly comment: string;
  /**
   * Where the workflow goes when nobody answered within `approvalTimeout` (the rollback flow), with `$.error` set; or
   * `'keep-waiting'` (the gates after Constrain, once the team was told to deploy the reader): a notification says
   * nobody answered and the gate waits on, reminding as before, never rolling back on its own.
   */
  readonly onTimeout: sfn.IChainable | 'keep-waiting';
}

/**
 * A human approval gate: publishes a Chatbot message carrying the task token and waits (`.waitForTaskToken`) until
 * `stepwise approve <execution>` (SendTaskSuccess) or `stepwise reject <execution>` (SendTaskFailure) answers, or
 * `approvalTimeout` passes. The decision is stored at `$.approvals.<gate>`; a rejection or a timeout is an error the
 * caller catches (into rollback).
 *
 * @example
 * approvalGate(ctx, Gate.Contract, { next: 'Stepwise drops the old column.', comment: '...' });
 */
export function approvalGate(ctx: DefinitionContext, gate: Gate, options: ApprovalGateOptions): tasks.SnsPublish {
  const description = gate === Gate.Start ? startGateDescription(options) : otherGateDescription(gate, options);
  const task = new tasks.SnsPublish(ctx.scope, gate, {
    stateName: gate,
    comment: options.comment,
    topic: ctx.topic,
    integrationPattern: sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
    message: chatbotMessage({
      title: fmt(`Stepwise {}: approval needed (${gate})`, SPEC_NAME_PATH),
      description: ctx.approvalLinkUrl !== undefined ? withApprovalLink(ctx.approvalLinkUrl, gate, description) : description,
      nextSteps: sfn.JsonPath.array(
        gate === Gate.Start ? fmt(`stepwise approve {} --comment "${ON_CALL_COMMENT}"`, EXECUTION_ID_PATH) : fmt('stepwise approve {}', EXECUTION_ID_PATH),
        fmt('stepwise reject {}', EXECUTION_ID_PATH),
      ),
      additionalContext: {
        gate,
        execution: sfn.JsonPath.stringAt(EXECUTION_ID_PATH),
        snapshot: sfn.JsonPath.stringAt(SNAPSHOT_ID_PATH),
        taskToken: sfn.JsonPath.taskToken,
      },
    }),
    messageAttributes: { event: { value: 'approval' }, gate: { value: gate } },
    resultPath: `$.approvals.${gate}`,
    // Each wait lasts one reminder interval; unanswered, the gate publishes again (a reminder with a fresh token).
    taskTimeout: sfn.Timeout.duration(reminderInterval(ctx)),
  });
  addReminders(ctx, gate, task, options.onTimeout);
  return task;
}

/** The wait between two reminders: `approvalReminderAfter`, never longer than the whole approval timeout. */
function reminderInterval(ctx: DefinitionContext) {
  return ctx.approvalReminderAfter.toSeconds() < ctx.approvalTimeout.toSeconds() ? ctx.approvalReminderAfter : ctx.approvalTimeout;
}

/**
 * Reminders: a gate unanswered after one interval (States.Timeout) counts the reminder in `$.reminders.<gate>.count`
 * and publishes again; once the intervals add up to `approvalTimeout` it ends in `onTimeout` with `$.error` set, as a
 * rejection would (with `'keep-waiting'`: it notifies and the count starts again). Added before the caller's
 * Catch-all, so the first matching catcher is this one.
 */
function addReminders(ctx: DefinitionContext, gate: Gate, task: tasks.SnsPublish, onTimeout: sfn.IChainable | 'keep-waiting'): void {
  const counter = `$.reminders.${gate}`;
  const names = reminderStateNames(gate);
  const maxWaits = Math.max(1, Math.ceil(ctx.approvalTimeout.toSeconds() / reminderInterval(ctx).toSeconds()));
  const timedOut =
    onTimeout === 'keep-waiting'
      ? stillWaiting(ctx, gate, names.timedOut, maxWaits)
      : new sfn.Pass(ctx.scope, names.timedOut, {
          stateName: names.timedOut,
          comment: `Nobody answered ${gate} within the approval timeout: the migration is rolled back as on a rejection.`,
          result: sfn.Result.fromObject({ Error: 'States.Timeout', Cause: `No answer to ${gate} within the approval timeout (${maxWaits} notifications sent).` }),
          resultPath: '$.error',
        }).next(onTimeout);
  const due = new sfn.Choice(ctx.scope, names.due, { stateName: names.due, comment: 'Remind again, or give up once the approval timeout is spent.' })
    .when(sfn.Condition.numberGreaterThanEquals(`${counter}.count`, maxWaits), timedOut)
    .otherwise(task);
  const first = new sfn.Pass(ctx.scope, names.first, {
    stateName: names.first,
    comment: onTimeout === 'keep-waiting' ? 'First reminder of this gate (again after each approval timeout).' : 'First reminder of this gate.',
    result: sfn.Result.fromObject({ count: 1 }),
    resultPath: counter,
  }).next(due);
  if (timedOut instanceof tasks.SnsPublish) {
    continueOnFailure(timedOut, first);
    timedOut.next(first);
  }
  const next = new sfn.Pass(ctx.scope, names.next, {
    stateName: names.next,
    comment: 'One more reminder of this gate.',
    parameters: { 'count.$': `States.MathAdd(${counter}.count, 1)` },
    resultPath: counter,
  }).next(due);
  const count = new sfn.Choice(ctx.scope, names.reminder, { stateName: names.reminder, comment: `${gate} got no answer within the reminder interval.` })
    .when(sfn.Condition.isPresent(`${counter}.count`), next)
    .otherwise(first);
  task.addCatch(count, { errors: [sfn.Errors.TIMEOUT], resultPath: sfn.JsonPath.DISCARD });
}

/** Every other gate's message (the same sentence as without a link). */
/** What a rejection does, as the gate's message says it: before Constrain a full rollback; after it, only the sync machinery goes. */
const REJECT_EFFECT = {
  rollback: 'rolls back',
  release: 'rolls back the sync trigger only: the new column, its index and the backup stay',
} as const;

function otherGateDescription(gate: Gate, options: ApprovalGateOptions): string {
  return fmt(
    `Gate *${gate}*. ${options.next} Cluster snapshot: {} ({}). Approve with \`stepwise approve {}\` or reject (${REJECT_EFFECT[options.onTimeout === 'keep-waiting' ? 'release' : 'rollback']}) with \`stepwise reject {}\`.`,
    SNAPSHOT_ID_PATH, SNAPSHOT_STATUS_PATH, EXECUTION_ID_PATH, EXECUTION_ID_PATH,
  );
}

/**
 * The description, then a Markdown link to the approval page carrying the execution, the gate and its task token
 * (lib/approvals/approval-link.ts). `States.Format` nests: the inner description is one argument.
 */
function withApprovalLink(url: string, gate: Gate, description: string): string {
  return sfn.JsonPath.format(
    `{}\n\n[Approve or reject in the browser]({}?execution={}&gate=${gate}&token={}) (records your name in the execution history)`,
    description,
    url,
    sfn.JsonPath.stringAt(EXECUTION_ID_PATH),
    sfn.JsonPath.taskToken,
  );
}

/**
 * A gate after Constrain that nobody answered within the approval timeout: the team was told to deploy the reader, so
 * rolling back on silence could break the application. Announces it and waits on (the reminder count starts again);
 * best effort, as every notification: a failed publish waits on too.
 */
function stillWaiting(ctx: DefinitionContext, gate: Gate, name: string, maxWaits: number): tasks.SnsPublish {
  return notify(ctx, name as StateName, {
    comment: `Nobody answered ${gate} within the approval timeout: after Constrain the migration is never rolled back on silence; it keeps waiting.`,
    event: 'approval-timeout',
    title: fmt(`Stepwise {}: still waiting at ${gate}`, SPEC_NAME_PATH),
    description: fmt(
      `Nobody answered *${gate}* within the approval timeout (${maxWaits} notifications). The application may already use the new column, so Stepwise does not roll back on silence: it keeps waiting and reminding. Approve with \`stepwise approve {}\`, or reject with \`stepwise reject {}\` (the rollback then keeps the new column and removes only the sync trigger).`,
      EXECUTION_ID_PATH, EXECUTION_ID_PATH,
    ),
    nextSteps: sfn.JsonPath.array(fmt('stepwise approve {}', EXECUTION_ID_PATH), fmt('stepwise reject {}', EXECUTION_ID_PATH)),
  });
}

/**
 * ApproveStart's message: the gate sentence, then the runbook's checklist mapped to what Stepwise and preflight check
 * and what the approver confirms (lib/workflow/definition/checklist.ts).
 */
function startGateDescription(options: ApprovalGateOptions): string {
  const checklist = startChecklist({ specName: SPEC_NAME_PATH, snapshotId: SNAPSHOT_ID_PATH, executionId: EXECUTION_ID_PATH });
  return fmt(
    `Gate *${Gate.Start}*. ${options.next} Cluster snapshot: {} ({}). Approve, naming the on-call, with \`stepwise approve {} --comment "${ON_CALL_COMMENT}"\` or reject (nothing has changed yet) with \`stepwise reject {}\`.\n\n${checklist.text}`,
    SNAPSHOT_ID_PATH, SNAPSHOT_STATUS_PATH, EXECUTION_ID_PATH, EXECUTION_ID_PATH, ...checklist.paths,
  );
}
