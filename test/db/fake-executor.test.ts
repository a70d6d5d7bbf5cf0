import { FakeExecutor } from '../helpers/fake-executor';

describe('FakeExecutor', () => {
  it('records statements and answers from the responder', async () => {
    const db = new FakeExecutor(({ sql }) => (sql.startsWith('SELECT') ? [{ n: 3 }] : { rowsAffected: 2 }));
    const read = await db.query('SELECT count(*) AS n FROM t WHERE id > :id', { id: 1 });
    const write = await db.query('UPDATE t SET x = 1');
    expect(read).toEqual({ rows: [{ n: 3 }], rowsAffected: 0 });
    expect(write).toEqual({ rows: [], rowsAffected: 2 });
    expect(db.statements).toEqual([
      { sql: 'SELECT count(*) AS n FROM t WHERE id > :id', params: { id: 1 } },
      { sql: 'UPDATE t SET x = 1', params: {} },
    ]);
  });

  it('records transactions: commit on success, rollback on error', async () => {
    const db = new FakeExecutor(({ sql }) => {
      if (sql === 'FAIL') throw new Error('boom');
      return undefined;
    });
    await db.transaction((tx) => tx.query('A'), { lockTimeoutMs: 200 });
    await expect(db.transaction((tx) => tx.query('FAIL'))).rejects.toThrow('boom');
    expect(db.transactions).toEqual([
      { type: 'begin', transaction: 0, options: { lockTimeoutMs: 200 } },
      { type: 'commit', transaction: 0 },
      { type: 'begin', transaction: 1, options: {} },
      { type: 'rollback', transaction: 1 },
    ]);
    expect(db.statements.map((s) => [s.sql, s.transaction])).toEqual([
      ['A', 0],
      ['FAIL', 1],
    ]);
  });
});
