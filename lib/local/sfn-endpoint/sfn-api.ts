/**
 * The Step Functions API operations of the local endpoint, over one `LocalStateMachine`: each takes the request
 * body as `@aws-sdk/client-sfn` sends it (AWS JSON 1.0) and returns the response body as the SDK reads it —
 * timestamps as epoch seconds, JSON data as strings — or throws an `SfnApiError` named like the AWS error.
 */
import { ExecutionStartError, TaskTokenError, type LocalExecution, type LocalStateMachine } from '../step-functions';

/** An API error: `type` is what the SDK turns into the exception name (`ExecutionDoesNotExist`, …). */
export class SfnApiError extends Error {
  constructor(
    readonly type: string,
    message: string,
    /** HTTP status (400 for caller errors, 500 for the service's own). */
    readonly status = 400,
  ) {
    super(message);
    this.name = type;
  }
}

type Body = Record<string, unknown>;
export type SfnOperation = (input: Body) => Promise<Body> | Body;

/** Operations this endpoint answers, by `X-Amz-Target` suffix. */
export const SUPPORTED_OPERATIONS = [
  'StartExecution',
  'DescribeExecution',
  'GetExecutionHistory',
  'SendTaskSuccess',
  'SendTaskFailure',
  'SendTaskHeartbeat',
  'StopExecution',
  'ListExecutions',
  'ListStateMachines',
  'DescribeStateMachine',
] as const;

export interface SfnApiOptions {
  readonly machine: LocalStateMachine;
  /** The ASL the machine runs, returned by DescribeStateMachine. */
  readonly definition?: unknown;
  /** When the machine was "created" (ListStateMachines). @default now */
  readonly creationDate?: Date;
  /** How long StopExecution waits for the execution to settle before answering (ms). @default 10000 */
  readonly stopSettleMs?: number;
}

const DEFAULT_PAGE = 100;
const MAX_PAGE = 1000;
const ROLE_ARN = 'arn:aws:iam::000000000000:role/stepwise-local';

/** Epoch seconds (with milliseconds), the AWS JSON protocols' default timestamp format. */
export function epochSeconds(date: Date): number {
  return date.getTime() / 1000;
}

/** Deep copy with every `Date` turned into epoch seconds. */
function wire(value: unknown): unknown {
  if (value instanceof Date) return epochSeconds(value);
  if (Array.isArray(value)) return value.map(wire);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined).map(([k, v]) => [k, wire(v)]));
  }
  return value;
}

function str(input: Body, field: string, required: true): string;
function str(input: Body, field: string, required?: false): string | undefined;
function str(input: Body, field: string, required = false): string | undefined {
  const value = input[field];
  if (value === undefined || value === null) {
    if (required) throw new SfnApiError('ValidationException', `1 validation error detected: Value null at '${field}' failed to satisfy constraint: Member must not be null`);
    return undefined;
  }
  if (typeof value !== 'string') throw new SfnApiError('ValidationException', `Value at '${field}' must be a string`);
  return value;
}

function pageSize(input: Body): number {
  const value = input.maxResults;
  if (value === undefined || value === null || value === 0) return DEFAULT_PAGE;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > MAX_PAGE) {
    throw new SfnApiError('ValidationException', `Value '${String(value)}' at 'maxResults' failed to satisfy constraint: Member must have value between 0 and ${MAX_PAGE}`);
  }
  return value;
}

/** `nextToken` is opaque to callers: here the base64url of the next offset and what it pages. */
function encodeToken(scope: string, offset: number): string {
  return Buffer.from(JSON.stringify({ scope, offset })).toString('base64url');
}

function decodeToken(scope: string, token: string | undefined): number {
  if (token === undefined || token === '') return 0;
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { scope?: unknown; offset?: unknown };
    if (parsed.scope === scope && typeof parsed.offset === 'number' && Number.isInteger(parsed.offset) && parsed.offset >= 0) return parsed.offset;
  } catch {
    // fall through
  }
  throw new SfnApiError('InvalidToken', `Invalid Token: '${token}'`);
}

function page<T>(items: readonly T[], input: Body, scope: string): { items: T[]; nextToken?: string } {
  const size = pageSize(input);
  const offset = decodeToken(scope, str(input, 'nextToken'));
  const slice = items.slice(offset, offset + size);
  const next = offset + size;
  return next < items.length ? { items: slice, nextToken: encodeToken(scope, next) } : { items: slice };
}

const DATA_FIELDS = new Set(['input', 'output', 'parameters']);

/** `includeExecutionData: false`: the events without their input, output and parameters. */
function withoutData(event: Body): Body {
  return Object.fromEntries(
    Object.entries(event).map(([key, value]) => {
      if (!key.endsWith('EventDetails') || value === null || typeof value !== 'object') return [key, value];
      return [key, Object.fromEntries(Object.entries(value as Body).filter(([k]) => !DATA_FIELDS.has(k)))];
    }),
  );
}

/** The operations, ready for {@link startSfnEndpoint}. */
export function createSfnApi(options: SfnApiOptions): Record<string, SfnOperation> {
  const { machine } = options;
  const creationDate = options.creationDate ?? new Date();
  const machineName = machine.stateMachineArn.split(':').pop() ?? 'stepwise';

  const checkMachine = (arn: string): void => {
    if (arn !== machine.stateMachineArn) throw new SfnApiError('StateMachineDoesNotExist', `State Machine Does Not Exist: '${arn}'`);
  };
  const execution = (input: Body): LocalExecution => {
    const arn = str(input, 'executionArn', true);
    if (!arn.startsWith('arn:')) throw new SfnApiError('InvalidArn', `Invalid Arn: '${arn}'`);
    const found = machine.getExecution(arn);
    if (!found || found.executionArn !== arn) throw new SfnApiError('ExecutionDoesNotExist', `Execution Does Not Exist: '${arn}'`);
    return found;
  };
  const tokenCall = (fn: () => void): Body => {
    try {
      fn();
      return {};
    } catch (err) {
      if (err instanceof TaskTokenError) throw new SfnApiError(err.name, err.message);
      throw err;
    }
  };

  return {
    StartExecution: (input) => {
      checkMachine(str(input, 'stateMachineArn', true));
      const name = str(input, 'name');
      const text = str(input, 'input') ?? '{}';
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        throw new SfnApiError('InvalidExecutionInput', 'Invalid execution input: not valid JSON');
      }
      try {
        const started = machine.start({ ...(name !== undefined ? { name } : {}), input: parsed });
        return wire({ executionArn: started.executionArn, startDate: started.describe().startDate }) as Body;
      } catch (err) {
        if (err instanceof ExecutionStartError) throw new SfnApiError(err.name, err.message);
        throw err;
      }
    },

    DescribeExecution: (input) => {
      const d = execution(input).describe();
      return wire({
        ...d,
        inputDetails: { included: true },
        ...(d.output !== undefined ? { outputDetails: { included: true } } : {}),
        redriveCount: 0,
        redriveStatus: 'NOT_REDRIVABLE',
      }) as Body;
    },

    GetExecutionHistory: (input) => {
      const events = execution(input).history() as unknown as Body[];
      const ordered = input.reverseOrder === true ? [...events].reverse() : events;
      const shaped = input.includeExecutionData === false ? ordered.map(withoutData) : ordered;
      const { items, nextToken } = page(shaped, input, `history:${String(input.executionArn)}:${input.reverseOrder === true}`);
      return wire({ events: items, nextToken }) as Body;
    },

    SendTaskSuccess: (input) => {
      const token = str(input, 'taskToken', true);
      const output = str(input, 'output', true);
      return tokenCall(() => machine.approvals.sendTaskSuccess(token, output));
    },

    SendTaskFailure: (input) => {
      const token = str(input, 'taskToken', true);
      return tokenCall(() => machine.approvals.sendTaskFailure(token, str(input, 'error'), str(input, 'cause')));
    },

    SendTaskHeartbeat: (input) => {
      const token = str(input, 'taskToken', true);
      if (!machine.approvals.get(token)) throw new SfnApiError('TaskDoesNotExist', 'Task does not exist');
      return {};
    },

    StopExecution: async (input) => {
      const found = execution(input);
      if (found.describe().status === 'RUNNING') {
        found.abort();
        // Answer once the execution has settled, so a DescribeExecution right after reads ABORTED (as on AWS).
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([found.done, new Promise((resolve) => (timer = setTimeout(resolve, options.stopSettleMs ?? 10_000)))]);
        clearTimeout(timer);
      }
      return wire({ stopDate: found.describe().stopDate ?? new Date() }) as Body;
    },

    ListExecutions: (input) => {
      const arn = str(input, 'stateMachineArn');
      if (arn === undefined) throw new SfnApiError('ValidationException', 'Must provide a StateMachine ARN or MapRun ARN');
      checkMachine(arn);
      const status = str(input, 'statusFilter');
      const all = machine
        .listExecutions()
        .map((e) => e.describe())
        .filter((d) => status === undefined || d.status === status)
        .reverse(); // newest first, as AWS lists them
      const { items, nextToken } = page(all, input, `executions:${status ?? ''}`);
      return wire({
        executions: items.map((d) => ({ executionArn: d.executionArn, stateMachineArn: d.stateMachineArn, name: d.name, status: d.status, startDate: d.startDate, stopDate: d.stopDate })),
        nextToken,
      }) as Body;
    },

    ListStateMachines: (input) => {
      const { items, nextToken } = page([machine], input, 'machines');
      return wire({ stateMachines: items.map((m) => ({ stateMachineArn: m.stateMachineArn, name: machineName, type: 'STANDARD', creationDate })), nextToken }) as Body;
    },

    DescribeStateMachine: (input) => {
      checkMachine(str(input, 'stateMachineArn', true));
      return wire({
        stateMachineArn: machine.stateMachineArn,
        name: machineName,
        status: 'ACTIVE',
        definition: JSON.stringify(options.definition ?? {}),
        roleArn: ROLE_ARN,
        type: 'STANDARD',
        creationDate,
      }) as Body;
    },
  };
}
