import { DatabaseError } from '../../lib/errors';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database';

/** The executor's errors for the Data API's result and transaction limits name the limit and its fix. */
describe('DataApiExecutor errors for the Data API limits', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase('executor_limits', { transactionIdleMs: 200 });
  });
  afterAll(async () => db.close());

  it('says an unsupported result type or a row over 64 KB must be cast, not that the ARNs are wrong', async () => {
    for (const sql of [`SELECT '1 day'::interval AS v`, `SELECT repeat('x', 70000) AS v`, `SELECT ARRAY[[1]]::int4[] AS v`]) {
      const err = await db.executor.query(sql).then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(DatabaseError);
      expect(err).toMatchObject({ code: 'SW_DB_ERROR', details: { errorName: 'UnsupportedResultException', sql } });
      expect((err as DatabaseError).hint).toMatch(/Cast the column to text/);
    }
    expect((await db.executor.query(`SELECT '1 day'::interval::text AS v`)).rows).toEqual([{ v: '1 day' }]);
  });

  it('says an expired transaction is gone and the step can run again', async () => {
    const err = await db.executor
      .transaction(async (tx) => {
        await tx.query('SELECT 1 AS n');
        // Idle past the emulator's transaction timeout (200 ms here), then use the transaction again.
        for (let i = 0; i < 100; i += 1) {
          const { rowCount } = await db.pg.query(`SELECT 1 FROM pg_stat_activity WHERE datname = $1 AND state LIKE 'idle in transaction%'`, [db.name]);
          if (!rowCount) break;
          await new Promise((r) => setTimeout(r, 25));
        }
        await tx.query('SELECT 2 AS n');
      })
      .then(() => undefined, (e: unknown) => e);
    expect(err).toMatchObject({ code: 'SW_DB_ERROR', details: { errorName: 'TransactionNotFoundException' } });
    expect((err as DatabaseError).hint).toMatch(/idle for more than 3 minutes/);
  });
});
