import { Phase } from '../../lib/constants';
import { StepwiseError } from '../../lib/errors';
import type { RollbackResult } from '../../lib/workflow/state';
import { runPhase } from '../../lib/phases/run-phase';
import { columnMustHaveType } from '../harness/assertions';
import { PhaseDriver } from '../harness/run-phases';
import { runbookSpec, seedProducts } from '../e2e/e2e-helpers';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database';

describe('rollback undoes only what its own execution claimed', () => {
  let db: TestDatabase;
  beforeEach(async () => {
    db = await createTestDatabase('rb_owner');
    await seedProducts(db, 300);
  });
  afterEach(async () => db.close());

  it('changes nothing for an execution that never claimed the table (e.g. ApproveStart rejected on a resumed run)', async () => {
    // Prepare: an earlier run expanded the table (its row is running, released for a resume).
    const earlier = new PhaseDriver(db.executor, runbookSpec());
    await earlier.run(Phase.Preflight);
    await earlier.run(Phase.Backup);
    await earlier.run(Phase.Expand);

    // Act: a new execution fails before its own Backup claims the row, and its Catch runs rollback.
    const result = await runPhase(Phase.Rollback, { state: { spec: runbookSpec() }, slot: 'rollback', execution: 'arn:aws:states:us-east-1:000000000000:execution:stepwise:second' }, { db: db.executor });

    // Assess: the earlier run's column, trigger and backup are still there, and the result says so and why.
    expect(result).toMatchObject({ outcome: 'skipped', steps: [], dropped: [], headline: 'NOT rolled back' });
    const skipped = result as RollbackResult;
    expect(skipped.reason).toMatch(/running for execution \(none recorded\), not for this one/);
    expect(skipped.kept).toEqual(expect.arrayContaining(['column "new_price_cents" of public."Product"', 'backup table "_stepwise"."_stepwise_product-price-cents_backup"']));
    expect(skipped.command).toMatch(/stepwise rollback --spec/);
    expect(skipped.summary).toMatch(/^Nothing was rolled back: /);
    expect(skipped.summary).not.toMatch(/dropped/i);
    await columnMustHaveType(db.pg, 'Product', 'new_price_cents', 'integer');
    const backup = await db.pg.query(`SELECT to_regclass('_stepwise."_stepwise_product-price-cents_backup"') IS NOT NULL AS ok`);
    expect(backup.rows[0].ok).toBe(true);
  });

  it('refuses to reuse the name of a succeeded migration with a different spec (its backup would be replaced)', async () => {
    const first = new PhaseDriver(db.executor, runbookSpec());
    await first.runAll();
    const changed = runbookSpec({ operation: { ...runbookSpec().operation, column: 'name', newColumn: 'name_upper', newType: 'text', using: 'upper(name)', index: undefined, renameTo: undefined } });
    const error = await new PhaseDriver(db.executor, changed).run(Phase.Preflight).then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(StepwiseError);
    expect((error as StepwiseError).code).toBe('SW_MIGRATION_SUCCEEDED');
    expect((error as StepwiseError).hint).toMatch(/another name/);
  });

  it('keeps the new column once the state row records the read switch, even in an execution without that approval', async () => {
    const driver = new PhaseDriver(db.executor, runbookSpec());
    await driver.runThrough(Phase.Constrain);
    await driver.verify('verifyAfterSoak'); // runs after ConfirmReadFromNewDeployed
    const result = (await runPhase(Phase.Rollback, { state: { spec: runbookSpec() }, slot: 'rollback' }, { db: db.executor })) as RollbackResult;
    expect(result.outcome).toBe('released');
    await columnMustHaveType(db.pg, 'Product', 'new_price_cents', 'integer');
  });
});

describe('the first change re-checks what preflight saw', () => {
  let db: TestDatabase;
  beforeEach(async () => {
    db = await createTestDatabase('rb_recheck');
    await seedProducts(db, 200);
  });
  afterEach(async () => db.close());

  it('refuses when the new column appeared while the start gate waited, and claims nothing', async () => {
    const driver = new PhaseDriver(db.executor, runbookSpec());
    await driver.run(Phase.Preflight);
    await db.pg.query('ALTER TABLE "Product" ADD COLUMN new_price_cents bigint'); // someone else's deploy
    const error = await driver.run(Phase.Backup).then(() => undefined, (e: unknown) => e);
    expect((error as StepwiseError).code).toBe('SW_NEW_COLUMN_EXISTS');
    expect((error as StepwiseError).message).toMatch(/checked again before the first change/);
    expect((await db.pg.query(`SELECT to_regclass('_stepwise.migrations') AS t`)).rows[0].t).toBeNull();
    await driver.run(Phase.Rollback); // the Catch: changes nothing
    await columnMustHaveType(db.pg, 'Product', 'new_price_cents', 'bigint');
  });

  it('refuses to resume a part-done migration with a changed operation', async () => {
    const first = new PhaseDriver(db.executor, runbookSpec());
    await first.run(Phase.Preflight);
    await first.run(Phase.Backup);
    await first.run(Phase.Expand);
    const changed = runbookSpec({ operation: { ...runbookSpec().operation, using: 'round(price * 1000)' } });
    const error = await new PhaseDriver(db.executor, changed).run(Phase.Backup).then(() => undefined, (e: unknown) => e);
    expect((error as StepwiseError).code).toBe('SW_SPEC_CHANGED');
  });
});
