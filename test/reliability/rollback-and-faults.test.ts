import { Phase } from '../../lib/constants';
import { StepwiseError } from '../../lib/errors';
import type { RollbackResult } from '../../lib/workflow/state';
import type { FaultKind } from '../../lib/local/data-api-emulator/faults';
import { runbookSpec, seedProducts } from '../e2e/e2e-helpers';
import { columnMustHaveType, indexMustBeValid, tableChecksum, tableMustBeCleanedUp, tableSchema } from '../harness/assertions';
import { PhaseDriver } from '../harness/run-phases';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database';

jest.setTimeout(60_000);

const errorOf = (p: Promise<unknown>) => p.then(() => undefined, (e: unknown) => e as StepwiseError);

describe('rollback at every phase before contract', () => {
  let db: TestDatabase;
  beforeEach(async () => {
    db = await createTestDatabase('rb');
    await seedProducts(db, 400);
  });
  afterEach(async () => db.close());
  const snapshot = async () => ({ schema: await tableSchema(db.pg, 'Product'), data: await tableChecksum(db.pg, 'Product', 'id') });

  // A fault that outlasts every retry, in the phase's own SQL: the phase fails, rollback restores the table exactly.
  it.each([
    [Phase.Expand, /CREATE INDEX CONCURRENTLY/],
    [Phase.Backfill, /UPDATE "public"\."Product" SET/],
    [Phase.Verify, /IS DISTINCT FROM/],
    [Phase.Constrain, /VALIDATE CONSTRAINT/],
  ])('a failure in %s rolls back to the same schema and data checksum', async (phase, sqlMatch) => {
    const before = await snapshot();
    const driver = new PhaseDriver(db.executor, runbookSpec());
    db.emulator.faults.inject({ sqlMatch, times: 1000, error: 'StatementTimeoutException' });
    const order = [Phase.Preflight, Phase.Backup, Phase.Expand, Phase.Backfill, Phase.Verify, Phase.Constrain];
    let failure: unknown;
    for (const p of order) {
      failure = await errorOf(p === Phase.Backfill ? driver.backfill() : p === Phase.Verify ? driver.verify() : driver.run(p));
      if (failure) break;
    }
    expect(failure).toBeInstanceOf(StepwiseError);
    db.emulator.faults.clear();
    await driver.run(Phase.Rollback);
    expect(await snapshot()).toEqual(before);
    await tableMustBeCleanedUp(db.pg, 'Product');
  });

  it('after ConfirmReadFromNewDeployed removes only the sync machinery: the application reads the new column', async () => {
    const driver = new PhaseDriver(db.executor, runbookSpec());
    await driver.runThrough(Phase.Constrain);
    driver.state = { ...driver.state, approvals: { ConfirmReadFromNewDeployed: { approved: true, comment: null, at: '2026-11-01T00:00:00Z' } } };
    const before = await tableChecksum(db.pg, 'Product', 'id');
    const result = (await driver.run(Phase.Rollback)) as RollbackResult;
    expect(result.outcome).toBe('released');
    expect(result.dropped).toEqual(['trigger "_stepwise_product-price-cents_sync" on public."Product"', 'trigger "_stepwise_product-price-cents_sync_upd" on public."Product"',
      'function public."_stepwise_product-price-cents_sync"()', 'NOT NULL on column "new_price_cents"']);
    expect(result.kept).toEqual(['index public."idx_products_new_price"', 'column "new_price_cents" of public."Product"', 'backup table "_stepwise"."_stepwise_product-price-cents_backup"']);
    expect(result.summary).toMatch(/kept .* because constrain finished and the team was told to deploy the application reading "new_price_cents"/);
    expect(result.summary).toMatch(/Deploy the application version that reads and writes only "price", then drop what was kept: .*DROP COLUMN IF EXISTS "new_price_cents"/);
    expect(await tableChecksum(db.pg, 'Product', 'id')).toEqual(before);
    await columnMustHaveType(db.pg, 'Product', 'new_price_cents', 'integer');
    // No NOT NULL column is left that nothing fills: an application INSERT of the old column alone still works.
    await db.pg.query(`INSERT INTO "Product" (id, name, price) VALUES (9001, 'after rollback', 1.00)`);
  });

  it('still rolls back when the read-from-new gate was rejected (no approval recorded)', async () => {
    const before = await snapshot();
    const driver = new PhaseDriver(db.executor, runbookSpec());
    await driver.run(Phase.Preflight);
    await driver.run(Phase.Backup);
    await driver.run(Phase.Expand);
    driver.state = { ...driver.state, approvals: { ApproveStart: { approved: true } }, error: { Error: 'Rejected', Cause: 'not today' } };
    await driver.run(Phase.Rollback);
    expect(await snapshot()).toEqual(before);
  });

  it('refuses to roll back after contract, pointing at the backup', async () => {
    const driver = new PhaseDriver(db.executor, runbookSpec());
    await driver.runAll();
    const after = await snapshot();
    const error = await errorOf(driver.run(Phase.Rollback));
    expect(error!.code).toBe('SW_ROLLBACK_AFTER_CONTRACT');
    expect(error!.hint).toMatch(/_stepwise\._stepwise_product-price-cents_backup/);
    expect(await snapshot()).toEqual(after);
  });
});

describe('faults in DDL phases: the phase retries or resumes and ends correct', () => {
  let db: TestDatabase;
  beforeEach(async () => {
    db = await createTestDatabase('faults');
    await seedProducts(db, 200);
  });
  afterEach(async () => db.close());

  /** Runs a phase the way Step Functions' Retry does: again after a failure, up to `attempts` times. */
  async function withRetries(driver: PhaseDriver, phase: Phase, attempts = 5): Promise<number> {
    for (let attempt = 1; ; attempt += 1) {
      const error = await errorOf(driver.run(phase));
      if (!error) return attempt;
      if (attempt >= attempts) throw error;
    }
  }

  const kinds: FaultKind[] = ['StatementTimeoutException', 'DatabaseResumingException', 'ConnectionReset'];

  it.each(kinds)('%s on ADD COLUMN and CREATE INDEX CONCURRENTLY during expand', async (error) => {
    const driver = new PhaseDriver(db.executor, runbookSpec());
    await driver.run(Phase.Preflight);
    await driver.run(Phase.Backup);
    db.emulator.faults.inject({ sqlMatch: /ADD COLUMN IF NOT EXISTS/, times: 2, error });
    db.emulator.faults.inject({ sqlMatch: /CREATE INDEX CONCURRENTLY/, times: 2, error });
    await withRetries(driver, Phase.Expand);
    expect(db.emulator.faults.pending()).toBe(0);
    await columnMustHaveType(db.pg, 'Product', 'new_price_cents', 'integer');
    await indexMustBeValid(db.pg, 'idx_products_new_price');
  });

  it.each(kinds)('%s on VALIDATE CONSTRAINT and SET NOT NULL during constrain, then contract', async (error) => {
    const driver = new PhaseDriver(db.executor, runbookSpec());
    await driver.runThrough(Phase.Verify);
    db.emulator.faults.inject({ sqlMatch: /VALIDATE CONSTRAINT/, times: 2, error });
    db.emulator.faults.inject({ sqlMatch: /SET NOT NULL/, times: 1, error });
    await withRetries(driver, Phase.Constrain);
    db.emulator.faults.inject({ sqlMatch: /DROP COLUMN IF EXISTS "price"/, times: 1, error });
    await withRetries(driver, Phase.Contract);
    expect(db.emulator.faults.pending()).toBe(0);
    await columnMustHaveType(db.pg, 'Product', 'price_cents', 'integer');
    const r = await db.pg.query(`SELECT count(*)::int AS n FROM "Product" p JOIN _stepwise."_stepwise_product-price-cents_backup" b USING (id) WHERE p.price_cents <> round(b.price * 100)`);
    expect(r.rows[0].n).toBe(0);
    await tableMustBeCleanedUp(db.pg, 'Product');
  });

  it('a transient fault in preflight is retried and preflight still changes nothing', async () => {
    db.emulator.faults.inject({ sqlMatch: /SET TRANSACTION READ ONLY/, times: 1, error: 'DatabaseResumingException' });
    const driver = new PhaseDriver(db.executor, runbookSpec());
    await withRetries(driver, Phase.Preflight);
    expect((await db.pg.query(`SELECT to_regnamespace('_stepwise') AS s`)).rows[0].s).toBeNull();
  });
});
