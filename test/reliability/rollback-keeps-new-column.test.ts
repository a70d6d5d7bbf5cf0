import { Phase } from '../../lib/constants';
import { startAppTraffic, type TrafficStats } from '../../lib/demo/app-traffic';
import type { Executor } from '../../lib/db/executor';
import { StepwiseError } from '../../lib/errors';
import { runPhase } from '../../lib/phases/run-phase';
import type { RollbackResult } from '../../lib/workflow/state';
import { runbookSpec, seedProducts } from '../e2e/e2e-helpers';
import { columnMustHaveType, columnMustNotExist, tableChecksum } from '../harness/assertions';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database';

jest.setTimeout(60_000);

const ARN = (name: string) => `arn:aws:states:us-east-1:000000000000:execution:stepwise:${name}`;
const errorOf = (p: Promise<unknown>) => p.then(() => undefined, (e: unknown) => e as StepwiseError);

/** One execution's phases, as the state machine calls them (its execution id, its result slots). */
class Execution {
  state: Record<string, unknown>;
  constructor(private readonly db: Executor, spec: unknown, readonly arn: string) {
    this.state = { spec };
  }
  async run(phase: Phase, slot: string = phase): Promise<unknown> {
    const result = await runPhase(phase, { state: this.state as never, slot, execution: this.arn }, { db: this.db, sleep: async () => undefined });
    this.state = { ...this.state, [slot]: result };
    return result;
  }
  async backfill() {
    let r: { done: boolean };
    do r = (await this.run(Phase.Backfill)) as { done: boolean };
    while (!r.done);
  }
  async verify(slot = 'verify') {
    this.state = { ...this.state, [slot]: undefined };
    let r: { done: boolean };
    do r = (await this.run(Phase.Verify, slot)) as { done: boolean };
    while (!r.done);
  }
  async throughConstrain() {
    for (const p of [Phase.Preflight, Phase.Backup, Phase.Expand]) await this.run(p);
    await this.backfill();
    await this.verify();
    await this.run(Phase.Constrain);
  }
  rollback = async () => (await this.run(Phase.Rollback)) as RollbackResult;
}

const BACKUP = `_stepwise."_stepwise_product-price-cents_backup"`;

describe('once the application was told to use the new column, no rollback drops it', () => {
  let db: TestDatabase;
  beforeEach(async () => {
    db = await createTestDatabase('rb_keep');
    await seedProducts(db, 300);
  });
  afterEach(async () => db.close());
  const keepRecord = async () => (await db.pg.query(`SELECT keep_new_column, phase, status FROM _stepwise.migrations`)).rows[0];
  const backupExists = async () => (await db.pg.query(`SELECT to_regclass($1) IS NOT NULL AS ok`, [BACKUP])).rows[0].ok as boolean;

  it('survives a resumed run that re-runs Backup and Expand (the record is set-only), and its rollback keeps column and backup', async () => {
    const spec = runbookSpec();
    const a = new Execution(db.executor, spec, ARN('first'));
    await a.throughConstrain();
    await a.verify('verifyAfterSoak');
    // The application (v2) reads and writes the new column.
    await db.pg.query(`UPDATE "Product" SET price = 42.42 WHERE id = 7`);
    // Execution a died before contract; the operator releases the row and runs again: it resumes.
    await db.pg.query(`UPDATE _stepwise.migrations SET execution = NULL`);
    const b = new Execution(db.executor, spec, ARN('second'));
    for (const p of [Phase.Preflight, Phase.Backup, Phase.Expand]) await b.run(p);
    expect((await keepRecord()).keep_new_column).toMatch(/constrain finished/);
    const before = await tableChecksum(db.pg, 'Product', 'id');

    const result = await b.rollback();

    expect(result.outcome).toBe('released');
    await columnMustHaveType(db.pg, 'Product', 'new_price_cents', 'integer');
    expect(await backupExists()).toBe(true);
    expect(await tableChecksum(db.pg, 'Product', 'id')).toEqual(before);
    expect((await db.pg.query(`SELECT new_price_cents FROM "Product" WHERE id = 7`)).rows[0].new_price_cents).toBe(4242);
    expect(result.kept).toEqual(expect.arrayContaining(['column "new_price_cents" of public."Product"', `backup table "_stepwise"."_stepwise_product-price-cents_backup"`]));
    expect(result.dropped).not.toContain('column "new_price_cents" of public."Product"');
    const triggers = await db.pg.query(`SELECT tgname FROM pg_trigger WHERE tgrelid = '"Product"'::regclass AND NOT tgisinternal`);
    expect(triggers.rows).toEqual([]);
    // Later phase marks never clear it either.
    expect(await keepRecord()).toMatchObject({ keep_new_column: expect.stringMatching(/constrain finished/), phase: 'rollback', status: 'rolled_back' });
  });

  it('under application traffic (old column written, inserts included), a rollback after Constrain never makes a write fail', async () => {
    const a = new Execution(db.executor, runbookSpec(), ARN('traffic'));
    await a.throughConstrain();
    const traffic = startAppTraffic({ databaseUrl: db.url, maxId: 300, connections: 2, thinkMs: 1, insertEvery: 3 });
    let stats: TrafficStats | undefined;
    try {
      const before = traffic.mark();
      const result = await a.rollback();
      expect(result.outcome).toBe('released');
      const at = traffic.mark();
      // Let the application go on past the rollback: at least 30 more writes (a third of them INSERTs of the old column only).
      for (let i = 0; i < 2000 && traffic.mark() < at + 30; i += 1) await new Promise((r) => setTimeout(r, 10));
      expect(traffic.mark()).toBeGreaterThanOrEqual(at + 30);
      expect(at).toBeGreaterThanOrEqual(before);
    } finally {
      stats = await traffic.stop();
    }
    expect(stats.failed).toBe(0);
    // INSERTs after the release leave the new column NULL (nothing fills it any more), and NOT NULL is gone so they work.
    const nulls = await db.pg.query(`SELECT count(*)::int AS n FROM "Product" WHERE new_price_cents IS NULL`);
    expect(nulls.rows[0].n).toBeGreaterThan(0);
  });

  it('keeps the column when a gate after Constrain is rejected (no approval in the state): the team was told to deploy the reader', async () => {
    const a = new Execution(db.executor, runbookSpec(), ARN('rejected'));
    await a.throughConstrain();
    a.state = { ...a.state, error: { Error: 'Rejected', Cause: 'not today' } };
    const result = await a.rollback();
    expect(result.outcome).toBe('released');
    expect(result.reason).toMatch(/told to deploy the application reading "new_price_cents"/);
    await columnMustHaveType(db.pg, 'Product', 'new_price_cents', 'integer');
    expect(await backupExists()).toBe(true);
  });

  it('application dual-write: a JS-rounded value fails verify, and the rollback keeps the column the application writes', async () => {
    const spec = runbookSpec({ dualWrite: 'application' });
    const a = new Execution(db.executor, spec, ARN('appdw'));
    for (const p of [Phase.Preflight, Phase.Backup, Phase.Expand]) await a.run(p);
    a.state = { ...a.state, approvals: { ConfirmDualWriteDeployed: { approved: true } } };
    // The runbook's dual-write code: Math.round(1.005 * 100) = 100, SQL says 101.
    const dualWrite = (id: number, price: number) => db.pg.query(`UPDATE "Product" SET price = $1, new_price_cents = $2 WHERE id = $3`, [price, Math.round(price * 100), id]);
    await a.backfill();
    await dualWrite(20, 1.005);
    const failure = await errorOf(a.verify());
    expect(failure?.code).toBe('SW_VERIFY_FAILED');

    const result = await a.rollback();

    expect(result.outcome).toBe('released');
    expect(result.reason).toMatch(/dualWrite is "application"/);
    await columnMustHaveType(db.pg, 'Product', 'new_price_cents', 'integer');
    // The application's dual-writes keep working after the rollback.
    await expect(dualWrite(21, 2.5)).resolves.toBeDefined();
    await expect(db.pg.query(`INSERT INTO "Product" (id, name, price, new_price_cents) VALUES (9002, 'new', 3.00, 300)`)).resolves.toBeDefined();
  });

  it('before anything was announced, the rollback still drops everything: the table is as before', async () => {
    const before = { data: await tableChecksum(db.pg, 'Product', 'id') };
    const a = new Execution(db.executor, runbookSpec(), ARN('early'));
    for (const p of [Phase.Preflight, Phase.Backup, Phase.Expand]) await a.run(p);
    await a.backfill();
    const result = await a.rollback();
    expect(result.outcome).toBe('rolled-back');
    expect(result.kept).toEqual([]);
    expect(result.dropped).toEqual(expect.arrayContaining(['column "new_price_cents" of public."Product"', 'index public."idx_products_new_price"']));
    expect(result.summary).toMatch(/^Rolled back: dropped /);
    await columnMustNotExist(db.pg, 'Product', 'new_price_cents');
    expect(await backupExists()).toBe(false);
    expect({ data: await tableChecksum(db.pg, 'Product', 'id') }).toEqual(before);
  });
});

describe('Expand, Constrain and Contract act only for the execution that owns the migration', () => {
  let db: TestDatabase;
  beforeEach(async () => {
    db = await createTestDatabase('rb_own');
    await seedProducts(db, 200);
  });
  afterEach(async () => db.close());

  it('refuses another execution and changes nothing', async () => {
    const spec = runbookSpec();
    const a = new Execution(db.executor, spec, ARN('owner'));
    await a.run(Phase.Preflight);
    await a.run(Phase.Backup);
    const intruder = new Execution(db.executor, spec, ARN('intruder'));
    const expand = await errorOf(intruder.run(Phase.Expand));
    expect(expand?.code).toBe('SW_MIGRATION_RUNNING');
    await columnMustNotExist(db.pg, 'Product', 'new_price_cents');

    await a.run(Phase.Expand);
    await a.backfill();
    await a.verify();
    expect((await errorOf(intruder.run(Phase.Constrain)))?.code).toBe('SW_MIGRATION_RUNNING');
    const nullable = await db.pg.query(`SELECT attnotnull FROM pg_attribute WHERE attrelid = '"Product"'::regclass AND attname = 'new_price_cents'`);
    expect(nullable.rows[0].attnotnull).toBe(false);
    await a.run(Phase.Constrain);
    expect((await errorOf(intruder.run(Phase.Contract)))?.code).toBe('SW_MIGRATION_RUNNING');
    await columnMustHaveType(db.pg, 'Product', 'price', 'numeric(10,2)');
  });

  it('refuses a migration that was rolled back meanwhile (e.g. by `stepwise rollback`), and changes nothing', async () => {
    const a = new Execution(db.executor, runbookSpec(), ARN('owner'));
    await a.run(Phase.Preflight);
    await a.run(Phase.Backup);
    await a.run(Phase.Rollback);
    const expand = await errorOf(a.run(Phase.Expand));
    expect(expand?.code).toBe('SW_MIGRATION_NOT_RUNNING');
    expect(expand?.message).toMatch(/is rolled_back .* expand changed nothing/);
    await columnMustNotExist(db.pg, 'Product', 'new_price_cents');
  });

  it('the claim records the table of a reused migration name', async () => {
    await db.pg.query(`CREATE TABLE "Other" (id integer PRIMARY KEY, name text, price numeric(10,2))`);
    await db.pg.query(`INSERT INTO "Other" SELECT g, 'o' || g, g / 10.0 FROM generate_series(1, 50) g`);
    const first = new Execution(db.executor, runbookSpec({ name: 'reused' }), ARN('one'));
    await first.run(Phase.Preflight);
    await first.run(Phase.Backup);
    await first.run(Phase.Rollback);
    const other = runbookSpec({ name: 'reused', table: { schema: 'public', name: 'Other' } });
    const second = new Execution(db.executor, other, ARN('two'));
    await second.run(Phase.Preflight);
    await second.run(Phase.Backup);
    const row = (await db.pg.query(`SELECT table_schema, table_name, status FROM _stepwise.migrations WHERE name = 'reused'`)).rows[0];
    expect(row).toEqual({ table_schema: 'public', table_name: 'Other', status: 'running' });
  });
});
