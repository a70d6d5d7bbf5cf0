import { DescribeExecutionCommand, SendTaskFailureCommand, SendTaskSuccessCommand, StartExecutionCommand, type HistoryEvent } from '@aws-sdk/client-sfn';
import type { Approver } from '../local/local-twin';
import { createSnsSink } from '../local/sns-sink';
import { startStepwiseEndpoint } from '../local/sfn-endpoint';
import { buildRunReport, type RunReport } from '../report/run-report';
import { continuedExecutionOf } from '../workflow/state';
import { StateName } from '../workflow/state-names';
import { watchBackfill } from './backfill-progress';
import type { LocalTwin } from '../local/local-twin';
import type { Spec } from '../spec';
import { call, createSfnClient, fetchHistory } from './operator/sfn-client';
import { findWaitingGate } from './operator/execution-view';
import { REJECTED_ERROR } from '../constants';

/** How often the client polls the execution (ms). */
const POLL_MS = 200;

/**
 * `run --local` as a thin client of the same path as `stepwise local up` + the operator's commands: the twin's
 * Step Functions-compatible endpoint serves the synthesized state machine, and this function talks to it only through
 * `@aws-sdk/client-sfn` — StartExecution, DescribeExecution, GetExecutionHistory, SendTaskSuccess/Failure — answering
 * each waiting gate with `approver` and building the report from the history, as it would against AWS.
 */
/** What `run` and the demo share: a started twin, the spec as input, progress and the report. */
export interface LocalRunContext {
  readonly twin: LocalTwin;
  readonly input: Spec;
  readonly approver?: Approver;
  readonly write: (line: string) => void;
  readonly slackWebhookUrl?: string;
  readonly maxWaitMs?: number;
}

export async function runThroughEndpoint(ctx: LocalRunContext & { readonly approver: Approver }): Promise<{ report: RunReport }> {
  let progress: ReturnType<typeof watchBackfill> | undefined;
  // Notifications print above the progress bar, never into it.
  const print = (line: string) => (progress ? progress.print(line) : ctx.write(line));
  const endpoint = await startStepwiseEndpoint({
    port: 0,
    sns: createSnsSink({ print: (line) => print(`  » ${line}`), ...(ctx.slackWebhookUrl ? { slackWebhookUrl: ctx.slackWebhookUrl } : {}) }),
    ...(ctx.maxWaitMs !== undefined ? { maxWaitMs: ctx.maxWaitMs } : {}),
  });
  const client = createSfnClient({ endpointUrl: endpoint.url });
  let executionArn: string | undefined;
  // Ctrl-C (or SIGTERM): the run ends at once with RunInterruptedError, which says where the migration was left.
  let interrupt: (signal: NodeJS.Signals) => void = () => undefined;
  const interrupted = new Promise<never>((_, reject) => {
    interrupt = (signal) => reject(new RunInterruptedError(signal, executionArn));
  });
  interrupted.catch(() => undefined);
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);
  const run = follow();
  run.catch(() => undefined);
  try {
    return await Promise.race([run, interrupted]);
  } finally {
    process.off('SIGINT', interrupt);
    process.off('SIGTERM', interrupt);
    progress?.stop();
    await endpoint.close();
  }

  async function follow(): Promise<{ report: RunReport }> {
    const started = await call(
      () => client.send(new StartExecutionCommand({ stateMachineArn: endpoint.machine.stateMachineArn, name: `${ctx.input.name}-${Date.now()}`, input: JSON.stringify(ctx.input) })),
      'StartExecution',
    );
    executionArn = started.executionArn!;
    // Gates answered, by execution and event id (event ids start at 1 again in every execution of a chain).
    const answered = new Set<string>();
    // A migration whose backfill continued as new spans several executions: their histories and transitions add up.
    const earlier: HistoryEvent[] = [];
    let earlierTransitions = 0;
    for (;;) {
      const description = await call(() => client.send(new DescribeExecutionCommand({ executionArn })), 'DescribeExecution');
      const history = await fetchHistory(client, executionArn);
      const entered = new Set(history.map((e) => e.stateEnteredEventDetails?.name));
      if (!progress && (entered.has(StateName.Backfill) || entered.has(StateName.SplitKeyRanges))) progress = watchBackfill(ctx.twin.dataApi.executor, ctx.input.name, { tty: Boolean(process.stdout.isTTY), write: ctx.write });
      if (entered.has(StateName.NotifyBackfilled) || entered.has(StateName.NotifyFailed)) progress?.stop();
      const continued = description.status === 'SUCCEEDED' ? continuedExecutionOf(description.output) : undefined;
      if (continued) {
        ctx.write(`  continues in execution ${continued} (history kept bounded)`);
        earlier.push(...history);
        earlierTransitions += endpoint.machine.getExecution(executionArn)?.transitionCount ?? history.filter((e) => e.stateEnteredEventDetails).length;
        executionArn = continued;
        continue;
      }
      if (description.status !== 'RUNNING') {
        progress?.stop();
        const report = buildRunReport({
          migration: ctx.input.name,
          executionArn,
          status: description.status as RunReport['status'],
          error: description.error,
          cause: description.cause,
          history: [...earlier, ...history],
          transitions: earlierTransitions + (endpoint.machine.getExecution(executionArn)?.transitionCount ?? history.filter((e) => e.stateEnteredEventDetails).length),
        });
        return { report };
      }
      const gate = findWaitingGate(history);
      if (gate?.token && !answered.has(`${executionArn}#${gate.scheduledEventId}`)) {
        answered.add(`${executionArn}#${gate.scheduledEventId}`);
        await answerGate(ctx, client, executionArn, gate, gateMessage(history, gate.scheduledEventId));
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  }
}

/** `run --local` was interrupted (Ctrl-C, SIGTERM): the execution stops with the process; the migration stays as it was. */
export class RunInterruptedError extends Error {
  override readonly name = 'RunInterruptedError';
  constructor(readonly signal: NodeJS.Signals, readonly executionArn: string | undefined) {
    super(`interrupted (${signal})`);
  }
}

async function answerGate(
  ctx: LocalRunContext & { readonly approver: Approver },
  client: ReturnType<typeof createSfnClient>,
  executionArn: string,
  gate: NonNullable<ReturnType<typeof findWaitingGate>>,
  message: unknown,
): Promise<void> {
  const token = gate.token!;
  const answer = await ctx.approver({ token, executionArn, stateName: gate.stateName, message, since: gate.since ?? new Date() });
  if (answer.approved) {
    const output = JSON.stringify({ approved: true, comment: answer.comment ?? null, at: new Date().toISOString() });
    await call(() => client.send(new SendTaskSuccessCommand({ taskToken: token, output })), 'SendTaskSuccess');
  } else {
    await call(() => client.send(new SendTaskFailureCommand({ taskToken: token, error: REJECTED_ERROR, cause: answer.reason })), 'SendTaskFailure');
  }
}

/** The SNS message a gate published (from its TaskScheduled parameters), as the approver shows it. */
function gateMessage(history: readonly HistoryEvent[], scheduledEventId: number): unknown {
  const parameters = history.find((e) => e.id === scheduledEventId)?.taskScheduledEventDetails?.parameters;
  try {
    return (JSON.parse(parameters ?? '{}') as { Message?: unknown }).Message;
  } catch {
    return undefined;
  }
}

