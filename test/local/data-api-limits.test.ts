import {
  BeginTransactionCommand,
  CommitTransactionCommand,
  ExecuteStatementCommand,
  type ExecuteStatementCommandInput,
  RDSDataClient,
  RollbackTransactionCommand,
} from '@aws-sdk/client-rds-data';
import type pg from 'pg';
import { type DataApiEmulator, startDataApiEmulator } from '../../lib/local/data-api-emulator';
import { LOCAL_AWS } from '../../lib/local/local-data-api';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database';

const arns = { resourceArn: LOCAL_AWS.clusterArn, secretArn: LOCAL_AWS.secretArn };

interface CallError {
  name: string;
  message: string;
  $metadata?: { httpStatusCode?: number };
}

const failure = (p: Promise<unknown>): Promise<CallError> =>
  p.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (err: CallError) => err,
  );

/** Aurora's limits on results and transactions, enforced by the emulator (each test fails if its limit is dropped). */
describe('Data API emulator: Aurora limits', () => {
  let db: TestDatabase;
  let client: RDSDataClient;
  /** A second emulator on the same database whose statement timeout is short, for continueAfterTimeout. */
  let quick: DataApiEmulator;
  let quickClient: RDSDataClient;
  const execute = (sql: string, input: Partial<ExecuteStatementCommandInput> = {}, via: RDSDataClient = client) =>
    via.send(new ExecuteStatementCommand({ ...arns, database: db.name, sql, ...input }));
  const begin = async (via: RDSDataClient = client): Promise<string> =>
    (await via.send(new BeginTransactionCommand({ ...arns, database: db.name }))).transactionId!;
  const newClient = (url: string) =>
    new RDSDataClient({ endpoint: url, region: 'us-east-1', credentials: LOCAL_AWS.credentials, maxAttempts: 1 });

  beforeAll(async () => {
    db = await createTestDatabase('emulator_limits', { statementTimeoutMs: 60_000 });
    client = newClient(db.emulator.url);
    quick = await startDataApiEmulator({ databaseUrl: db.url, statementTimeoutMs: 300 });
    quickClient = newClient(quick.url);
    await db.pg.query(`CREATE TABLE "Item" (id int8 PRIMARY KEY, note text)`);
    await db.pg.query(`INSERT INTO "Item" VALUES (1, 'one')`);
    await db.pg.query(`CREATE TYPE mood AS ENUM ('calm', 'busy')`);
    await db.pg.query(`CREATE DOMAIN cents AS int4 CHECK (VALUE >= 0)`);
    await db.pg.query(`CREATE DOMAIN label AS text`);
    await db.pg.query(`CREATE DOMAIN short_label AS label`);
    await db.pg.query(`CREATE DOMAIN span AS interval`);
    await db.pg.query(`CREATE TYPE pair AS (a int, b int)`);
  });
  afterAll(async () => {
    client.destroy();
    quickClient.destroy();
    await quick.close();
    await db.close();
  });

  describe('result types', () => {
    it.each([
      ['interval', `'1 day'::interval`, 'INTERVAL'],
      ['money', `12.5::money`, 'MONEY'],
      ['xml', `'<a/>'::xml`, 'XML'],
      ['bit', `B'101'`, 'BIT'],
      ['tsvector', `'a b'::tsvector`, 'TSVECTOR'],
      ['a range', `int4range(1, 5)`, 'INT4RANGE'],
      ['a record', `ROW(1, 'a')`, 'RECORD'],
      ['a composite type', `ROW(1, 2)::pair`, 'PAIR'],
      ['"char"', `'r'::"char"`, 'CHAR'],
      ['regclass', `'pg_class'::regclass`, 'REGCLASS'],
      ['oid', `1::oid`, 'OID'],
      ['void', `pg_sleep(0)`, 'VOID'],
      ['point', `point(1, 2)`, 'POINT'],
      ['interval[]', `ARRAY['1 day'::interval]`, '_INTERVAL'],
      ['jsonb[]', `ARRAY['{}'::jsonb]`, '_JSONB'],
      ['an enum array', `ARRAY['calm'::mood]`, '_MOOD'],
      ['a domain over interval (described by its base type)', `'1 day'::span`, 'INTERVAL'],
    ])('refuses %s with UnsupportedResultException (400)', async (_what, expression, typeName) => {
      const err = await failure(execute(`SELECT 1 AS ok, ${expression} AS v`));
      expect(err).toMatchObject({
        name: 'UnsupportedResultException',
        message: `The result contains the unsupported data type ${typeName}.`,
        $metadata: { httpStatusCode: 400 },
      });
    });

    it('returns the same values cast to text', async () => {
      const out = await execute(`SELECT '1 day'::interval::text AS a, 'r'::"char"::text AS b, 'pg_class'::regclass::text AS c, 1::oid::int8 AS d`);
      expect(out.records).toEqual([[{ stringValue: '1 day' }, { stringValue: 'r' }, { stringValue: 'pg_class' }, { longValue: 1 }]]);
    });

    it('returns enums as text and domains as their base type, a domain over a domain too', async () => {
      const out = await execute(`SELECT 'busy'::mood AS m, 42::cents AS c, 'x'::label AS l, 'y'::short_label AS s`, { includeResultMetadata: true });
      expect(out.records).toEqual([[{ stringValue: 'busy' }, { longValue: 42 }, { stringValue: 'x' }, { stringValue: 'y' }]]);
      expect(out.columnMetadata?.map((c) => c.typeName)).toEqual(['mood', 'int4', 'text', 'text']);
    });

    it('refuses a multidimensional array, of a supported type too', async () => {
      const err = await failure(execute(`SELECT ARRAY[[1, 2], [3, 4]]::int4[] AS v`));
      expect(err).toMatchObject({ name: 'UnsupportedResultException', $metadata: { httpStatusCode: 400 } });
      expect(err.message).toMatch(/multidimensional array/);
      expect((await execute(`SELECT ARRAY[1, 2]::int4[] AS v`)).records).toEqual([[{ arrayValue: { longValues: [1, 2] } }]]);
    });

    it('refuses an unsupported type even when the result has no rows', async () => {
      const err = await failure(execute(`SELECT '1 day'::interval AS v WHERE false`));
      expect(err.name).toBe('UnsupportedResultException');
    });
  });

  describe('64 KB per row', () => {
    it('refuses a row over 64 KB, counting every column of the row', async () => {
      expect((await execute(`SELECT length(repeat('x', 65536)) AS n`)).records).toEqual([[{ longValue: 65536 }]]);
      expect((await execute(`SELECT repeat('x', 65536) AS v`)).records?.[0]?.[0]?.stringValue).toHaveLength(65536);
      const one = await failure(execute(`SELECT repeat('x', 65537) AS v`));
      expect(one).toMatchObject({ name: 'UnsupportedResultException', $metadata: { httpStatusCode: 400 } });
      expect(one.message).toMatch(/row of 65537 bytes/);
      const two = await failure(execute(`SELECT repeat('x', 40000) AS a, repeat('y', 40000) AS b`));
      expect(two.name).toBe('UnsupportedResultException');
    });

    it('counts bytea as its bytes, text as its UTF-8 bytes', async () => {
      const blob = await execute(`SELECT decode(repeat('ab', 60000), 'hex') AS v`);
      expect(blob.records?.[0]?.[0]?.blobValue).toHaveLength(60000);
      const err = await failure(execute(`SELECT repeat('é', 40000) AS v`));
      expect(err.message).toMatch(/row of 80000 bytes/);
    });

    it('refuses one large row among small ones', async () => {
      const err = await failure(execute(`SELECT CASE WHEN i = 3 THEN repeat('x', 70000) ELSE 'small' END AS v FROM generate_series(1, 5) i`));
      expect(err.name).toBe('UnsupportedResultException');
    });
  });

  describe('transactions', () => {
    it.each(['Execute', 'Commit', 'Rollback'] as const)('answers TransactionNotFoundException (404) to %s with an unknown id', async (call) => {
      const transactionId = 'bm90IGEgdHJhbnNhY3Rpb24=';
      const send =
        call === 'Execute'
          ? execute('SELECT 1', { transactionId })
          : call === 'Commit'
            ? client.send(new CommitTransactionCommand({ ...arns, transactionId }))
            : client.send(new RollbackTransactionCommand({ ...arns, transactionId }));
      expect(await failure(send)).toMatchObject({ name: 'TransactionNotFoundException', $metadata: { httpStatusCode: 404 } });
    });

    it('answers TransactionNotFoundException once a transaction is committed', async () => {
      const transactionId = await begin();
      await client.send(new CommitTransactionCommand({ ...arns, transactionId }));
      expect(await failure(execute('SELECT 1', { transactionId }))).toMatchObject({ name: 'TransactionNotFoundException' });
    });

    describe('a transaction still running a statement', () => {
      let locker: pg.PoolClient;
      /** Holds the row lock of item 1 on the test's own connection, so a statement on the row waits. */
      const lockItem = async () => {
        locker = await db.pg.connect();
        await locker.query('BEGIN');
        await locker.query('SELECT 1 FROM "Item" WHERE id = 1 FOR UPDATE');
      };
      const unlockItem = async () => {
        await locker.query('COMMIT');
        locker.release();
      };
      /** Waits (bounded) until a session of this database waits for a lock. */
      const waitingOnLock = async () => {
        for (let i = 0; i < 200; i += 1) {
          const { rowCount } = await db.pg.query(`SELECT 1 FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock'`, [db.name]);
          if (rowCount) return;
          await new Promise((r) => setTimeout(r, 25));
        }
        throw new Error('no session started waiting for the lock');
      };

      it('refuses another call while a call is in flight, and serves it once the statement ended', async () => {
        // Prepare
        await lockItem();
        const transactionId = await begin();
        const first = execute(`UPDATE "Item" SET note = 'tx' WHERE id = 1`, { transactionId });
        await waitingOnLock();

        // Act
        const second = await failure(execute('SELECT 1 AS n', { transactionId }));
        const commit = await failure(client.send(new CommitTransactionCommand({ ...arns, transactionId })));
        await unlockItem();

        // Assess
        expect(second).toMatchObject({ name: 'BadRequestException', $metadata: { httpStatusCode: 400 } });
        expect(second.message).toMatch(/still running a statement/);
        expect(commit.name).toBe('BadRequestException');
        expect((await first).numberOfRecordsUpdated).toBe(1);
        expect((await execute('SELECT 1 AS n', { transactionId })).records).toEqual([[{ longValue: 1 }]]);
        await client.send(new CommitTransactionCommand({ ...arns, transactionId }));
        expect((await db.pg.query(`SELECT note FROM "Item" WHERE id = 1`)).rows[0].note).toBe('tx');
      });

      it('refuses calls while a statement left running by continueAfterTimeout has not finished', async () => {
        // Prepare
        await lockItem();
        const transactionId = await begin(quickClient);

        // Act: the call answers StatementTimeoutException after 300 ms; the UPDATE still waits for the lock.
        const timedOut = await failure(
          execute(`UPDATE "Item" SET note = 'late' WHERE id = 1`, { transactionId, continueAfterTimeout: true }, quickClient),
        );
        const busy = await failure(execute('SELECT 1 AS n', { transactionId }, quickClient));
        const rollback = await failure(quickClient.send(new RollbackTransactionCommand({ ...arns, transactionId })));
        await unlockItem();

        // Assess
        expect(timedOut.name).toBe('StatementTimeoutException');
        expect(busy).toMatchObject({ name: 'BadRequestException' });
        expect(busy.message).toMatch(/still running a statement/);
        expect(rollback.name).toBe('BadRequestException');
        // Once the UPDATE has finished, the transaction takes calls again (bounded wait for the emulator to see it end).
        let answer: CallError | undefined;
        for (let i = 0; i < 200; i += 1) {
          answer = await execute('SELECT note FROM "Item" WHERE id = 1', { transactionId }, quickClient).then(
            () => undefined,
            (err: CallError) => err,
          );
          if (!answer) break;
          await new Promise((r) => setTimeout(r, 25));
        }
        expect(answer).toBeUndefined();
        await quickClient.send(new RollbackTransactionCommand({ ...arns, transactionId }));
        expect((await db.pg.query(`SELECT note FROM "Item" WHERE id = 1`)).rows[0].note).not.toBe('late');
      });
    });
  });

  it('answers a plain statement timeout in a transaction once the statement was cancelled: the rollback is served', async () => {
    // Prepare: the session's own timeout cancels the statement only after the emulator's call timeout (300 ms) passed.
    const transactionId = await begin(quickClient);
    await execute(`SET LOCAL statement_timeout = '1000ms'`, { transactionId }, quickClient);

    // Act
    const timedOut = await failure(execute('SELECT pg_sleep(3)', { transactionId }, quickClient));
    const rollback = await quickClient.send(new RollbackTransactionCommand({ ...arns, transactionId }));

    // Assess
    expect(timedOut.name).toBe('StatementTimeoutException');
    expect(rollback.transactionStatus).toBe('Rollback Complete');
  });

  describe('NULL parameters', () => {
    it('binds isNull untyped, as Aurora does: SQL that gives the NULL no type fails, a cast fixes it', async () => {
      const parameters = [{ name: 'x', value: { isNull: true } }];
      const err = await failure(execute('SELECT :x IS NULL AS n', { parameters }));
      expect(err.name).toBe('DatabaseErrorException');
      expect(err.message).toMatch(/SQLState: 42P18/);
      expect((await execute('SELECT (:x)::int IS NULL AS n', { parameters })).records).toEqual([[{ booleanValue: true }]]);
    });

    it('binds each use of a NULL parameter on its own: a use that gives it no type fails even if another does', async () => {
      await db.pg.query(`INSERT INTO "Item" VALUES (2, NULL) ON CONFLICT DO NOTHING`);
      const parameters = [{ name: 'note', value: { isNull: true } }];
      const err = await failure(execute('SELECT id FROM "Item" WHERE :note IS NULL OR note = :note', { parameters }));
      expect(err.message).toMatch(/SQLState: 42P18/);
      const out = await execute('SELECT count(*) AS n FROM "Item" WHERE (:note)::text IS NULL OR note = :note', { parameters });
      expect(out.records).toEqual([[{ longValue: 2 }]]);
    });

    it('binds longValue as bigint: ntile(:n) needs a cast', async () => {
      const parameters = [{ name: 'n', value: { longValue: 2 } }];
      const err = await failure(execute('SELECT ntile(:n) OVER () AS t FROM generate_series(1, 2)', { parameters }));
      expect(err.message).toMatch(/SQLState: 42883/);
      const out = await execute('SELECT ntile((:n)::int) OVER (ORDER BY i) AS t FROM generate_series(1, 2) i', { parameters });
      expect(out.records).toEqual([[{ longValue: 1 }], [{ longValue: 2 }]]);
    });
  });
});
