import { Phase } from '../../lib/constants';
import { StepwiseError } from '../../lib/errors';
import { preflightPhase, type PreflightReport } from '../../lib/phases/preflight';
import { runPhase } from '../../lib/phases/run-phase';
import { parseSpec } from '../../lib/spec';
import { claimMigration } from '../../lib/state/migration-state';
import { seedProducts, runbookSpec } from '../e2e/e2e-helpers';
import { tableChecksum, tableSchema } from '../harness/assertions';
import { PhaseDriver } from '../harness/run-phases';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database';

jest.setTimeout(60_000);

/** One migration per table at a time (issue 6), on real Postgres through the Data API emulator. */
describe('one migration per table', () => {
  let db: TestDatabase;
  beforeEach(async () => {
    db = await createTestDatabase('lock');
    await seedProducts(db, 300);
  });
  afterEach(async () => db.close());

  const snapshot = async () => ({ schema: await tableSchema(db.pg, 'Product'), data: await tableChecksum(db.pg, 'Product', 'id') });
  const errorOf = (p: Promise<unknown>) => p.then(() => undefined, (e: unknown) => e as StepwiseError);
  const event = (spec: unknown, execution?: string) => ({ state: { spec } as never, slot: 'preflight', ...(execution ? { execution } : {}) });

  it('refuses another migration on the same table while one runs, naming it and its status', async () => {
    const first = runbookSpec();
    await claimMigration(db.executor, parseSpec(first), 300, 'exec-A');
    const second = runbookSpec({ name: 'other-price', operation: { ...first.operation, newColumn: 'other_cents', index: undefined, renameTo: undefined } });
    const before = await snapshot();

    const error = await errorOf(preflightPhase(event(second, 'exec-B'), { db: db.executor }));
    expect(error).toBeInstanceOf(StepwiseError);
    expect(error!.code).toBe('SW_TABLE_BUSY');
    expect(error!.message).toMatch(/migration "product-price-cents" is already running on public\.Product \(status running, phase backup/);
    expect(error!.hint).toMatch(/one migration runs per table/);
    // Claiming (the backup phase) refuses too: the partial unique index holds even if two preflights raced.
    expect((await errorOf(claimMigration(db.executor, parseSpec(second), 300, 'exec-B')))!.code).toBe('SW_TABLE_BUSY');
    expect(await snapshot()).toEqual(before);
  });

  it('refuses a second run of the same migration while the first execution runs; the first keeps its row', async () => {
    const spec = runbookSpec();
    await claimMigration(db.executor, parseSpec(spec), 300, 'exec-A');
    const error = await errorOf(preflightPhase(event(spec, 'exec-B'), { db: db.executor }));
    expect(error!.code).toBe('SW_MIGRATION_RUNNING');
    expect(error!.message).toMatch(/"product-price-cents" is already running .*status running, phase backup.* in execution exec-A; this execution \(exec-B\) changed nothing/);
    // Recovery is a command, never SQL.
    expect(error!.hint).toContain('`stepwise run --local --spec <file>` takes the migration over and resumes; on AWS, `stepwise start --spec <file> --resume-from exec-A`');
    expect(error!.hint).not.toMatch(/UPDATE/);
    expect((await errorOf(claimMigration(db.executor, parseSpec(spec), 300, 'exec-B')))!.code).toBe('SW_MIGRATION_RUNNING');
    const row = await db.pg.query(`SELECT execution, status FROM _stepwise.migrations WHERE name = 'product-price-cents'`);
    expect(row.rows[0]).toEqual({ execution: 'exec-A', status: 'running' });
  });

  it('a rollback in the refused execution changes nothing that belongs to the running one', async () => {
    const spec = runbookSpec();
    const a = new PhaseDriver(db.executor, spec);
    await a.run(Phase.Preflight);
    await claimMigration(db.executor, parseSpec(spec), 300, 'exec-A');
    await a.run(Phase.Expand);
    const during = await snapshot();
    await runPhase(Phase.Rollback, { state: { spec } as never, slot: 'rollback', execution: 'exec-B' }, { db: db.executor });
    expect(await snapshot()).toEqual(during);
    expect(during.schema).toContain('new_price_cents');
  });

  it('the same execution (a redrive, a retried task) resumes', async () => {
    const spec = runbookSpec();
    await claimMigration(db.executor, parseSpec(spec), 300, 'exec-A');
    const result = await preflightPhase(event(spec, 'exec-A'), { db: db.executor });
    expect(result.warnings.join('\n')).toMatch(/resuming migration "product-price-cents" from phase backup/);
    await expect(claimMigration(db.executor, parseSpec(spec), 300, 'exec-A')).resolves.toEqual(expect.objectContaining({ status: 'running' }));
  });

  it('running a finished migration again succeeds and changes nothing (alreadyDone)', async () => {
    const spec = runbookSpec();
    await new PhaseDriver(db.executor, spec).runAll();
    const after = await snapshot();
    const state = (await db.pg.query('SELECT * FROM _stepwise.migrations')).rows;

    const result = (await preflightPhase(event(spec, 'exec-again'), { db: db.executor })) as PreflightReport;
    expect(result.alreadyDone).toBe(true);
    expect(result.checks.find((c) => c.name === 'migration')?.message).toMatch(/already succeeded: price is gone and price_cents is integer; nothing to do/);
    expect(await snapshot()).toEqual(after);
    expect((await db.pg.query('SELECT * FROM _stepwise.migrations')).rows).toEqual(state);
  });
});
