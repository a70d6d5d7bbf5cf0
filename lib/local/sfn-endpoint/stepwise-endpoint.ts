/**
 * The Step Functions side of `stepwise local up`: the CDK-synthesized Stepwise state machine, run by
 * `LocalStateMachine` with the real phase handlers, behind a Step Functions-compatible HTTP endpoint.
 * The handlers reach the database through the environment (`startLocalTwin` sets it), as on Lambda.
 */
import { bundledLambdas } from '../bundled-lambdas';
import { loadDeployedArtifact } from '../deployed-artifact';
import { LocalStateMachine, type AslDefinition, type SnsPublisher, type TaskOverride } from '../step-functions';
import { createSfnApi } from './sfn-api';
import { startSfnHttpServer } from './server';
import { LOCAL_TASK_OVERRIDES } from '../local-task-overrides';

/** The local Stepwise state machine's ARN: its name contains "stepwise", which is how the CLI finds it. */
export const LOCAL_STATE_MACHINE_ARN = 'arn:aws:states:us-east-1:000000000000:stateMachine:stepwise-local';

export interface StepwiseEndpointOptions {
  /** Receives every SNS publish (see `createSnsSink`). */
  readonly sns: SnsPublisher;
  /** @default 0 (any free port) */
  readonly port?: number;
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** The definition to run; the deployed artifact's when absent (lib/local/deployed-artifact.ts). */
  readonly definition?: AslDefinition;
  /** Caps every Wait state (ms): demos and tests only. */
  readonly maxWaitMs?: number;
  /** Retry pauses by state name (ms), e.g. `{ Backfill: 0 }` in tests. */
  readonly retryIntervalOverrides?: Readonly<Record<string, number | readonly number[]>>;
  /** Answers for non-Lambda, non-SNS tasks by state name. @default the local snapshot stand-ins */
  readonly taskOverrides?: Readonly<Record<string, TaskOverride>>;
  /** @default LOCAL_STATE_MACHINE_ARN */
  readonly stateMachineArn?: string;
}

export interface StepwiseEndpoint {
  /** What `--endpoint-url` / `AWS_ENDPOINT_URL` take. */
  readonly url: string;
  readonly port: number;
  readonly machine: LocalStateMachine;
  /** Aborts running executions, waits for them to settle, then stops serving. */
  close(): Promise<void>;
}

export async function startStepwiseEndpoint(options: StepwiseEndpointOptions): Promise<StepwiseEndpoint> {
  // What `cdk deploy` ships: the definition and the phase functions' bundles, run by the twin's Lambda service.
  const artifact = loadDeployedArtifact();
  const lambdaService = bundledLambdas(artifact);
  const definition = options.definition ?? (artifact.definition as unknown as AslDefinition);
  const machine = new LocalStateMachine({
    definition,
    stateMachineArn: options.stateMachineArn ?? LOCAL_STATE_MACHINE_ARN,
    lambdas: lambdaService.handlers,
    sns: options.sns,
    taskOverrides: options.taskOverrides ?? LOCAL_TASK_OVERRIDES,
    ...(options.maxWaitMs !== undefined ? { maxWaitMs: options.maxWaitMs } : {}),
    ...(options.retryIntervalOverrides ? { retryIntervalOverrides: options.retryIntervalOverrides } : {}),
  });
  const server = await startSfnHttpServer({
    operations: createSfnApi({ machine, definition }),
    ...(options.port !== undefined ? { port: options.port } : {}),
    ...(options.host !== undefined ? { host: options.host } : {}),
  });
  return {
    url: server.url,
    port: server.port,
    machine,
    close: async () => {
      const running = machine.listExecutions().filter((e) => e.describe().status === 'RUNNING');
      for (const e of running) e.abort();
      await Promise.all(running.map((e) => e.done));
      await server.close();
      await lambdaService.close();
    },
  };
}
