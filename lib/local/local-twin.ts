import { buildRunReport, type RunReport } from '../report/run-report';
import type { Phase } from '../constants';
import { bundledLambdas, type BundledLambdas, type FunctionOverrides } from './bundled-lambdas';
import { loadDeployedArtifact, type DeployedArtifact } from './deployed-artifact';
import { LOCAL_TASK_OVERRIDES } from './local-task-overrides';
import { startLocalDataApi, type LocalDataApi } from './local-data-api';
import { startPostgres, type PostgresServer } from './postgres-server';
import { continuedExecutionOf } from '../workflow/state';
import {
  ApprovalRegistry,
  LocalStateMachine,
  type ExecutionResult,
  type HistoryEvent,
  type LambdaHandler,
  type LocalExecution,
  type PendingApproval,
  type SnsPublisher,
} from './step-functions';

/** Postgres (embedded unless a URL is given) and the Data API emulator in front of it. */
export interface LocalTwin {
  readonly databaseUrl: string;
  readonly dataApi: LocalDataApi;
  /** True when the twin started its own embedded Postgres. */
  readonly embedded: boolean;
  stop(): Promise<void>;
}

export interface LocalTwinOptions {
  /** Any Postgres ≥ 13; an embedded one is started when absent. */
  readonly databaseUrl?: string;
  /** Keep the handlers' Powertools logs and metrics on stdout. @default false */
  readonly verbose?: boolean;
  /** Told when the phase bundles must be built first (after a source change, ~10 s). @default a line on stderr */
  readonly onBuild?: () => void;
}

/**
 * Starts the local twin's database side and points the phase handlers at it: they build their RDS Data API client from
 * the environment, exactly as on Lambda, and the SDK's `AWS_ENDPOINT_URL_RDS_DATA` sends it to the emulator.
 */
export async function startLocalTwin(options: LocalTwinOptions = {}): Promise<LocalTwin> {
  // The phase functions run from the bundles `cdk deploy` ships: build them now if the sources changed.
  loadDeployedArtifact({ onBuild: options.onBuild ?? (() => process.stderr.write('bundling the phase functions as cdk deploy does (once per source change, ~10 s)…\n')) });
  let server: PostgresServer | undefined;
  const databaseUrl = options.databaseUrl ?? (server = await startPostgres()).url;
  try {
    const dataApi = await startLocalDataApi(databaseUrl);
    Object.assign(process.env, dataApi.env);
    if (!options.verbose) Object.assign(process.env, { POWERTOOLS_METRICS_DISABLED: 'true', POWERTOOLS_LOG_LEVEL: 'SILENT' });
    return {
      databaseUrl,
      dataApi,
      embedded: server !== undefined,
      stop: async () => {
        await dataApi.close();
        await server?.stop();
      },
    };
  } catch (err) {
    await server?.stop();
    throw err;
  }
}

/** How the local run answers approval gates. */
export type Approver = (gate: PendingApproval) => Promise<{ approved: true; comment?: string } | { approved: false; reason: string }>;

export interface LocalMigrationOptions {
  /** The spec as written: the execution input. */
  readonly spec: unknown;
  /** Execution name. @default spec name + timestamp */
  readonly name?: string;
  /** Answers every gate; `autoApprove` when absent. */
  readonly approver?: Approver;
  readonly sns: SnsPublisher;
  /** Caps every Wait state (ms): for tests and demos only. */
  readonly maxWaitMs?: number;
  /** Retry pauses by state name (ms), e.g. `{ Backfill: 0 }` in tests. */
  readonly retryIntervalOverrides?: Readonly<Record<string, number | readonly number[]>>;
  readonly onEvent?: (event: HistoryEvent) => void;
  /** Called once the execution has started, and again for each execution it continues in (e.g. to keep a handle for abort on Ctrl-C). */
  readonly onStart?: (execution: LocalExecution) => void;
  /** Changes to the phase functions' configuration (timeout, reserved concurrency), as a deploy could make: tests. */
  readonly functionOverrides?: Partial<Record<Phase, FunctionOverrides>>;
  /**
   * Wraps the phase functions (the deployed bundles, run by the twin's Lambda service) before the state machine
   * calls them: for tests that must act between Step Functions and a function (e.g. kill an invocation).
   */
  readonly wrapLambdas?: (bundled: Readonly<Record<Phase, LambdaHandler>>) => Readonly<Record<string, LambdaHandler>>;
}

export interface LocalMigrationResult {
  /** How the migration ended: the last execution's result (a continued migration spans several executions). */
  readonly result: ExecutionResult;
  /** Every execution the migration ran in, first to last (one unless the backfill continued as new). */
  readonly executions: readonly string[];
  readonly report: RunReport;
  readonly history: HistoryEvent[];
}

/** Approves every gate at once, with a comment saying so. */
export const autoApprove: Approver = async () => ({ approved: true, comment: 'auto-approved (--auto-approve)' });

/**
 * Runs one migration through the CDK-synthesized state machine on the local twin: the definition and the phase
 * functions' bundles are what `cdk deploy` would deploy (lib/local/deployed-artifact.ts, tokens resolved to local
 * ARNs); Lambda tasks run those bundles in the twin's Lambda service (worker threads, Lambda's error contract,
 * timeouts and reserved concurrency); gates wait in an in-process task-token registry; SNS publishes go to `sns`.
 */
export async function runMigrationLocally(options: LocalMigrationOptions): Promise<LocalMigrationResult> {
  const artifact = loadDeployedArtifact();
  // Warm environments are shared by the runs of one process (they are reclaimed when idle), unless a run
  // reconfigures the functions.
  const own = options.functionOverrides ? bundledLambdas(artifact, options.functionOverrides) : undefined;
  const service = own ?? sharedLambdaService(artifact);
  try {
    return await runOnMachine(options, artifact.definition, options.wrapLambdas ? options.wrapLambdas(service.handlers) : service.handlers);
  } finally {
    await own?.close();
  }
}

let shared: { readonly key: string; readonly service: BundledLambdas } | undefined;

function sharedLambdaService(artifact: DeployedArtifact): BundledLambdas {
  if (shared?.key !== artifact.key) shared = { key: artifact.key, service: bundledLambdas(artifact) };
  return shared.service;
}

async function runOnMachine(
  options: LocalMigrationOptions,
  definition: Record<string, unknown>,
  lambdas: Readonly<Record<string, LambdaHandler>>,
): Promise<LocalMigrationResult> {
  const approvals = new ApprovalRegistry();
  const approver = options.approver ?? autoApprove;
  approvals.onPending((gate) => {
    void approver(gate).then(
      (answer) => {
        if (!approvals.get(gate.token)) return;
        if (answer.approved) approvals.sendTaskSuccess(gate.token, JSON.stringify({ approved: true, comment: answer.comment ?? null, at: new Date().toISOString() }));
        else approvals.sendTaskFailure(gate.token, 'Rejected', answer.reason);
      },
      (err: unknown) => approvals.get(gate.token) && approvals.sendTaskFailure(gate.token, 'ApproverFailed', String(err)),
    );
  });
  const specName = (options.spec as { name?: unknown })?.name;
  const machine = new LocalStateMachine({
    definition: definition as never,
    lambdas,
    sns: options.sns,
    approvals,
    taskOverrides: LOCAL_TASK_OVERRIDES,
    ...(options.maxWaitMs !== undefined ? { maxWaitMs: options.maxWaitMs } : {}),
    ...(options.retryIntervalOverrides ? { retryIntervalOverrides: options.retryIntervalOverrides } : {}),
  });
  let execution = machine.start({
    input: options.spec,
    name: options.name ?? `${typeof specName === 'string' ? specName : 'migration'}-${Date.now()}`,
    ...(options.onEvent ? { onEvent: options.onEvent } : {}),
  });
  // A migration whose backfill continued as new spans several executions: follow them to the last one.
  const executions = [execution.executionArn];
  const history: HistoryEvent[] = [];
  let transitions = 0;
  let result: ExecutionResult;
  for (;;) {
    options.onStart?.(execution);
    result = await execution.done;
    history.push(...execution.history());
    transitions += execution.transitionCount;
    const next = result.status === 'SUCCEEDED' ? continuedExecutionOf(result.output) : undefined;
    const continued = next ? machine.getExecution(next) : undefined;
    if (!continued) break;
    execution = continued;
    executions.push(continued.executionArn);
  }
  const report = buildRunReport({
    migration: typeof specName === 'string' ? specName : '',
    executionArn: execution.executionArn,
    status: result.status,
    error: result.error,
    cause: result.cause,
    history,
    transitions,
  });
  return { result, executions, report, history };
}
