import { backfillEstimateCheck, estimateBackfillSeconds, parseSample, sampleBackfill, WRITE_COST_FACTOR } from '../../lib/catalog/backfill-estimate';
import { AURORA_VOLUME_LIMIT_BYTES, formatBytes, headroomCheck, readSize, sizeCheck, spaceNeeded, type SizeFacts } from '../../lib/catalog/table-size';
import { readTableFacts } from '../../lib/catalog/read-table-facts';
import { preflightPhase } from '../../lib/phases/preflight';
import { parseSpec } from '../../lib/spec';
import { runbookSpec, seedProducts } from '../e2e/e2e-helpers';
import { tableChecksum, tableSchema } from '../harness/assertions';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database';

jest.setTimeout(120_000);

const pace = { mode: 'adaptive' as const, batchSize: 1000, pauseMs: 0, maxRowsPerSecond: undefined, parallelism: 1 };
const facts = (more: Partial<SizeFacts> = {}): SizeFacts => ({
  heapBytes: 0, toastBytes: 0, indexBytes: 0, totalBytes: 0, relations: 1, databaseBytes: 0, aurora: false, newValueBytes: 4,
  repackInstalled: false, repackAvailable: false, ...more,
});

describe('sizes and estimates (pure)', () => {
  it('reads the sample from EXPLAIN ANALYZE text', () => {
    const lines = [
      'Limit  (cost=0.42..345.43 rows=10000 width=4) (actual rows=10000.00 loops=1)',
      '  ->  Index Scan using "Product_pkey" on "Product"  (cost=0.42..17250.42 rows=500000 width=4) (actual rows=10000.00 loops=1)',
      'Planning Time: 0.101 ms',
      'Execution Time: 2.694 ms',
    ];
    expect(parseSample(lines)).toEqual({ rows: 10000, ms: 2.694 });
    expect(() => parseSample(['Limit'])).toThrow(/no execution time/);
  });

  it('estimates from the sample, spread over ranges, with pauses, never faster than maxRowsPerSecond', () => {
    const sample = { rows: 10_000, ms: 10 }; // 1 µs per row read, 30 µs per row written
    expect(estimateBackfillSeconds(sample, 1_000_000, pace)).toBeCloseTo(WRITE_COST_FACTOR, 6);
    expect(estimateBackfillSeconds(sample, 1_000_000, { ...pace, parallelism: 4 })).toBeCloseTo(WRITE_COST_FACTOR / 4, 6);
    // fixed: 1000 batches × 100 ms of pause = 100 s more
    expect(estimateBackfillSeconds(sample, 1_000_000, { ...pace, mode: 'fixed', pauseMs: 100 })).toBeCloseTo(WRITE_COST_FACTOR + 100, 6);
    expect(estimateBackfillSeconds(sample, 1_000_000, { ...pace, maxRowsPerSecond: 1000 })).toBe(1000);
    expect(estimateBackfillSeconds({ rows: 0, ms: 0.01 }, 0, pace)).toBeUndefined();
    // Never analyzed (statistics say 0 rows): at least what the sample read, and the hint says ANALYZE.
    expect(backfillEstimateCheck(sample, 0, pace)).toMatchObject({ message: expect.stringMatching(/^about under 1 s for at least 10000 rows:/), hint: expect.stringMatching(/run ANALYZE/) });
    expect(backfillEstimateCheck(sample, 1_000_000, { ...pace, maxRowsPerSecond: 1000 }).message).toMatch(
      /^about 17 min for 1000000 rows \(at most 1000 rows\/s\): computing the new value of a read-only sample of 10000 rows took 10\.0 ms/,
    );
  });

  it('needs the heap again plus the new column, and the index entries', () => {
    const need = spaceNeeded(facts({ heapBytes: 1000, newValueBytes: 4 }), 100, true);
    expect(need).toEqual({ heapGrowth: 1000 + 400, index: Math.ceil((100 * 20) / 0.9), total: 1400 + Math.ceil(2000 / 0.9) });
    expect(spaceNeeded(facts({ heapBytes: 1000, newValueBytes: 12 }), 100, false)).toEqual({ heapGrowth: 2200, index: 0, total: 2200 });
  });

  it('on Aurora, warns when the need exceeds the volume left', () => {
    const full = facts({ aurora: true, heapBytes: 60 * 1024 ** 4, databaseBytes: 100 * 1024 ** 4 });
    expect(headroomCheck(full, 1e9, false)).toMatchObject({ status: 'warn', hint: expect.stringMatching(/may not fit in the volume/) });
    expect(headroomCheck(facts({ aurora: true, heapBytes: 1024 ** 3, databaseBytes: 2 * 1024 ** 3 }), 1e6, true)).toMatchObject({
      status: 'pass',
      message: expect.stringMatching(/this database uses 2\.0 GB, leaving 128\.0 TB$/),
      hint: expect.stringMatching(/FreeLocalStorage/),
    });
  });
});

describe('sizes and estimates (live)', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase('sizes');
    await seedProducts(db, 20_000);
    // Values of ~3 kB that do not compress: stored out of line, in the TOAST table.
    await db.pg.query(`ALTER TABLE "Product" ADD COLUMN notes text`);
    await db.pg.query(`ALTER TABLE "Product" ALTER COLUMN notes SET STORAGE EXTERNAL`);
    await db.pg.query(`UPDATE "Product" SET notes = (SELECT string_agg(md5(id::text || g::text), '') FROM generate_series(1, 100) g) WHERE id <= 500`);
    await db.pg.query('VACUUM ANALYZE "Product"');
    await db.pg.query(`CREATE TABLE "Orders" (id bigint, region text NOT NULL, amount numeric(12,2), PRIMARY KEY (id, region)) PARTITION BY LIST (region)`);
    for (const r of ['eu', 'us', 'ap']) await db.pg.query(`CREATE TABLE "Orders_${r}" PARTITION OF "Orders" FOR VALUES IN ('${r}')`);
    await db.pg.query(`INSERT INTO "Orders" SELECT g, (ARRAY['eu','us','ap'])[1 + g % 3], g / 100.0 FROM generate_series(1, 9000) g`);
    await db.pg.query('VACUUM ANALYZE "Orders"');
  });
  afterAll(async () => db.close());

  const sizesOf = async (relations: string[]) =>
    (
      await db.pg.query(
        `SELECT sum(pg_relation_size(c.oid))::bigint AS heap, sum(pg_indexes_size(c.oid))::bigint AS indexes, sum(pg_total_relation_size(c.oid))::bigint AS total,
                sum(CASE WHEN c.reltoastrelid <> 0 THEN pg_total_relation_size(c.reltoastrelid) ELSE 0 END)::bigint AS toast
           FROM pg_class c WHERE c.oid = ANY ($1::regclass[])`,
        [relations],
      )
    ).rows[0] as { heap: string; indexes: string; total: string; toast: string };

  it('an ordinary table: heap, TOAST, indexes and total as Postgres counts them (never 0 B)', async () => {
    const spec = parseSpec(runbookSpec());
    const size = await readSize(db.executor, spec);
    const want = await sizesOf(['"Product"']);
    expect(size).toMatchObject({ heapBytes: Number(want.heap), toastBytes: Number(want.toast), indexBytes: Number(want.indexes), totalBytes: Number(want.total), relations: 1, aurora: false, newValueBytes: 4 });
    expect(size.heapBytes).toBeGreaterThan(20_000 * 30); // 20,000 rows of at least 30 bytes
    expect(size.toastBytes).toBeGreaterThan(500 * 3200); // 500 values of 3,200 bytes out of line
    expect(size.indexBytes).toBeGreaterThan(0);
    expect(sizeCheck(size, 20_000).message).toBe(
      `about 20000 rows; heap ${formatBytes(Number(want.heap))}, TOAST ${formatBytes(Number(want.toast))}, indexes ${formatBytes(Number(want.indexes))}, ${formatBytes(Number(want.total))} in all`,
    );
  });

  it('a partitioned table: the sum over its leaf partitions', async () => {
    const spec = parseSpec(runbookSpec({ table: { schema: 'public', name: 'Orders' }, operation: { type: 'convert-column', column: 'amount', newColumn: 'amount_cents', newType: 'bigint', using: 'round(amount * 100)' } }));
    const size = await readSize(db.executor, spec);
    const want = await sizesOf(['"Orders_eu"', '"Orders_us"', '"Orders_ap"']);
    expect(size).toMatchObject({ heapBytes: Number(want.heap), indexBytes: Number(want.indexes), totalBytes: Number(want.total), relations: 3, newValueBytes: 8 });
    expect(size.heapBytes).toBeGreaterThan(9000 * 30);
    expect(sizeCheck(size, 9000).message).toMatch(/^about 9000 rows over 3 partitions; heap /);
  });

  it('headroom: this server is not Aurora, and the check says free space is not visible; an Aurora server is measured against its volume', async () => {
    const spec = parseSpec(runbookSpec());
    const size = await readSize(db.executor, spec);
    expect(headroomCheck(size, 20_000, true).message).toMatch(/not Aurora and its free disk space is not visible through SQL$/);
    // Aurora is recognized by its aurora_version() function (here a stand-in of the same name).
    await db.pg.query(`CREATE FUNCTION public.aurora_version() RETURNS text LANGUAGE sql AS $$ SELECT '16.6.1' $$`);
    try {
      const aurora = await readSize(db.executor, spec);
      const dbBytes = Number((await db.pg.query('SELECT pg_database_size(current_database()) AS b')).rows[0].b);
      expect(aurora.aurora).toBe(true);
      expect(Math.abs(aurora.databaseBytes - dbBytes)).toBeLessThan(dbBytes * 0.05);
      expect(headroomCheck(aurora, 20_000, true).message).toContain(`leaving ${formatBytes(AURORA_VOLUME_LIMIT_BYTES - aurora.databaseBytes)}`);
    } finally {
      await db.pg.query('DROP FUNCTION public.aurora_version()');
    }
  });

  it('the backfill sample is read-only and measures the batch computation on real rows', async () => {
    const spec = parseSpec(runbookSpec());
    const before = { schema: await tableSchema(db.pg, 'Product'), data: await tableChecksum(db.pg, 'Product', 'id') };
    const table = await readTableFacts(db.executor, spec.table);
    const sample = await sampleBackfill(db.executor, spec, table, 5000);
    expect(sample.rows).toBe(5000);
    expect(sample.ms).toBeGreaterThan(0);
    const report = await preflightPhase({ state: { spec: runbookSpec() } as never, slot: 'preflight' }, { db: db.executor });
    const check = report.checks.find((c) => c.name === 'backfill estimate');
    expect(check).toMatchObject({ status: 'pass', message: expect.stringMatching(/^about .+ for 20000 rows: computing the new value of a read-only sample of 10000 rows took [\d.]+ ms/) });
    expect(report.checks.find((c) => c.name === 'size')?.message).not.toMatch(/heap 0 B/);
    expect({ schema: await tableSchema(db.pg, 'Product'), data: await tableChecksum(db.pg, 'Product', 'id') }).toEqual(before);
  });
});
