/**
 * How the operator commands reach Step Functions: only through `@aws-sdk/client-sfn`, so the same code drives AWS,
 * `stepwise local up` and LocalStack. Endpoint: `--endpoint-url`, else `AWS_ENDPOINT_URL_SFN`, else
 * `AWS_ENDPOINT_URL`, else AWS. A loopback endpoint needs no real credentials or region (dummy ones are used when
 * the environment has none).
 */
import {
  DescribeStateMachineCommand,
  GetExecutionHistoryCommand,
  ListStateMachinesCommand,
  SFNClient,
  type HistoryEvent,
  type SFNClientConfig,
  type StateMachineListItem,
} from '@aws-sdk/client-sfn';
import { ConfigError, StepwiseError } from '../../errors';

/** Flags every operator command shares. */
export interface SfnConnectionOptions {
  readonly endpointUrl?: string;
  readonly region?: string;
  /** The Stepwise state machine; found with ListStateMachines when absent. */
  readonly stateMachineArn?: string;
}

/** Region used against a loopback endpoint when none is configured (the local twin's). */
export const LOCAL_REGION = 'us-east-1';
const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };

/** The endpoint the commands talk to, or undefined for AWS itself. */
export function resolveEndpoint(options: SfnConnectionOptions, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const url = options.endpointUrl || env.AWS_ENDPOINT_URL_SFN || env.AWS_ENDPOINT_URL || undefined;
  if (url === undefined) return undefined;
  try {
    const parsed = new URL(url);
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error('not http(s)');
  } catch {
    throw new ConfigError(`endpoint URL "${url}" is not an http(s) URL`, 'Pass --endpoint-url like http://127.0.0.1:8083 (what `stepwise local up` prints).', { endpointUrl: url });
  }
  return url;
}

function isLoopback(url: string): boolean {
  const host = new URL(url).hostname;
  return host === 'localhost' || host === '::1' || host === '[::1]' || host.startsWith('127.') || host.endsWith('.localhost') || host === 'localhost.localstack.cloud';
}

/** An `SFNClient` for the flags and environment. */
export function createSfnClient(options: SfnConnectionOptions, env: NodeJS.ProcessEnv = process.env): SFNClient {
  const endpoint = resolveEndpoint(options, env);
  const local = endpoint !== undefined && isLoopback(endpoint);
  const region = options.region || env.AWS_REGION || env.AWS_DEFAULT_REGION || (local ? LOCAL_REGION : undefined);
  const config: SFNClientConfig = {
    ...(endpoint ? { endpoint } : {}),
    ...(region ? { region } : {}),
    ...(local && !env.AWS_ACCESS_KEY_ID && !env.AWS_PROFILE ? { credentials: LOCAL_CREDENTIALS } : {}),
    maxAttempts: local ? 1 : 3,
  };
  return new SFNClient(config);
}

/** True when `value` is an ARN (anything else is taken as an execution name). */
export const isArn = (value: string): boolean => value.startsWith('arn:');

/** Lists every state machine (all pages). */
async function listStateMachines(client: SFNClient): Promise<StateMachineListItem[]> {
  const all: StateMachineListItem[] = [];
  let nextToken: string | undefined;
  do {
    const page = await client.send(new ListStateMachinesCommand({ ...(nextToken ? { nextToken } : {}) }));
    all.push(...(page.stateMachines ?? []));
    nextToken = page.nextToken;
  } while (nextToken);
  return all;
}

/**
 * The Stepwise state machine: `--state-machine-arn` (or `STEPWISE_STATE_MACHINE_ARN`), else the one machine whose
 * name contains "stepwise" (any case), else the one whose definition Comment starts with "Stepwise". Refuses when
 * none or several match.
 */
export async function resolveStateMachineArn(client: SFNClient, options: SfnConnectionOptions, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const explicit = options.stateMachineArn || env.STEPWISE_STATE_MACHINE_ARN;
  if (explicit) {
    if (!/^arn:aws[a-z-]*:states:[^:]*:[^:]*:stateMachine:[^:]+$/.test(explicit)) {
      throw new ConfigError(`"${explicit}" is not a state machine ARN`, 'Pass --state-machine-arn arn:aws:states:<region>:<account>:stateMachine:<name>.', { stateMachineArn: explicit });
    }
    return explicit;
  }
  const machines = await call(() => listStateMachines(client), 'ListStateMachines');
  let matches = machines.filter((m) => /stepwise/i.test(m.name ?? ''));
  // A stack deployed without an explicit name gets a generated one (`WorkflowStateMachine…-abc`): recognise the
  // Stepwise definition by its Comment instead.
  if (matches.length === 0 && machines.length <= MAX_DESCRIBED) matches = await byDefinitionComment(client, machines);
  if (matches.length === 1) return matches[0]!.stateMachineArn!;
  if (matches.length === 0) {
    throw new ConfigError(
      `no Step Functions state machine named like "stepwise" (found ${machines.length}${machines.length ? `: ${machines.map((m) => m.name).join(', ')}` : ''})`,
      'Deploy the stack (`npx cdk deploy`), start `stepwise local up` and pass its --endpoint-url, or pass --state-machine-arn.',
    );
  }
  throw new ConfigError(
    `several state machines are named like "stepwise": ${matches.map((m) => m.stateMachineArn).join(', ')}`,
    'Pass --state-machine-arn (or set STEPWISE_STATE_MACHINE_ARN) to choose one.',
  );
}

/** At most this many machines are described when none is named like "stepwise". */
const MAX_DESCRIBED = 50;

/** Machines whose definition's Comment starts with "Stepwise" (DescribeStateMachine each; failures skip the machine). */
async function byDefinitionComment(client: SFNClient, machines: readonly StateMachineListItem[]): Promise<StateMachineListItem[]> {
  const found: StateMachineListItem[] = [];
  for (const m of machines) {
    try {
      const { definition } = await client.send(new DescribeStateMachineCommand({ stateMachineArn: m.stateMachineArn }));
      const comment = (JSON.parse(definition ?? '{}') as { Comment?: unknown }).Comment;
      if (typeof comment === 'string' && /^stepwise\b/i.test(comment)) found.push(m);
    } catch {
      // not readable: not ours to guess
    }
  }
  return found;
}

/**
 * An execution ARN from what the operator typed: a full ARN as is, a name under the Stepwise state machine
 * (`arn:…:stateMachine:<m>` → `arn:…:execution:<m>:<name>`).
 */
export async function resolveExecutionArn(client: SFNClient, execution: string, options: SfnConnectionOptions): Promise<string> {
  if (isArn(execution)) {
    if (!/^arn:aws[a-z-]*:states:[^:]*:[^:]*:execution:[^:]+:[^:]+$/.test(execution)) {
      throw new ConfigError(`"${execution}" is not an execution ARN`, 'Pass the ARN `stepwise start` printed (arn:aws:states:…:execution:<machine>:<name>) or just the execution name.');
    }
    return execution;
  }
  if (!/^[A-Za-z0-9_-]{1,80}$/.test(execution)) {
    throw new ConfigError(`"${execution}" is neither an execution ARN nor an execution name`, 'Execution names are 1–80 letters, digits, - or _; see `stepwise status` for the latest one.');
  }
  const machineArn = await resolveStateMachineArn(client, options);
  return `${machineArn.replace(':stateMachine:', ':execution:')}:${execution}`;
}

/** The whole history of an execution, oldest first (every page). */
export async function fetchHistory(client: SFNClient, executionArn: string): Promise<HistoryEvent[]> {
  const events: HistoryEvent[] = [];
  let nextToken: string | undefined;
  do {
    const page = await call(() => client.send(new GetExecutionHistoryCommand({ executionArn, maxResults: 1000, ...(nextToken ? { nextToken } : {}) })), 'GetExecutionHistory');
    events.push(...(page.events ?? []));
    nextToken = page.nextToken;
  } while (nextToken);
  return events;
}

/**
 * Runs one SDK call and turns its failure into a StepwiseError with a hint: unknown execution, unreachable endpoint,
 * missing region or credentials, any other API error.
 */
export async function call<T>(fn: () => Promise<T>, operation: string): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw explain(err, operation);
  }
}

function explain(err: unknown, operation: string): Error {
  if (err instanceof StepwiseError) return err;
  const e = err as { name?: string; message?: string; code?: string; cause?: { code?: string } };
  const name = e.name ?? 'Error';
  const message = e.message ?? String(err);
  const code = e.code ?? e.cause?.code;
  if (name === 'ExecutionDoesNotExist') {
    return new StepwiseError('SW_NOT_FOUND', `execution not found: ${message}`, 'Check the name or ARN with `stepwise status` (without an argument it shows the latest execution), and the --endpoint-url / --region.');
  }
  if (name === 'StateMachineDoesNotExist') {
    return new StepwiseError('SW_NOT_FOUND', `state machine not found: ${message}`, 'Check --state-machine-arn (or omit it to find the Stepwise machine) and --region.');
  }
  if (name === 'TaskDoesNotExist' || name === 'TaskTimedOut' || name === 'InvalidToken') {
    return new StepwiseError('SW_NOT_WAITING', `the gate no longer waits (${name}: ${message})`, 'Someone answered it or it timed out; run `stepwise status` to see where the execution is.');
  }
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'ECONNRESET' || /ECONNREFUSED|ENOTFOUND|socket hang up/.test(message)) {
    return new StepwiseError('SW_SFN_UNREACHABLE', `cannot reach Step Functions for ${operation}: ${message}`, 'Is `stepwise local up` running? Check --endpoint-url / AWS_ENDPOINT_URL (unset them to use AWS).');
  }
  if (/region is missing/i.test(message)) {
    return new ConfigError('no AWS region configured', 'Pass --region, or set AWS_REGION (or a region in your AWS profile).');
  }
  if (name === 'CredentialsProviderError' || /Could not load credentials/i.test(message)) {
    return new ConfigError(`no AWS credentials: ${message}`, 'Configure credentials (AWS_PROFILE, `aws sso login`, or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY).');
  }
  return new StepwiseError('SW_SFN', `Step Functions ${operation} failed: ${name}: ${message}`, 'Check the permissions (states:*) of your AWS identity, the region and the endpoint.', { error: name });
}
