/**
 * `stepwise start --wait` and `stepwise follow` against the Step Functions-compatible endpoint of `stepwise local up`
 * (in process, on a test database), through the real `SFNClient`: they stream phases, gates and progress and resolve
 * with the execution's outcome (0 only for SUCCEEDED), so CI/CD can gate a deploy on it.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SFNClient } from '@aws-sdk/client-sfn';
import { abortCommand, approveCommand, exitCodeOf, followCommand, readExecutionStatus, rejectCommand, startCommand } from '../../lib/cli/operator';
import { startStepwiseEndpoint, type StepwiseEndpoint } from '../../lib/local/sfn-endpoint';
import { StateName } from '../../lib/workflow/state-names';
import { NO_RETRY_PAUSES, runbookSpec, seedProducts } from '../e2e/e2e-helpers';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database';

jest.setTimeout(180_000);

const ROWS = 600;
let endpoint: StepwiseEndpoint;
let db: TestDatabase;
const dir = mkdtempSync(join(tmpdir(), 'stepwise-follow-'));
const specFile = join(dir, 'spec.json');
writeFileSync(specFile, JSON.stringify(runbookSpec()));
const conn = () => ({ endpointUrl: endpoint.url, intervalSeconds: 0.05 });

beforeAll(async () => {
  endpoint = await startStepwiseEndpoint({ sns: () => undefined, maxWaitMs: 0, retryIntervalOverrides: NO_RETRY_PAUSES });
});
afterAll(async () => endpoint?.close());
beforeEach(async () => {
  db = await createTestDatabase('cli_follow');
  Object.assign(process.env, db.env);
  await seedProducts(db, ROWS);
});
afterEach(async () => db.close());

/**
 * Answers gates as another operator would, while the command under test follows: `decide(gate)` says what to do with
 * each gate (approve, reject, or abort the execution). Stops when the execution ends.
 */
async function operatorAnswering(first: string, decide: (gate: string) => 'approve' | 'reject' | 'abort', seen: (gate: string) => boolean = () => true): Promise<string[]> {
  const client = new SFNClient({ endpoint: endpoint.url, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
  const answered: string[] = [];
  let execution = first;
  try {
    const deadline = Date.now() + 150_000;
    while (Date.now() < deadline) {
      let view;
      try {
        view = await readExecutionStatus(client, { endpointUrl: endpoint.url, execution });
      } catch {
        await new Promise((r) => setTimeout(r, 50)); // not started yet
        continue;
      }
      if (view.status !== 'RUNNING' && view.continuedAs) {
        execution = view.continuedAs; // the migration goes on in the next execution of the chain
        continue;
      }
      if (view.status !== 'RUNNING') return answered;
      const gate = view.waitingFor;
      // A condition, not a clock: answer once the follower has shown the gate (it polls on its own interval).
      if (gate && !answered.includes(gate) && seen(gate)) {
        answered.push(gate);
        const what = decide(gate);
        const quiet = () => undefined;
        if (what === 'approve') await approveCommand({ endpointUrl: endpoint.url, execution, comment: `ok ${gate}` }, quiet);
        else if (what === 'reject') await rejectCommand({ endpointUrl: endpoint.url, execution, reason: 'not tonight' }, quiet);
        else await abortCommand({ endpointUrl: endpoint.url, execution, reason: 'stopped by the test' }, quiet);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`execution ${execution} did not end`);
  } finally {
    client.destroy();
  }
}

describe('stepwise start --wait', () => {
  it('streams phases, gates and progress, and resolves 0 when the migration SUCCEEDED', async () => {
    const lines: string[] = [];
    const info: string[] = [];
    const answering = operatorAnswering('waited', () => 'approve', (gate) => lines.some((l) => l.startsWith(`waiting for approval at ${gate}:`)));
    const code = await startCommand({ ...conn(), spec: specFile, name: 'waited', wait: true }, (l) => lines.push(l), (l) => info.push(l));
    expect(await answering).toEqual([StateName.ApproveStart, StateName.ConfirmReadFromNewDeployed, StateName.ApproveContract]);

    expect(code).toBe(0);
    expect(info.join('\n')).toMatch(/started waited of migration "product-price-cents"; following it until it ends/);
    expect(lines[0]).toMatch(/:execution:.*:waited$/); // the ARN first, as without --wait
    expect(lines[1]).toBe('following waited (migration "product-price-cents"): RUNNING');
    const phases = lines.filter((l) => l.startsWith('phase ')).map((l) => l.slice(6));
    // Phases in the order they ran (each announced once).
    const order = [StateName.Preflight, StateName.Backup, StateName.Expand, StateName.Backfill, StateName.Verify, StateName.Contract];
    const positions = order.map((p) => phases.indexOf(p));
    expect(positions.every((i) => i >= 0)).toBe(true);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
    expect(new Set(phases).size).toBe(phases.length);
    for (const gate of [StateName.ApproveStart, StateName.ConfirmReadFromNewDeployed, StateName.ApproveContract]) {
      const effect = gate === StateName.ApproveStart ? 'rolls back: nothing has changed yet' : 'rolls back the sync trigger only: the new column and the backup stay';
      expect(lines).toContain(`waiting for approval at ${gate}: stepwise approve waited   or reject (${effect}): stepwise reject waited --reason "…"`);
    }
    expect(lines.some((l) => new RegExp(`^backfill ${ROWS}/${ROWS} rows \\(100%\\), \\d+ batches, done$`).test(l))).toBe(true);
    expect(lines[lines.length - 1]).toMatch(/^waited SUCCEEDED in [\d.]+ s/);
  });
});

describe('stepwise follow', () => {
  it('follows a migration that continues as new into the next execution, and resolves with the last one\'s outcome', async () => {
    // One 250-row batch per invocation, two invocations per execution: 600 rows need a continuation.
    const chained = join(dir, 'chained.json');
    writeFileSync(chained, JSON.stringify(runbookSpec({ backfill: { batchSize: 250, pauseMs: 0, maxSecondsPerInvocation: 1, maxInvocationsPerExecution: 2 } })));
    const quiet = () => undefined;
    await startCommand({ ...conn(), spec: chained, name: 'chained' }, quiet);
    const answering = operatorAnswering('chained', () => 'approve');
    const lines: string[] = [];
    const code = await followCommand({ ...conn(), execution: 'chained' }, (l) => lines.push(l));
    await answering;
    expect(code).toBe(0);
    expect(lines).toContain('continued as new in chained-c1: following it');
    expect(lines).toContain('following chained-c1 (migration "product-price-cents"): RUNNING');
    expect(lines[lines.length - 1]).toMatch(/^chained-c1 SUCCEEDED in [\d.]+ s/);
    const cents = await db.pg.query('SELECT count(*)::int AS n FROM "Product" WHERE price_cents IS NOT NULL');
    expect(cents.rows[0].n).toBe(ROWS);
  });

  it('resolves 1 when the execution FAILED (a rejection rolls back), naming the error', async () => {
    const quiet = () => undefined;
    await startCommand({ ...conn(), spec: specFile, name: 'followed-rejected' }, quiet);
    const answering = operatorAnswering('followed-rejected', () => 'reject');
    const lines: string[] = [];
    const code = await followCommand({ ...conn(), execution: 'followed-rejected' }, (l) => lines.push(l));
    await answering;
    expect(code).toBe(1);
    expect(lines).toContain(`phase ${StateName.Rollback}`);
    expect(lines[lines.length - 1]).toMatch(/^followed-rejected FAILED in [\d.]+ s \(ended in \w+\): .*(Rejected|not tonight)/);
    const columns = await db.pg.query(`SELECT column_name FROM information_schema.columns WHERE table_name = 'Product'`);
    expect(columns.rows.map((r) => r.column_name)).not.toContain('new_price_cents');
  });

  it('resolves 3 when the execution was ABORTED', async () => {
    const quiet = () => undefined;
    await startCommand({ ...conn(), spec: specFile, name: 'followed-aborted' }, quiet);
    const answering = operatorAnswering('followed-aborted', () => 'abort');
    const lines: string[] = [];
    const code = await followCommand({ ...conn(), execution: 'followed-aborted' }, (l) => lines.push(l));
    await answering;
    expect(code).toBe(3);
    expect(lines[lines.length - 1]).toMatch(/^followed-aborted ABORTED/);
  });

  it('maps every end status to an exit code, 0 only for SUCCEEDED', () => {
    expect(['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED', 'PENDING_REDRIVE'].map(exitCodeOf)).toEqual([0, 1, 2, 3, 1]);
  });
});
