/**
 * The operator's commands end to end: the Step Functions-compatible endpoint of `stepwise local up` (in process, on a
 * test database), driven by the command functions through the real `SFNClient`.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeStateMachineCommand, GetExecutionHistoryCommand, SFNClient, type HistoryEvent } from '@aws-sdk/client-sfn';
import {
  abortCommand,
  approveCommand,
  historyCommand,
  readExecutionStatus,
  rejectCommand,
  resolveStateMachineArn,
  startCommand,
  statusCommand,
  type ExecutionStatusView,
} from '../../lib/cli/operator';
import { LOCAL_STATE_MACHINE_ARN, startStepwiseEndpoint, type StepwiseEndpoint } from '../../lib/local/sfn-endpoint';
import type { SnsMessage } from '../../lib/local/step-functions';
import { StateName } from '../../lib/workflow/state-names';
import { NO_RETRY_PAUSES, runbookSpec, seedProducts } from '../e2e/e2e-helpers';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database';

jest.setTimeout(180_000);

const ROWS = 600;
let endpoint: StepwiseEndpoint;
let db: TestDatabase;
const messages: SnsMessage[] = [];
const dir = mkdtempSync(join(tmpdir(), 'stepwise-cli-'));
const specFile = join(dir, 'spec.json');
writeFileSync(specFile, JSON.stringify(runbookSpec()));

/** What every command gets: the endpoint, as `--endpoint-url` would give it. */
const conn = () => ({ endpointUrl: endpoint.url });

/** Runs a command function, capturing what it prints. */
async function cli(fn: (write: (line: string) => void) => Promise<number>): Promise<{ code: number; out: string }> {
  const lines: string[] = [];
  const code = await fn((line) => lines.push(line));
  return { code, out: lines.join('\n') };
}

async function statusJson(execution: string): Promise<ExecutionStatusView> {
  const { code, out } = await cli((w) => statusCommand({ ...conn(), execution, json: true }, w));
  expect(code).toBe(0);
  return JSON.parse(out) as ExecutionStatusView;
}

/** Polls `status` until `done(view)`; fails with the last view after a generous deadline (not a timing assertion). */
async function waitForStatus(execution: string, done: (v: ExecutionStatusView) => boolean): Promise<ExecutionStatusView> {
  const client = new SFNClient({ endpoint: endpoint.url, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
  try {
    const deadline = Date.now() + 120_000;
    for (;;) {
      const view = await readExecutionStatus(client, { ...conn(), execution });
      if (done(view)) return view;
      if (Date.now() > deadline) throw new Error(`status never matched; last: ${JSON.stringify(view, null, 2)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  } finally {
    client.destroy();
  }
}

const waitingOrEnded = (except: ReadonlySet<string>) => (v: ExecutionStatusView) =>
  v.status !== 'RUNNING' || (v.waitingFor !== null && !except.has(v.waitingFor));

async function start(name: string): Promise<string> {
  const { code, out } = await cli((w) => startCommand({ ...conn(), spec: specFile, name }, w));
  expect(code).toBe(0);
  return out;
}

beforeAll(async () => {
  endpoint = await startStepwiseEndpoint({ sns: (m) => void messages.push(m), maxWaitMs: 0, retryIntervalOverrides: NO_RETRY_PAUSES });
});
afterAll(async () => endpoint?.close());

beforeEach(async () => {
  db = await createTestDatabase('cli_operator');
  Object.assign(process.env, db.env);
  await seedProducts(db, ROWS);
});
afterEach(async () => db.close());

describe('stepwise start / status / approve through the real SFNClient', () => {
  it('starts, waits at ApproveStart, and runs to SUCCEEDED as each gate is approved', async () => {
    const arn = await start('happy');
    expect(arn).toBe(`${LOCAL_STATE_MACHINE_ARN.replace(':stateMachine:', ':execution:')}:happy`);

    const first = await waitForStatus('happy', waitingOrEnded(new Set()));
    expect(first).toMatchObject({ status: 'RUNNING', waitingFor: StateName.ApproveStart, migration: 'product-price-cents', executionArn: arn });
    const human = await cli((w) => statusCommand({ ...conn(), execution: arn }, w));
    expect(human.out).toMatch(/waiting for approval: ApproveStart/);
    expect(human.out).toMatch(/stepwise approve happy/);

    // Approve every gate as it comes, by name the first time and by ARN afterwards.
    const approved: string[] = [];
    let view = first;
    while (view.status === 'RUNNING') {
      const gate = view.waitingFor!;
      const { code, out } = await cli((w) => approveCommand({ ...conn(), execution: approved.length ? arn : 'happy', comment: `ok ${gate}` }, w));
      expect(code).toBe(0);
      expect(out).toBe(`approved ${gate} of ${arn}`);
      approved.push(gate);
      view = await waitForStatus('happy', waitingOrEnded(new Set(approved)));
    }

    expect(approved).toEqual([StateName.ApproveStart, StateName.ConfirmReadFromNewDeployed, StateName.ApproveContract]);
    expect(view.status).toBe('SUCCEEDED');
    expect(view.waitingFor).toBeNull();
    expect(view.phase).toBe(StateName.Contract);
    expect(view.progress).toMatchObject({ rows: ROWS, done: true, percent: 100 });
    expect(view.phases.map((p) => p.name)).toEqual(expect.arrayContaining([StateName.Preflight, StateName.Backfill, StateName.Verify, StateName.Contract]));
    expect(view.phases.every((p) => p.status === 'SUCCEEDED')).toBe(true);
    const columns = await db.pg.query(`SELECT column_name FROM information_schema.columns WHERE table_name = 'Product' ORDER BY ordinal_position`);
    expect(columns.rows.map((r) => r.column_name)).toContain('price_cents');
    expect(columns.rows.map((r) => r.column_name)).not.toContain('price');

    // history: one line per event; --json carries the approval (comment) as the gate's task output.
    const lines = await cli((w) => historyCommand({ ...conn(), execution: 'happy' }, w));
    expect(lines.out).toMatch(/ExecutionStarted/);
    expect(lines.out).toMatch(/TaskStateEntered\s+ApproveStart/);
    expect(lines.out.trim().split('\n').pop()).toMatch(/ExecutionSucceeded/);
    const json = JSON.parse((await cli((w) => historyCommand({ ...conn(), execution: arn, json: true }, w))).out) as HistoryEvent[];
    const outputs = json.map((e) => e.taskSucceededEventDetails?.output).filter((o): o is string => o !== undefined);
    expect(outputs.some((o) => JSON.parse(o).comment === 'ok ApproveStart')).toBe(true);

    // status without an execution shows the latest one.
    const latest = JSON.parse((await cli((w) => statusCommand({ ...conn(), json: true }, w))).out) as ExecutionStatusView;
    expect(latest.name).toBe('happy');
  });

  it('reject → the workflow rolls back → FAILED; after Constrain the new column stays (the team was told to deploy the reader)', async () => {
    await start('rejected');
    await waitForStatus('rejected', waitingOrEnded(new Set()));
    await cli((w) => approveCommand({ ...conn(), execution: 'rejected' }, w));
    const atGate = await waitForStatus('rejected', waitingOrEnded(new Set([StateName.ApproveStart])));
    expect(atGate.waitingFor).toBe(StateName.ConfirmReadFromNewDeployed);
    expect(atGate.progress).toMatchObject({ rows: ROWS, done: true });

    const { code, out } = await cli((w) => rejectCommand({ ...conn(), execution: 'rejected', reason: 'app not deployed' }, w));
    expect(code).toBe(0);
    expect(out).toMatch(/rejected ConfirmReadFromNewDeployed/);

    const end = await waitForStatus('rejected', (v) => v.status !== 'RUNNING');
    expect(end.status).toBe('FAILED');
    expect(end.waitingFor).toBeNull();
    expect(end.error).toBe('MigrationRolledBack');
    expect(end.phases.find((p) => p.name === StateName.Rollback)?.status).toBe('SUCCEEDED');
    const events = JSON.parse((await cli((w) => historyCommand({ ...conn(), execution: 'rejected', json: true }, w))).out) as HistoryEvent[];
    expect(events.some((e) => e.taskFailedEventDetails?.error === 'Rejected' && e.taskFailedEventDetails.cause === 'app not deployed')).toBe(true);
    const columns = await db.pg.query(`SELECT column_name FROM information_schema.columns WHERE table_name = 'Product'`);
    expect(columns.rows.map((r) => r.column_name).sort()).toEqual(['id', 'name', 'new_price_cents', 'price', 'updatedAt']);
    const triggers = await db.pg.query(`SELECT count(*)::int AS n FROM pg_trigger WHERE tgrelid = '"Product"'::regclass AND tgname LIKE '_stepwise_%'`);
    expect(triggers.rows[0].n).toBe(0);
  });

  it('abort → ABORTED; approving afterwards is refused with a fix', async () => {
    const arn = await start('aborted');
    await waitForStatus('aborted', waitingOrEnded(new Set()));
    const { code, out } = await cli((w) => abortCommand({ ...conn(), execution: 'aborted' }, w));
    expect(code).toBe(0);
    expect(out).toMatch(`aborted ${arn}`);
    expect(out).toMatch(/had not changed the database/);

    const view = await statusJson('aborted');
    expect(view).toMatchObject({ status: 'ABORTED', waitingFor: null });
    await expect(approveCommand({ ...conn(), execution: 'aborted' }, () => undefined)).rejects.toMatchObject({ code: 'SW_NOT_WAITING' });
    await expect(abortCommand({ ...conn(), execution: 'aborted' }, () => undefined)).rejects.toMatchObject({ code: 'SW_NOT_RUNNING' });
  });
});

describe('the endpoint speaks the Step Functions wire protocol', () => {
  const client = () => new SFNClient({ endpoint: endpoint.url, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });

  it('pages GetExecutionHistory with nextToken/maxResults, in both orders', async () => {
    const arn = await start('paged');
    await waitForStatus('paged', waitingOrEnded(new Set()));
    await cli((w) => approveCommand({ ...conn(), execution: 'paged' }, w));
    await waitForStatus('paged', waitingOrEnded(new Set([StateName.ApproveStart])));
    // Aborted after Backup: the output says what stays behind and how the next run gets in.
    const aborted = await cli((w) => abortCommand({ ...conn(), execution: 'paged' }, w));
    expect(aborted.out).toMatch(/no rollback ran[\s\S]*SW_MIGRATION_RUNNING/);
    const sfn = client();
    try {
      const all = (await sfn.send(new GetExecutionHistoryCommand({ executionArn: arn, maxResults: 1000 }))).events!;
      expect(all.length).toBeGreaterThan(6);
      expect(all[0]!.timestamp).toBeInstanceOf(Date);
      const paged: HistoryEvent[] = [];
      let nextToken: string | undefined;
      do {
        const page = await sfn.send(new GetExecutionHistoryCommand({ executionArn: arn, maxResults: 3, nextToken }));
        expect(page.events!.length).toBeLessThanOrEqual(3);
        paged.push(...page.events!);
        nextToken = page.nextToken;
      } while (nextToken);
      expect(paged.map((e) => e.id)).toEqual(all.map((e) => e.id));
      const reversed = (await sfn.send(new GetExecutionHistoryCommand({ executionArn: arn, reverseOrder: true, maxResults: 2 }))).events!;
      expect(reversed.map((e) => e.type)).toEqual([all[all.length - 1]!.type, all[all.length - 2]!.type]);
      await expect(sfn.send(new GetExecutionHistoryCommand({ executionArn: arn, nextToken: 'garbage' }))).rejects.toMatchObject({ name: 'InvalidToken' });
      await expect(sfn.send(new GetExecutionHistoryCommand({ executionArn: `${arn}-nope` }))).rejects.toMatchObject({ name: 'ExecutionDoesNotExist' });
    } finally {
      sfn.destroy();
    }
  });

  it('finds a Stepwise machine with a generated name by its definition Comment', async () => {
    const sfn = client();
    const other = await startStepwiseEndpoint({
      sns: () => undefined,
      definition: JSON.parse((await sfn.send(new DescribeStateMachineCommand({ stateMachineArn: LOCAL_STATE_MACHINE_ARN }))).definition!),
      stateMachineArn: 'arn:aws:states:eu-west-1:123456789012:stateMachine:WorkflowStateMachine2E01A3A5-AbCdEf',
    });
    const otherClient = new SFNClient({ endpoint: other.url, region: 'eu-west-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
    try {
      expect(await resolveStateMachineArn(otherClient, {}, {})).toBe('arn:aws:states:eu-west-1:123456789012:stateMachine:WorkflowStateMachine2E01A3A5-AbCdEf');
      expect(await resolveStateMachineArn(sfn, {}, {})).toBe(LOCAL_STATE_MACHINE_ARN);
    } finally {
      otherClient.destroy();
      sfn.destroy();
      await other.close();
    }
  });

  it('answers unknown operations with a 400 and an AWS JSON error body', async () => {
    const response = await fetch(endpoint.url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': 'AWSStepFunctions.CreateStateMachine' },
      body: '{}',
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ __type: expect.stringMatching(/UnknownOperationException$/), message: expect.any(String) });
  });
});

describe('operator errors say what to do', () => {
  it('unknown execution, bad names, a machine that is not there, an endpoint that is down', async () => {
    await expect(statusCommand({ ...conn(), execution: 'no-such-run' }, () => undefined)).rejects.toMatchObject({ code: 'SW_NOT_FOUND', hint: expect.stringMatching(/stepwise status/) });
    await expect(approveCommand({ ...conn(), execution: 'bad name!' }, () => undefined)).rejects.toMatchObject({ code: 'SW_CONFIG' });
    await expect(rejectCommand({ ...conn(), execution: 'x', reason: ' ' }, () => undefined)).rejects.toMatchObject({ code: 'SW_CONFIG' });
    await expect(
      startCommand({ ...conn(), spec: specFile, stateMachineArn: 'arn:aws:states:us-east-1:000000000000:stateMachine:other' }, () => undefined),
    ).rejects.toMatchObject({ code: 'SW_NOT_FOUND' });
    await expect(statusCommand({ endpointUrl: 'http://127.0.0.1:9', execution: 'x' }, () => undefined)).rejects.toMatchObject({
      code: 'SW_SFN_UNREACHABLE',
      hint: expect.stringMatching(/local up/),
    });
  });

  it('refuses to start a name twice', async () => {
    await start('twice');
    await expect(startCommand({ ...conn(), spec: specFile, name: 'twice', soak: 'PT1S' }, () => undefined)).rejects.toMatchObject({ code: 'SW_EXECUTION_EXISTS' });
    await waitForStatus('twice', waitingOrEnded(new Set()));
    await cli((w) => abortCommand({ ...conn(), execution: 'twice' }, w));
  });
});
