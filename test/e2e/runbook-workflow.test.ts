import { startAppTraffic, type TrafficStats } from '../../lib/demo/app-traffic';
import { autoApprove, type Approver } from '../../lib/local/local-twin';
import type { SnsMessage } from '../../lib/local/step-functions';
import { StateName } from '../../lib/workflow/state-names';
import { columnMustHaveType, columnMustNotExist, tableChecksum, tableMustBeCleanedUp, tableSchema } from '../harness/assertions';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database';
import { rejectAt, runbookSpec, runOnDatabase, seedProducts } from './e2e-helpers';

jest.setTimeout(120_000);

/** The Chatbot content of a published notification. */
const content = (message: SnsMessage | undefined) => (JSON.parse(message?.message ?? '{}') as { content: { title: string; description: string } }).content;

describe('the runbook as a workflow, on the synthesized state machine', () => {
  let db: TestDatabase;
  beforeEach(async () => {
    db = await createTestDatabase('e2e');
    await seedProducts(db, 3000);
  });
  afterEach(async () => db.close());

  const snapshot = async () => ({ schema: await tableSchema(db.pg, 'Product'), data: await tableChecksum(db.pg, 'Product', 'id') });

  it('migrates "Product".price to price_cents while the application writes, and every row ends up right', async () => {
    // Prepare: application traffic for the whole run, up to the contract gate (when the app would read the new column).
    const traffic = startAppTraffic({ databaseUrl: db.url, maxId: 3000, connections: 2, thinkMs: 1, insertEvery: 5 });
    let stats: TrafficStats | undefined;
    const approver: Approver = async (gate) => {
      if (gate.stateName === StateName.ApproveContract) {
        stats = await traffic.stop();
        await db.pg.query('CREATE TABLE expected AS SELECT id, round(price * 100)::int AS cents FROM "Product"');
      }
      return autoApprove(gate);
    };

    // Act
    const { result, report, messages } = await runOnDatabase(db, runbookSpec(), approver);

    // Assess
    expect(result.status).toBe('SUCCEEDED');
    expect(stats!.writes).toBeGreaterThan(0);
    expect(stats!.failed).toBe(0);
    const check = await db.pg.query(
      `SELECT count(*)::int AS n, count(*) FILTER (WHERE p.price_cents IS DISTINCT FROM e.cents)::int AS wrong FROM expected e FULL JOIN "Product" p USING (id)`,
    );
    expect(check.rows[0].wrong).toBe(0);
    expect(check.rows[0].n).toBeGreaterThanOrEqual(3000);
    await columnMustNotExist(db.pg, 'Product', 'price');
    await tableMustBeCleanedUp(db.pg, 'Product');
    expect(report.status).toBe('SUCCEEDED');
    expect(report.phases.map((p) => p.name)).toEqual([
      'Preflight', 'ApproveStart', 'Backup', 'Expand', 'Backfill', 'Verify', 'Constrain',
      'ConfirmReadFromNewDeployed', 'Soak', 'VerifyAfterSoak', 'ApproveContract', 'VerifyBeforeContract', 'Contract',
    ]);
    expect(report.phases.every((p) => p.status === 'SUCCEEDED' && p.endedAt !== null)).toBe(true);
    expect(report.backfill.rows).toBeGreaterThanOrEqual(3000);
    expect(report.backfill.batches).toBeGreaterThanOrEqual(12);
    expect(report.verify).toMatchObject({ nulls: 0, mismatches: 0 });
    expect(report.transitions).toBeGreaterThan(10);
    const state = await db.pg.query(`SELECT status, phase FROM _stepwise.migrations WHERE name = 'product-price-cents'`);
    expect(state.rows[0]).toEqual({ status: 'succeeded', phase: 'contract' });
    // Every phase change is announced.
    expect(messages.length).toBeGreaterThanOrEqual(8);
    expect(messages.some((m) => m.stateName === StateName.NotifySucceeded)).toBe(true);
  });

  it('runs a finished migration again as a success that changes nothing', async () => {
    // Prepare: the migration has run to the end once.
    expect((await runOnDatabase(db, runbookSpec())).result.status).toBe('SUCCEEDED');
    const before = await snapshot();

    // Act
    const { result, history, messages } = await runOnDatabase(db, runbookSpec());

    // Assess
    expect(result.status).toBe('SUCCEEDED');
    const entered = history.map((e) => e.stateEnteredEventDetails?.name).filter(Boolean);
    expect(entered).toEqual(['IsContinuation', 'Init', 'Preflight', 'AlreadyDone', 'NotifyAlreadyDone', 'Succeeded']);
    expect(messages.map((m) => m.stateName)).toEqual([StateName.NotifyAlreadyDone]);
    expect(await snapshot()).toEqual(before);
  });

  it('holds constrain and contract for the maintenance window (spec.window), then completes', async () => {
    // A weekly window, tomorrow's weekday 03:00 UTC: never open now, so both phases wait (capped locally). (A yearly
    // window is refused by preflight: its wait can outlast the 90-day execution, SW_EXECUTION_TIMEOUT_TOO_SHORT.)
    const tomorrow = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'][(new Date().getUTCDay() + 1) % 7];
    const spec = runbookSpec({ window: { schedule: `cron(0 3 ? * ${tomorrow} *)`, durationMinutes: 60 } });
    const { result, report, history } = await runOnDatabase(db, spec);
    expect(result.status).toBe('SUCCEEDED');
    const waits = history.filter((e) => e.stateEnteredEventDetails?.name?.startsWith('WaitFor')).map((e) => e.stateEnteredEventDetails?.name);
    expect(waits).toEqual(['WaitForConstrainWindow', 'WaitForContractWindow']);
    const exited = history.find((e) => e.stateExitedEventDetails?.name === 'WindowForContract');
    const window = JSON.parse(exited!.stateExitedEventDetails!.output!).windowContract;
    expect(window).toEqual({ phase: 'contract', waitUntil: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T03:00:00Z$/), waiting: true });
    expect(report.status).toBe('SUCCEEDED');
  });

  it('rolls back when a phase fails, leaving the table exactly as it was', async () => {
    // Prepare: VALIDATE CONSTRAINT keeps timing out, through every retry.
    const before = await snapshot();
    db.emulator.faults.inject({ sqlMatch: /VALIDATE CONSTRAINT/, times: 100, error: 'StatementTimeoutException' });

    // Act
    const { result, report, messages } = await runOnDatabase(db, runbookSpec());

    // Assess
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('MigrationRolledBack');
    expect(report.phases.find((p) => p.name === 'Constrain')?.status).toBe('FAILED');
    expect(report.phases.find((p) => p.name === 'Rollback')?.status).toBe('SUCCEEDED');
    expect(await snapshot()).toEqual(before);
    await tableMustBeCleanedUp(db.pg, 'Product');
    expect(messages.some((m) => m.stateName === StateName.NotifyRolledBack)).toBe(true);
  });

  it('in application dual-write mode, a rejected dual-write gate keeps the new column the application was asked to write', async () => {
    const oldColumns = async () => (await db.pg.query(`SELECT md5(string_agg(id || ':' || name || ':' || price, ',' ORDER BY id)) AS sum FROM "Product"`)).rows[0].sum as string;
    const before = await oldColumns();
    const { result, report, messages } = await runOnDatabase(db, runbookSpec({ dualWrite: 'application' }), rejectAt(StateName.ConfirmDualWriteDeployed));
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('MigrationRolledBack');
    // dualWrite "application": the app was asked to write the new column, so it stays; nothing else of the app's breaks.
    expect(report.rollback?.outcome).toBe('released');
    expect(content(messages.find((m) => m.stateName === StateName.NotifyRolledBack)).title).toMatch(/new column "new_price_cents" kept/);
    expect(await oldColumns()).toEqual(before);
    await columnMustHaveType(db.pg, 'Product', 'new_price_cents', 'integer');
  });

  it('a rejection after Constrain (the team was told to deploy the reader) keeps the new column; the notification and report say so', async () => {
    const { result, report, messages } = await runOnDatabase(db, runbookSpec(), rejectAt(StateName.ConfirmReadFromNewDeployed));
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('MigrationRolledBack');
    await columnMustHaveType(db.pg, 'Product', 'new_price_cents', 'integer');
    expect(report.rollback).toMatchObject({ outcome: 'released', kept: expect.arrayContaining(['column "new_price_cents" of public."Product"']) });
    const notified = content(messages.find((m) => m.stateName === StateName.NotifyRolledBack));
    expect(notified.title).toBe('Stepwise product-price-cents: sync removed, new column "new_price_cents" kept');
    expect(notified.description).toMatch(/^Rolled back the sync only: kept .*column "new_price_cents" of public\."Product"/);
    expect(notified.description).not.toMatch(/objects the migration added were dropped/);
    // What the notification names is what the catalog shows.
    const triggers = await db.pg.query(`SELECT count(*)::int AS n FROM pg_trigger WHERE tgrelid = '"Product"'::regclass AND NOT tgisinternal`);
    expect(triggers.rows[0].n).toBe(0);
  });

  it('verifies values written during the contract approval wait, just before contract', async () => {
    // A writer that bypasses the sync trigger (a bulk load with replication role) while ApproveContract waits.
    const approver: Approver = async (gate) => {
      if (gate.stateName === StateName.ApproveContract) {
        const client = await db.pg.connect();
        try {
          await client.query('BEGIN');
          await client.query('SET LOCAL session_replication_role = replica');
          await client.query(`UPDATE "Product" SET price = 12.34 WHERE id = 42`);
          await client.query('COMMIT');
        } finally {
          client.release();
        }
      }
      return { approved: true };
    };
    const { result, report } = await runOnDatabase(db, runbookSpec(), approver);
    expect(result.status).toBe('FAILED');
    expect(report.phases.find((p) => p.name === 'VerifyBeforeContract')?.status).toBe('FAILED');
    expect(report.phases.some((p) => p.name === 'Contract')).toBe(false);
    expect(report.verify).toMatchObject({ mismatches: 1 });
    expect(report.cause).toMatch(/SW_VERIFY_FAILED[\s\S]*id = 42/);
    await columnMustHaveType(db.pg, 'Product', 'price', 'numeric(10,2)');
    await columnMustHaveType(db.pg, 'Product', 'new_price_cents', 'integer');
  });

  it('refuses NULLs under notNull in preflight: nothing changes, the error names the rows and the fix', async () => {
    await db.pg.query('ALTER TABLE "Product" ALTER COLUMN price DROP NOT NULL');
    await db.pg.query('UPDATE "Product" SET price = NULL WHERE id IN (5, 50, 500)');
    const before = await snapshot();
    const { result, report } = await runOnDatabase(db, runbookSpec());
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('PreflightFailed');
    expect(report.cause).toMatch(/SW_NULLS_UNDER_NOT_NULL/);
    expect(report.cause).toMatch(/3 rows where round\(price \* 100\) is NULL[\s\S]*5, 50, 500/);
    expect(report.cause).toMatch(/fix:/);
    expect(await snapshot()).toEqual(before);
    expect((await db.pg.query(`SELECT to_regnamespace('_stepwise') AS s`)).rows[0].s).toBeNull();
  });

  it('keeps the backfill cursor when a batch fails and Step Functions retries it: no batch skipped or repeated', async () => {
    db.emulator.faults.inject({ sqlMatch: /UPDATE "public"."Product" SET/, times: 1, error: 'ConnectionReset' });
    db.emulator.faults.inject({ sqlMatch: /UPDATE "public"."Product" SET/, times: 1, error: 'DatabaseResumingException' });
    const { result, report } = await runOnDatabase(db, runbookSpec());
    expect(result.status).toBe('SUCCEEDED');
    expect(db.emulator.faults.pending()).toBe(0);
    expect(report.backfill.rows).toBe(3000);
    expect(report.verify.mismatches).toBe(0);
  });
});
