/**
 * The backfill does not fire the application's triggers: its batches run with `session_replication_role = replica`
 * where the migration role may set it; otherwise (and for ENABLE ALWAYS / ENABLE REPLICA triggers) preflight lists
 * every UPDATE trigger the backfill would fire, BEFORE and AFTER, row and statement, and refuses until the spec names
 * them in `backfill.fireTriggers`.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { Phase } from '../../lib/constants';
import { startLocalDataApi, type LocalDataApi } from '../../lib/local/local-data-api';
import { runPreflightChecks } from '../../lib/phases/preflight';
import type { StepwiseError } from '../../lib/errors';
import { PhaseDriver } from '../harness/run-phases';
import { runbookSpec, seedProducts } from '../e2e/e2e-helpers';
import { createTestDatabase, testServerUrl, type TestDatabase } from '../helpers/test-database';

jest.setTimeout(120_000);

const ROWS = 600;

/** The application's triggers: an updatedAt stamp (BEFORE ROW), an audit (AFTER ROW), and statement-level ones. */
async function installAppTriggers(db: TestDatabase): Promise<void> {
  await db.pg.query(`UPDATE "Product" SET "updatedAt" = '2020-01-01'`);
  await db.pg.query(`CREATE TABLE app_events (kind text NOT NULL, product bigint, at timestamptz DEFAULT now())`);
  await db.pg.query(`CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW."updatedAt" := now(); RETURN NEW; END $$`);
  await db.pg.query(`CREATE FUNCTION audit_row() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO app_events (kind, product) VALUES ('row', NEW.id); RETURN NULL; END $$`);
  await db.pg.query(`CREATE FUNCTION audit_stmt() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO app_events (kind) VALUES (TG_WHEN || ' statement'); RETURN NULL; END $$`);
  await db.pg.query(`CREATE TRIGGER set_updated_at BEFORE UPDATE ON "Product" FOR EACH ROW EXECUTE FUNCTION touch()`);
  await db.pg.query(`CREATE TRIGGER audit_product AFTER UPDATE ON "Product" FOR EACH ROW EXECUTE FUNCTION audit_row()`);
  await db.pg.query(`CREATE TRIGGER audit_before_stmt BEFORE UPDATE ON "Product" FOR EACH STATEMENT EXECUTE FUNCTION audit_stmt()`);
  await db.pg.query(`CREATE TRIGGER audit_after_stmt AFTER UPDATE ON "Product" FOR EACH STATEMENT EXECUTE FUNCTION audit_stmt()`);
  // Not fired by the backfill whatever the role: a column list of existing columns, an INSERT trigger, a disabled one.
  await db.pg.query(`CREATE TRIGGER audit_price_only AFTER UPDATE OF price ON "Product" FOR EACH ROW EXECUTE FUNCTION audit_row()`);
  await db.pg.query(`CREATE TRIGGER audit_insert AFTER INSERT ON "Product" FOR EACH ROW EXECUTE FUNCTION audit_row()`);
  await db.pg.query(`CREATE TRIGGER audit_disabled AFTER UPDATE ON "Product" FOR EACH ROW EXECUTE FUNCTION audit_row()`);
  await db.pg.query(`ALTER TABLE "Product" DISABLE TRIGGER audit_disabled`);
}

/** What the application's triggers did: rows whose updatedAt moved, and the events they wrote. */
async function fired(db: TestDatabase) {
  const bumped = (await db.pg.query(`SELECT count(*)::int AS n FROM "Product" WHERE "updatedAt" > '2020-01-02'`)).rows[0].n as number;
  const events = (await db.pg.query(`SELECT kind, count(*)::int AS n FROM app_events GROUP BY kind ORDER BY kind`)).rows;
  return { bumped, events: Object.fromEntries(events.map((r) => [r.kind, r.n])) };
}

async function untouched(db: TestDatabase) {
  const schema = (await db.pg.query(`SELECT to_regnamespace('_stepwise') IS NULL AS none`)).rows[0].none;
  const column = (await db.pg.query(`SELECT count(*)::int AS n FROM information_schema.columns WHERE table_name = 'Product' AND column_name = 'new_price_cents'`)).rows[0].n;
  return { noStateSchema: schema, newColumns: column };
}

const err = (p: Promise<unknown>) => p.then(() => undefined, (e: unknown) => e as StepwiseError);

describe('backfill and the application triggers: a role that may set session_replication_role', () => {
  let db: TestDatabase;
  beforeEach(async () => {
    db = await createTestDatabase('bf_trig_su');
    await seedProducts(db, ROWS);
    await installAppTriggers(db);
  });
  afterEach(async () => db.close());

  it('runs the batches with replica: no row, statement, BEFORE or AFTER trigger of the application fires; application writes still fire them', async () => {
    const spec = runbookSpec();
    const checks = await runPreflightChecks(db.executor, spec);
    const check = checks.find((c) => c.name === 'backfill triggers');
    expect(check?.status).toBe('pass');
    expect(check?.message).toMatch(/session_replication_role = replica, which skips audit_after_stmt, audit_before_stmt, audit_product, set_updated_at/);
    const d = new PhaseDriver(db.executor, spec);
    await d.runThrough(Phase.Expand);
    await d.backfill();
    expect(await fired(db)).toEqual({ bumped: 0, events: {} });
    expect((await db.pg.query(`SELECT count(*)::int AS n FROM "Product" WHERE new_price_cents IS DISTINCT FROM round(price * 100)::integer`)).rows[0].n).toBe(0);
    // The setting was the batches' own: the application's next write fires its triggers (and the sync trigger).
    await db.pg.query(`UPDATE "Product" SET price = 3.33 WHERE id = 7`);
    expect(await fired(db)).toEqual({ bumped: 1, events: { row: 2, 'BEFORE statement': 1, 'AFTER statement': 1 } });
    expect((await db.pg.query(`SELECT new_price_cents FROM "Product" WHERE id = 7`)).rows[0].new_price_cents).toBe(333);
  });

  it('refuses an ENABLE ALWAYS trigger (replica does not skip it) until backfill.fireTriggers names it, changing nothing; then it fires', async () => {
    await db.pg.query(`ALTER TABLE "Product" ENABLE ALWAYS TRIGGER audit_product`);
    const refused = await err(new PhaseDriver(db.executor, runbookSpec()).run(Phase.Preflight));
    expect(refused?.code).toBe('SW_BACKFILL_FIRES_TRIGGERS');
    expect(refused?.message).toContain('audit_product (AFTER ROW, ENABLE ALWAYS)');
    expect(refused?.message.split(' on public.Product')[0]).toBe('the backfill would fire audit_product (AFTER ROW, ENABLE ALWAYS)');
    expect(refused?.hint).toContain('backfill.fireTriggers');
    expect(await untouched(db)).toEqual({ noStateSchema: true, newColumns: 0 });

    const spec = runbookSpec({ backfill: { batchSize: 250, pauseMs: 0, fireTriggers: ['audit_product'] } });
    const check = (await runPreflightChecks(db.executor, spec)).find((c) => c.name === 'backfill triggers');
    expect(check?.status).toBe('warn');
    const d = new PhaseDriver(db.executor, spec);
    await d.runThrough(Phase.Expand);
    await d.backfill();
    expect(await fired(db)).toEqual({ bumped: 0, events: { row: ROWS } });
  });
});

describe('backfill and the application triggers: a role that may not set session_replication_role', () => {
  let db: TestDatabase;
  let migrator: LocalDataApi;
  let role: string;
  beforeEach(async () => {
    db = await createTestDatabase('bf_trig_role');
    await seedProducts(db, ROWS);
    await installAppTriggers(db);
    role = `sw_migrator_${randomBytes(4).toString('hex')}`;
    await db.pg.query(`CREATE ROLE ${role} LOGIN PASSWORD 'migrator'`);
    await db.pg.query(`GRANT CREATE ON DATABASE "${db.name}" TO ${role}`);
    await db.pg.query(`GRANT CREATE ON SCHEMA public TO ${role}`);
    await db.pg.query(`ALTER TABLE "Product" OWNER TO ${role}`);
    await db.pg.query(`GRANT INSERT ON app_events TO ${role}`);
    const url = new URL(db.url);
    url.username = role;
    url.password = 'migrator';
    migrator = await startLocalDataApi(url.toString());
  });
  afterEach(async () => {
    await migrator.close();
    await db.close();
    // The role outlives its database only until here (dropping it needs the database gone).
    const admin = new pg.Client({ connectionString: testServerUrl() });
    await admin.connect();
    await admin.query(`DROP ROLE IF EXISTS ${role}`);
    await admin.end();
  });

  it('lists every UPDATE trigger the backfill would fire, BEFORE and AFTER, and refuses, changing nothing', async () => {
    const refused = await err(new PhaseDriver(migrator.executor, runbookSpec()).run(Phase.Preflight));
    expect(refused?.code).toBe('SW_BACKFILL_FIRES_TRIGGERS');
    // Not listed: UPDATE OF price (the backfill sets only the new column), an INSERT trigger, a disabled one.
    expect(refused?.message.split(' on public.Product')[0]).toBe(
      'the backfill would fire audit_after_stmt (AFTER STATEMENT), audit_before_stmt (BEFORE STATEMENT), audit_product (AFTER ROW), set_updated_at (BEFORE ROW)',
    );
    expect(refused?.hint).toContain('GRANT SET ON PARAMETER session_replication_role');
    expect(await untouched(db)).toEqual({ noStateSchema: true, newColumns: 0 });
  });

  it('backfills once the spec acknowledges them: they fire, and the sync trigger still keeps every row right', async () => {
    const spec = runbookSpec({ backfill: { batchSize: 250, pauseMs: 0, fireTriggers: ['set_updated_at', 'audit_product', 'audit_before_stmt', 'audit_after_stmt'] } });
    const d = new PhaseDriver(migrator.executor, spec);
    await d.runThrough(Phase.Expand);
    await d.backfill();
    const after = await fired(db);
    expect(after.bumped).toBe(ROWS);
    expect(after.events.row).toBe(ROWS);
    expect(after.events['BEFORE statement']).toBeGreaterThanOrEqual(Math.ceil(ROWS / 250));
    await d.verify();
  });
});
