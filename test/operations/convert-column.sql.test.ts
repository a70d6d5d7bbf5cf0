import { backfillBatchSql, scanBatchSql } from '../../lib/backfill';
import { convertColumn, type TableFacts } from '../../lib/operations';
import { AddedId } from '../../lib/operations/convert-column';
import { parseSpec } from '../../lib/spec';
import runbook from '../../examples/product-price-cents.json';

const table: TableFacts = {
  schema: 'public',
  name: 'Product',
  primaryKey: { column: 'id', type: 'integer' },
  columns: [
    { name: 'id', type: 'integer', nullable: false },
    { name: 'name', type: 'text', nullable: false },
    { name: 'price', type: 'numeric(10,2)', nullable: true },
  ],
  estimatedRows: 1000,
};
const spec = parseSpec(runbook);
const op = spec.operation;
const ctx = { spec, op, table };
const allSql = (plan: ReturnType<typeof convertColumn.expand>) => plan.flatMap((s) => s.statements.map((x) => x.sql));

describe('convertColumn', () => {
  describe('validate', () => {
    it('accepts the runbook migration', () => expect(convertColumn.validate(ctx)).toEqual([]));
    it('names a missing column and lists the columns there are', () => {
      const issues = convertColumn.validate({ ...ctx, op: { ...op, column: 'prize' } });
      expect(issues.map((i) => i.code)).toEqual(['SW_COLUMN_NOT_FOUND']);
      expect(issues[0]!.message).toContain('id, name, price');
    });
    it('refuses a new column that already exists', () => {
      expect(convertColumn.validate({ ...ctx, op: { ...op, newColumn: 'name' } }).map((i) => i.code)).toContain('SW_NEW_COLUMN_EXISTS');
    });
    it('refuses converting the primary key', () => {
      expect(convertColumn.validate({ ...ctx, op: { ...op, column: 'id' } }).map((i) => i.code)).toContain('SW_PRIMARY_KEY_COLUMN');
    });
  });

  describe('dataChecks', () => {
    it('checks NULLs under notNull and integer overflow', () => {
      const checks = convertColumn.dataChecks(ctx);
      expect(checks.map((c) => c.predicate)).toEqual([
        '(round(price * 100)) IS NULL',
        '(round(price * 100))::numeric NOT BETWEEN -2147483648 AND 2147483647',
      ]);
    });
  });

  describe('expand', () => {
    it('adds a nullable column, the sync trigger and the index concurrently, each idempotent', () => {
      const plan = convertColumn.expand(ctx);
      expect(plan.map((s) => s.id)).toEqual(['expand.add-column', 'dual-write.sync-trigger', 'expand.index']);
      const sql = allSql(plan);
      expect(sql[0]).toBe('ALTER TABLE "public"."Product" ADD COLUMN IF NOT EXISTS "new_price_cents" integer');
      expect(sql[1]).toContain('NEW."new_price_cents" := (SELECT (round(price * 100))::integer FROM (SELECT NEW.*) AS "Product");');
      expect(sql.slice(2, 6)).toEqual([
        'DROP TRIGGER IF EXISTS "_stepwise_product-price-cents_sync" ON "public"."Product"',
        'DROP TRIGGER IF EXISTS "_stepwise_product-price-cents_sync_upd" ON "public"."Product"',
        'CREATE TRIGGER "_stepwise_product-price-cents_sync" BEFORE INSERT ON "public"."Product" FOR EACH ROW EXECUTE FUNCTION "public"."_stepwise_product-price-cents_sync"()',
        'CREATE TRIGGER "_stepwise_product-price-cents_sync_upd" BEFORE UPDATE ON "public"."Product" FOR EACH ROW ' +
          `WHEN (current_setting('stepwise.backfill', true) IS DISTINCT FROM 'on') EXECUTE FUNCTION "public"."_stepwise_product-price-cents_sync"()`,
      ]);
      // DROP TRIGGER takes ACCESS EXCLUSIVE: only a re-run that finds the trigger drops it, and the step says so.
      const sync = plan.find((s) => s.id === 'dual-write.sync-trigger')!;
      expect(sync.lock).toBe('ACCESS EXCLUSIVE');
      expect(sync.statements.filter((s) => s.sql.startsWith('DROP TRIGGER')).every((s) => s.skipWhen?.sql.includes('pg_trigger'))).toBe(true);
      expect(sql).toContain('CREATE INDEX CONCURRENTLY IF NOT EXISTS "idx_products_new_price" ON "public"."Product" ("new_price_cents")');
      expect(plan.find((s) => s.id === 'expand.index')?.transactional).toBe(false);
      expect(plan.find((s) => s.id === 'expand.add-column')?.transactional).toBe(true);
    });
    it('adds no trigger when the application dual-writes', () => {
      const plan = convertColumn.expand({ ...ctx, spec: { ...spec, dualWrite: 'application' } });
      expect(plan.map((s) => s.id)).toEqual(['expand.add-column', 'expand.index']);
    });
    it('quotes identifiers with quotes in them', () => {
      const sql = allSql(convertColumn.expand({ ...ctx, op: { ...op, newColumn: 'we"ird' }, table: { ...table, name: 'Pro"duct' } }));
      expect(sql[0]).toBe('ALTER TABLE "public"."Pro""duct" ADD COLUMN IF NOT EXISTS "we""ird" integer');
    });
  });

  describe('constrain', () => {
    it('uses CHECK NOT VALID, VALIDATE, SET NOT NULL, DROP CHECK', () => {
      const sql = allSql(convertColumn.constrain(ctx));
      expect(sql).toEqual([
        'ALTER TABLE "public"."Product" ADD CONSTRAINT "_stepwise_product-price-cents_nn" CHECK ("new_price_cents" IS NOT NULL) NOT VALID',
        'ALTER TABLE "public"."Product" VALIDATE CONSTRAINT "_stepwise_product-price-cents_nn"',
        'ALTER TABLE "public"."Product" ALTER COLUMN "new_price_cents" SET NOT NULL',
        'ALTER TABLE "public"."Product" DROP CONSTRAINT IF EXISTS "_stepwise_product-price-cents_nn"',
      ]);
    });
    it('is empty without notNull', () => expect(convertColumn.constrain({ ...ctx, op: { ...op, notNull: false } })).toEqual([]));
  });

  describe('contract', () => {
    it('drops the trigger and the old column and renames, in one transaction', () => {
      const plan = convertColumn.contract(ctx);
      expect(plan).toHaveLength(1);
      expect(plan[0]!.transactional).toBe(true);
      expect(allSql(plan)).toEqual([
        'DROP TRIGGER IF EXISTS "_stepwise_product-price-cents_sync" ON "public"."Product"',
        'DROP TRIGGER IF EXISTS "_stepwise_product-price-cents_sync_upd" ON "public"."Product"',
        'DROP FUNCTION IF EXISTS "public"."_stepwise_product-price-cents_sync"()',
        'ALTER TABLE "public"."Product" DROP COLUMN IF EXISTS "price"',
        'ALTER TABLE "public"."Product" RENAME COLUMN "new_price_cents" TO "price_cents"',
      ]);
    });
  });

  describe('rollback', () => {
    it('removes what expand added and never touches the old column', () => {
      const sql = allSql(convertColumn.rollback(ctx));
      expect(sql.join('\n')).not.toMatch(/"price"/);
      expect(sql).toContain('ALTER TABLE "public"."Product" DROP COLUMN IF EXISTS "new_price_cents"');
      expect(sql).toContain('DROP INDEX IF EXISTS "public"."idx_products_new_price"');
      // One transaction: the table is either as expand left it or as before, never half-undone.
      expect(convertColumn.rollback(ctx)).toHaveLength(1);
      expect(convertColumn.rollback(ctx)[0]).toMatchObject({ transactional: true, lock: 'ACCESS EXCLUSIVE' });
    });

    it('names only the objects that exist, and is empty (no lock at all) when none does', () => {
      expect(convertColumn.rollback(ctx, new Set())).toEqual([]);
      const sql = allSql(convertColumn.rollback(ctx, new Set([AddedId.Column])));
      expect(sql).toEqual(['ALTER TABLE "public"."Product" DROP COLUMN IF EXISTS "new_price_cents"']);
    });

    it('release removes only the sync machinery and what would fail writes without it; the new column and index stay', () => {
      const sql = allSql(convertColumn.release(ctx));
      expect(sql).toEqual([
        'DROP TRIGGER IF EXISTS "_stepwise_product-price-cents_sync" ON "public"."Product"',
        'DROP TRIGGER IF EXISTS "_stepwise_product-price-cents_sync_upd" ON "public"."Product"',
        'DROP FUNCTION IF EXISTS "public"."_stepwise_product-price-cents_sync"()',
        'ALTER TABLE "public"."Product" DROP CONSTRAINT IF EXISTS "_stepwise_product-price-cents_nn"',
        'ALTER TABLE "public"."Product" ALTER COLUMN "new_price_cents" DROP NOT NULL',
      ]);
      expect(convertColumn.release(ctx, new Set([AddedId.Column, AddedId.Index]))).toEqual([]);
    });

    it('lists every object it may add with a catalog probe', () => {
      const objects = convertColumn.addedObjects(ctx);
      expect(objects.map((o) => o.id)).toEqual([AddedId.SyncTrigger, AddedId.SyncUpdateTrigger, AddedId.SyncFunction, AddedId.NotNullCheck, AddedId.NotNull, AddedId.Index, AddedId.Column]);
      for (const o of objects) expect(o.probe.sql).toMatch(/^SELECT .* AS present$/);
    });
  });

  describe('backfill', () => {
    it('is one keyset statement that moves the cursor with the data, never WHERE new IS NULL LIMIT n', () => {
      const task = convertColumn.backfill(ctx);
      const next = backfillBatchSql(table, task, false);
      expect(next).toContain('WHERE "id" > (:after)::integer ORDER BY "id" LIMIT :limit');
      expect(next).toContain('SET "new_price_cents" = (round(price * 100))::integer');
      expect(next).toContain('"new_price_cents" IS DISTINCT FROM (round(price * 100))::integer');
      expect(next).toMatch(/UPDATE "_stepwise"."migrations" SET cursor/);
      expect(next).not.toMatch(/IS NULL\s+LIMIT/i);
      expect(backfillBatchSql(table, task, true)).not.toContain(':after');
    });
    it("sets the sync trigger's marker and lock_timeout for its own transaction, and replica only when asked", () => {
      const task = convertColumn.backfill(ctx);
      const plain = backfillBatchSql(table, task, false);
      expect(plain).toContain(`set_config('stepwise.backfill', 'on', true)`);
      expect(plain).toContain(`set_config('lock_timeout', :lock_timeout, true)`);
      expect(plain).not.toContain('session_replication_role');
      // The settings are read by the CTE every updated row joins, so they are in force before the first row is written.
      expect(plain).toMatch(/FROM gate WHERE NOT gate\._sw_paused AND gate\._sw_settings IS NOT NULL/);
      expect(backfillBatchSql(table, task, false, { skipUserTriggers: true })).toContain(`set_config('session_replication_role', 'replica', true)`);
    });
  });

  describe('verify', () => {
    it('counts nulls and mismatches in a read-only keyset batch with sample ids', () => {
      const task = convertColumn.verify(ctx);
      const sql = scanBatchSql(table, { nulls: task.isNull, mismatches: task.mismatch }, false);
      expect(sql).toContain('("new_price_cents" IS DISTINCT FROM (round(price * 100))::integer) IS TRUE AS mismatches');
      expect(sql).toContain('[1:100]');
      expect(sql).not.toMatch(/UPDATE|INSERT|DELETE/);
    });
  });
});
