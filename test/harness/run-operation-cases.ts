import { Phase } from '../../lib/constants';
import { StepwiseError } from '../../lib/errors';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database';
import { tableChecksum, tableMustBeCleanedUp, tableSchema } from './assertions';
import { PhaseDriver } from './run-phases';

/** One case of the operation harness (pgroll's op_common_test.go, for Stepwise). */
export interface OperationCase {
  readonly name: string;
  /** Statements run directly on a fresh database before the case. */
  readonly setupSql: readonly string[];
  readonly spec: Record<string, unknown>;
  /** The table the spec migrates, for the before/after comparisons: schema, name and key column. */
  readonly table: { readonly schema?: string; readonly name: string; readonly key: string };
  /** When preflight must refuse: the expected error code. The database must then be unchanged. */
  readonly wantPreflightError?: string;
  /** After expand: prove dual-write (e.g. a row written to the old column shows up right in the new one). */
  readonly afterExpand?: (db: TestDatabase) => Promise<void>;
  readonly afterBackfill?: (db: TestDatabase) => Promise<void>;
  readonly afterRollback?: (db: TestDatabase) => Promise<void>;
  readonly afterContract?: (db: TestDatabase) => Promise<void>;
}

/**
 * For each case, on a fresh database through the Data API emulator:
 * preflight, backup, expand (twice: idempotent), afterExpand, backfill, afterBackfill, verify, rollback (twice),
 * afterRollback (schema and data checksum equal to before, no `_stepwise_` object left); then every phase again
 * through contract (constrain and contract twice), afterContract. A case with `wantPreflightError` instead checks
 * that preflight refuses with that code and the database is unchanged.
 */
export function runOperationCases(cases: readonly OperationCase[]): void {
  describe.each(cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    let db: TestDatabase;
    beforeAll(async () => {
      db = await createTestDatabase(`op_${c.table.name}`);
      for (const sql of c.setupSql) await db.pg.query(sql);
    });
    afterAll(async () => db?.close());

    const schema = c.table.schema ?? 'public';
    const snapshot = async () => ({
      schema: await tableSchema(db.pg, c.table.name, schema),
      data: await tableChecksum(db.pg, c.table.name, c.table.key, schema),
    });

    if (c.wantPreflightError) {
      it(`preflight refuses with ${c.wantPreflightError} and changes nothing`, async () => {
        const before = await snapshot().catch(() => undefined);
        const schemasBefore = (await db.pg.query('SELECT nspname FROM pg_namespace ORDER BY 1')).rows;
        const driver = new PhaseDriver(db.executor, c.spec);
        const error = await driver.run(Phase.Preflight).then(() => undefined, (e: unknown) => e);
        expect(error).toBeInstanceOf(StepwiseError);
        expect((error as StepwiseError).code).toBe(c.wantPreflightError);
        expect((error as StepwiseError).hint.length).toBeGreaterThan(10);
        expect(await snapshot().catch(() => undefined)).toEqual(before);
        expect((await db.pg.query('SELECT nspname FROM pg_namespace ORDER BY 1')).rows).toEqual(schemasBefore);
      });
      return;
    }

    it('expands, backfills, verifies and rolls back to exactly the table it started from', async () => {
      const before = await snapshot();
      const driver = new PhaseDriver(db.executor, c.spec);
      await driver.run(Phase.Preflight);
      await driver.run(Phase.Backup);
      await driver.run(Phase.Expand);
      await driver.run(Phase.Expand); // idempotent
      await c.afterExpand?.(db);
      await driver.backfill();
      await c.afterBackfill?.(db);
      const verified = await driver.verify();
      expect(verified.mismatches).toBe(0);
      await driver.run(Phase.Rollback);
      await driver.run(Phase.Rollback); // idempotent
      await tableMustBeCleanedUp(db.pg, c.table.name, schema);
      await c.afterRollback?.(db);
      const after = await snapshot();
      expect(after.schema).toEqual(before.schema);
      if (!c.afterExpand) expect(after.data).toEqual(before.data); // dual-write checks add rows
    });

    it('then runs every phase through contract, each phase twice', async () => {
      const driver = new PhaseDriver(db.executor, c.spec);
      await driver.run(Phase.Preflight);
      await driver.run(Phase.Backup);
      await driver.run(Phase.Expand);
      await driver.backfill();
      expect((await driver.verify()).mismatches).toBe(0);
      await driver.run(Phase.Constrain);
      await driver.run(Phase.Constrain);
      await driver.run(Phase.Contract);
      await driver.run(Phase.Contract);
      await tableMustBeCleanedUp(db.pg, c.table.name, schema);
      await c.afterContract?.(db);
    });
  });
}
