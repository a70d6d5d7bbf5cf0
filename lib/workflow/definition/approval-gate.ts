import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Gate } from '../../constants';
import { chatbotMessage, fmt } from './chatbot-message';
import { ON_CALL_COMMENT, startChecklist } from './checklist';
import { EXECUTION_ID_PATH, SNAPSHOT_ID_PATH, SNAPSHOT_STATUS_PATH, SPEC_NAME_PATH, type DefinitionContext } from './context';

/** Options of {@link approvalGate}. */
export interface ApprovalGateOptions {
  /** What happens once the gate is approved, in one sentence (shown to the approver). */
  readonly next: string;
  /** State comment. */
  readonly comment: string;
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
  return new tasks.SnsPublish(ctx.scope, gate, {
    stateName: gate,
    comment: options.comment,
    topic: ctx.topic,
    integrationPattern: sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
    message: chatbotMessage({
      title: fmt(`Stepwise {}: approval needed (${gate})`, SPEC_NAME_PATH),
      description: gate === Gate.Start
        ? startGateDescription(options)
        : fmt(
          `Gate *${gate}*. ${options.next} Cluster snapshot: {} ({}). Approve with \`stepwise approve {}\` or reject (rolls back) with \`stepwise reject {}\`.`,
          SNAPSHOT_ID_PATH, SNAPSHOT_STATUS_PATH, EXECUTION_ID_PATH, EXECUTION_ID_PATH,
        ),
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
    taskTimeout: sfn.Timeout.duration(ctx.approvalTimeout),
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
