/**
 * Trigger mode: while the application writes the old column (expand → contract), the new column of every row equals
 * `using` of that row, whatever the writer put in it: the runbook's own dual-write code (which rounds in JS floats:
 * Math.round(1.005 * 100) = 100 where SQL gives 101), an INSERT that sets both columns, writes of the new column only,
 * and the same writes racing the backfill's batches.
 */
import { Phase } from '../../lib/constants';
import { PhaseDriver } from '../harness/run-phases';
import { runbookSpec, seedProducts } from '../e2e/e2e-helpers';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database';

jest.setTimeout(120_000);

/** Rows whose new column differs from `using` (round(price * 100)) of the same row. */
async function mismatches(db: TestDatabase): Promise<number[]> {
  const { rows } = await db.pg.query(`SELECT id FROM "Product" WHERE new_price_cents IS DISTINCT FROM round(price * 100)::integer ORDER BY id`);
  return rows.map((r) => Number(r.id));
}

/** What the runbook's dual-write snippet sends: the new column computed in JS. */
const jsCents = (price: number) => Math.round(price * 100);

/** Half-cent prices (stored rounded up, as numeric(10,2) does) whose JS cents differ from SQL's: 1.005, 1.015, … */
const JS_MISROUNDS = Array.from({ length: 100_000 }, (_, c) => Number(((c + 0.5) / 100).toFixed(3))).filter((p, c) => jsCents(p) !== c + 1);

/** Every way an application writes during the run, on rows `base`…`base + 4` and new ids from `newId`. */
async function applicationWrites(db: TestDatabase, base: number, newId: number): Promise<void> {
  // The runbook's dual-write, UPDATE path: JS rounding (100 for 1.005; SQL stores 1.01 and computes 101).
  await db.pg.query(`UPDATE "Product" SET price = $1, new_price_cents = $2 WHERE id = $3`, [1.005, jsCents(1.005), base]);
  // Negative: Math.round(-1.5) = -1, SQL round(-1.5) = -2.
  await db.pg.query(`UPDATE "Product" SET price = $1, new_price_cents = $2 WHERE id = $3`, [-0.015, jsCents(-0.015), base + 1]);
  // The runbook's dual-write, INSERT path, sets both columns.
  await db.pg.query(`INSERT INTO "Product" (id, name, price, new_price_cents) VALUES ($1, 'dw-insert', $2, $3)`, [newId, 2.675, jsCents(2.675)]);
  // Writes of the new column only (an application already at read-from-new): UPDATE and INSERT.
  await db.pg.query(`UPDATE "Product" SET new_price_cents = 555 WHERE id = $1`, [base + 2]);
  await db.pg.query(`INSERT INTO "Product" (id, name, new_price_cents) VALUES ($1, 'new-only-insert', 1999)`, [newId + 1]);
  // An ORM saving a whole stale row: a fresh price with the new value it read before.
  await db.pg.query(`UPDATE "Product" SET price = 20.00 WHERE id = $1`, [base + 3]);
  await db.pg.query(`UPDATE "Product" SET price = 15.00, new_price_cents = 2000 WHERE id = $1`, [base + 3]);
  // A write of neither column.
  await db.pg.query(`UPDATE "Product" SET name = 'renamed', new_price_cents = 7 WHERE id = $1`, [base + 4]);
}

describe('trigger mode: the new column equals using of its row, whatever the writer put in it', () => {
  let db: TestDatabase;
  beforeEach(async () => {
    db = await createTestDatabase('sync_writes');
    await seedProducts(db, 300);
    await db.pg.query(`ALTER TABLE "Product" ALTER COLUMN price SET DEFAULT 0`);
  });
  afterEach(async () => db.close());

  it('after expand (before the backfill) and after constrain, and verification passes', async () => {
    const d = new PhaseDriver(db.executor, runbookSpec());
    await d.runThrough(Phase.Expand);
    await applicationWrites(db, 10, 1001);
    // Written rows are right at once, before any batch reached them.
    expect((await mismatches(db)).filter((id) => (id >= 10 && id <= 14) || id > 1000)).toEqual([]);
    await d.backfill();
    await d.verify();
    await d.run(Phase.Constrain);
    await applicationWrites(db, 20, 2001);
    expect(await mismatches(db)).toEqual([]);
    const v = await d.verify('verifyAfterSoak');
    expect({ mismatches: v.mismatches, nulls: v.nulls }).toEqual({ mismatches: 0, nulls: 0 });
    const js = await db.pg.query(`SELECT new_price_cents FROM "Product" WHERE id IN (10, 11, 1001) ORDER BY id`);
    expect(js.rows.map((r) => r.new_price_cents)).toEqual([101, -2, 268]);
  });

  it('with dual-writing writers racing the backfill batches', async () => {
    await db.pg.query(`INSERT INTO "Product" (id, name, price) SELECT g, 'p' || g, g / 100.0 FROM generate_series(301, 4000) g`);
    const d = new PhaseDriver(db.executor, runbookSpec({ backfill: { batchSize: 200, pauseMs: 0 } }));
    await d.runThrough(Phase.Expand);
    let backfillDone = false;
    const writer = async (w: number) => {
      let writes = 0;
      let after = 0;
      // Bounded: at most 3000 writes per writer, from before the first batch to 20 writes past the last one.
      for (let i = 0; i < 3000 && after < 20; i += 1) {
        if (backfillDone) after += 1;
        const id = 1 + ((i * 131 + w * 977) % 4000);
        const price = JS_MISROUNDS[(i * 7 + w) % JS_MISROUNDS.length]!;
        await db.pg.query(`UPDATE "Product" SET price = $1, new_price_cents = $2 WHERE id = $3`, [price, jsCents(price), id]);
        if (i % 10 === 0) await db.pg.query(`INSERT INTO "Product" (id, name, price, new_price_cents) VALUES ($1, 'w', $2, $3)`, [10_000 + w * 1000 + i, price, jsCents(price)]);
        writes += 1;
      }
      return writes;
    };
    const writers = Promise.all([0, 1, 2].map(writer));
    await d.backfill();
    backfillDone = true;
    const writes = await writers;
    expect(JS_MISROUNDS.length).toBeGreaterThan(1000);
    expect(writes.every((n) => n > 20)).toBe(true);
    expect(await mismatches(db)).toEqual([]);
    const v = await d.verify();
    expect(v.mismatches).toBe(0);
  });
});
