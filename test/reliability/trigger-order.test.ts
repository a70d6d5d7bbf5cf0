import { runPreflightChecks } from '../../lib/phases/preflight';
import { runbookSpec, seedProducts } from '../e2e/e2e-helpers';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database';

describe('preflight: BEFORE row triggers that fire after the sync trigger', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase('trg_order');
    await seedProducts(db, 10);
  });
  afterAll(async () => db.close());

  it('passes without user triggers, and warns (never fails) when one sorts after "_stepwise_"', async () => {
    const triggers = async () => (await runPreflightChecks(db.executor, runbookSpec())).find((c) => c.name === 'triggers');
    expect((await triggers())?.status).toBe('pass');

    await db.pg.query(`CREATE FUNCTION floor_price() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.price := greatest(NEW.price, 1); RETURN NEW; END $$`);
    await db.pg.query(`CREATE TRIGGER set_price_floor BEFORE INSERT OR UPDATE ON "Product" FOR EACH ROW EXECUTE FUNCTION floor_price()`);
    await db.pg.query(`CREATE TRIGGER "A_first" BEFORE UPDATE ON "Product" FOR EACH ROW EXECUTE FUNCTION floor_price()`);

    const check = await triggers();
    expect(check?.status).toBe('warn');
    expect(check?.message).toContain('set_price_floor');
    expect(check?.message).not.toContain('A_first'); // sorts before "_stepwise_": fires first
    expect(check?.hint).toMatch(/rename them/);
  });
});
