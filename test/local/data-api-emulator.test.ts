import {
  BatchExecuteStatementCommand,
  BeginTransactionCommand,
  CommitTransactionCommand,
  ExecuteStatementCommand,
  type ExecuteStatementCommandInput,
  RDSDataClient,
  RollbackTransactionCommand,
} from '@aws-sdk/client-rds-data';
import { LOCAL_AWS } from '../../lib/local/local-data-api';
import { bindNamedParameters } from '../../lib/local/data-api-emulator';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database';

const arns = { resourceArn: LOCAL_AWS.clusterArn, secretArn: LOCAL_AWS.secretArn };

describe('Data API emulator', () => {
  let db: TestDatabase;
  let client: RDSDataClient;
  const execute = (sql: string, input: Partial<ExecuteStatementCommandInput> = {}) =>
    client.send(new ExecuteStatementCommand({ ...arns, database: db.name, sql, ...input }));
  const failure = (p: Promise<unknown>) =>
    p.then(
      () => {
        throw new Error('expected the call to fail');
      },
      (err: { name: string; message: string; $metadata?: { httpStatusCode?: number } }) => err,
    );

  beforeAll(async () => {
    db = await createTestDatabase('emulator', { statementTimeoutMs: 500, transactionIdleMs: 300 });
    // The real SDK client, without its own retries, so each injected fault is seen exactly once.
    client = new RDSDataClient({ endpoint: db.emulator.url, region: 'us-east-1', credentials: LOCAL_AWS.credentials, maxAttempts: 1 });
    await db.pg.query(`CREATE TABLE "Product" (id int8 PRIMARY KEY, name text NOT NULL, price numeric(10,2))`);
  });
  afterAll(async () => {
    client.destroy();
    await db.close();
  });
  afterEach(() => db.emulator.faults.clear());

  describe('ExecuteStatement', () => {
    it('returns each type as Aurora does (numeric as stringValue)', async () => {
      const out = await execute(
        `SELECT 1::int2 AS a, 2::int4 AS b, 9007199254740991::int8 AS c, 1.5::float8 AS d, 12.34::numeric AS e,
                true AS f, 'x'::text AS g, NULL::text AS h, '\\x0102'::bytea AS i, ARRAY[1,2]::int4[] AS j,
                ARRAY['a','b c'] AS k, '2024-01-02'::date AS l, '2024-01-02 03:04:05'::timestamp AS m,
                '00000000-0000-0000-0000-000000000001'::uuid AS n, '{"a":1}'::jsonb AS o`,
        { includeResultMetadata: true },
      );
      expect(out.records?.[0]).toEqual([
        { longValue: 1 },
        { longValue: 2 },
        { longValue: 9007199254740991 },
        { doubleValue: 1.5 },
        { stringValue: '12.34' },
        { booleanValue: true },
        { stringValue: 'x' },
        { isNull: true },
        { blobValue: new Uint8Array([1, 2]) },
        { arrayValue: { longValues: [1, 2] } },
        { arrayValue: { stringValues: ['a', 'b c'] } },
        { stringValue: '2024-01-02' },
        { stringValue: '2024-01-02 03:04:05' },
        { stringValue: '00000000-0000-0000-0000-000000000001' },
        { stringValue: '{"a": 1}' },
      ]);
      expect(out.columnMetadata?.map((c) => [c.label, c.typeName])).toEqual(
        expect.arrayContaining([['a', 'int2'], ['c', 'int8'], ['e', 'numeric'], ['j', '_int4'], ['o', 'jsonb']]),
      );
    });

    it('binds named parameters like Aurora and leaves casts, strings and comments alone', async () => {
      await db.pg.query(`INSERT INTO "Product" VALUES (1, 'lamp', 10.05), (2, 'desk', NULL)`);
      const out = await execute(
        `SELECT id, name, ':not_a_param' AS s /* :nor_this */ FROM "Product" WHERE id >= :min::int8 AND price IS NOT DISTINCT FROM :price ORDER BY id -- :x`,
        {
          parameters: [
            { name: 'min', value: { stringValue: '1' } },
            { name: 'price', value: { stringValue: '10.05' }, typeHint: 'DECIMAL' },
          ],
          includeResultMetadata: true,
        },
      );
      expect(out.records).toEqual([[{ longValue: 1 }, { stringValue: 'lamp' }, { stringValue: ':not_a_param' }]]);
      expect(out.columnMetadata?.[1]).toMatchObject({ name: 'name', tableName: 'Product', nullable: 0 });
    });

    it('binds a string as text: comparing it with a number needs a cast', async () => {
      const err = await failure(execute('SELECT 1 WHERE 1 = :n', { parameters: [{ name: 'n', value: { stringValue: '1' } }] }));
      expect(err.name).toBe('DatabaseErrorException');
      expect(err.message).toMatch(/operator does not exist: integer = text.*SQLState: 42883/s);
    });

    it('counts updated rows and formats records as JSON on request', async () => {
      const upd = await execute(`UPDATE "Product" SET name = upper(name) WHERE id = :id`, {
        parameters: [{ name: 'id', value: { longValue: 1 } }],
      });
      expect(upd.numberOfRecordsUpdated).toBe(1);
      const out = await execute(`SELECT id, name, price FROM "Product" ORDER BY id`, { formatRecordsAs: 'JSON' });
      expect(out.records).toBeUndefined();
      expect(JSON.parse(out.formattedRecords ?? '')).toEqual([
        { id: 1, name: 'LAMP', price: '10.05' },
        { id: 2, name: 'desk', price: null },
      ]);
    });

    it('refuses several statements in one call', async () => {
      const err = await failure(execute('SELECT 1; SELECT 2'));
      expect(err).toMatchObject({ name: 'BadRequestException', message: "Multistatements aren't supported." });
    });

    it('answers SQL errors with DatabaseErrorException carrying the SQLState', async () => {
      const err = await failure(execute(`INSERT INTO "Product" VALUES (1, 'dup', 1)`));
      expect(err.name).toBe('DatabaseErrorException');
      expect(err.message).toMatch(/^ERROR: duplicate key value violates unique constraint "Product_pkey"/);
      expect(err.message).toMatch(/; SQLState: 23505$/);
    });

    it('refuses a call without sql, and array parameters', async () => {
      expect(await failure(execute(undefined as unknown as string))).toMatchObject({ name: 'BadRequestException' });
      const err = await failure(execute('SELECT :a', { parameters: [{ name: 'a', value: { arrayValue: { longValues: [1] } } }] }));
      expect(err).toMatchObject({ name: 'BadRequestException', message: 'Array parameters are not supported.' });
    });

    it('cancels a statement that runs past the timeout', async () => {
      const err = await failure(execute('SELECT pg_sleep(30)'));
      expect(err.name).toBe('StatementTimeoutException');
      const { rows } = await db.pg.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(30)' AND state = 'active'`);
      expect(rows[0].n).toBe(0);
      expect((await execute('SELECT 1')).records).toEqual([[{ longValue: 1 }]]);
    });

    it('refuses a response over 1 MiB', async () => {
      const err = await failure(execute(`SELECT repeat('x', 1000) FROM generate_series(1, 1100)`));
      expect(err).toMatchObject({ name: 'BadRequestException', message: 'Database returned more than the allowed response size limit' });
    });
  });

  describe('transactions', () => {
    it('commits', async () => {
      const { transactionId } = await client.send(new BeginTransactionCommand({ ...arns, database: db.name }));
      await execute(`INSERT INTO "Product" VALUES (10, 'tx', 1)`, { transactionId });
      const outside = await db.pg.query('SELECT 1 FROM "Product" WHERE id = 10');
      expect(outside.rowCount).toBe(0);
      const done = await client.send(new CommitTransactionCommand({ ...arns, transactionId }));
      expect(done.transactionStatus).toBe('Transaction Committed');
      expect((await db.pg.query('SELECT 1 FROM "Product" WHERE id = 10')).rowCount).toBe(1);
    });

    it('rolls back', async () => {
      const { transactionId } = await client.send(new BeginTransactionCommand({ ...arns, database: db.name }));
      await execute(`INSERT INTO "Product" VALUES (11, 'tx', 1)`, { transactionId });
      const done = await client.send(new RollbackTransactionCommand({ ...arns, transactionId }));
      expect(done.transactionStatus).toBe('Rollback Complete');
      expect((await db.pg.query('SELECT 1 FROM "Product" WHERE id = 11')).rowCount).toBe(0);
    });

    it('answers TransactionNotFoundException (404) for an unknown transaction', async () => {
      const err = await failure(client.send(new CommitTransactionCommand({ ...arns, transactionId: 'nope' })));
      expect(err).toMatchObject({ name: 'TransactionNotFoundException', message: 'Transaction nope is not found', $metadata: { httpStatusCode: 404 } });
    });

    it('refuses to commit a transaction that failed', async () => {
      const { transactionId } = await client.send(new BeginTransactionCommand({ ...arns, database: db.name }));
      await failure(execute('SELECT 1/0', { transactionId }));
      const err = await failure(client.send(new CommitTransactionCommand({ ...arns, transactionId })));
      expect(err.message).toMatch(/SQLState: 25P02/);
    });

    it('rolls back and forgets an idle transaction', async () => {
      const { transactionId } = await client.send(new BeginTransactionCommand({ ...arns, database: db.name }));
      await execute(`INSERT INTO "Product" VALUES (12, 'idle', 1)`, { transactionId });
      // Prepare: wait until the emulator has ended the idle session (transactionIdleMs is 300 ms here).
      const idleSessions = async () =>
        (await db.pg.query(`SELECT 1 FROM pg_stat_activity WHERE datname = $1 AND state LIKE 'idle in transaction%'`, [db.name])).rowCount;
      for (let i = 0; i < 100 && (await idleSessions()) !== 0; i += 1) await new Promise((r) => setTimeout(r, 50));
      // Act
      const err = await failure(execute('SELECT 1', { transactionId }));
      // Assess
      expect(err).toMatchObject({ name: 'TransactionNotFoundException', message: `Transaction ${transactionId} is not found` });
      expect((await db.pg.query('SELECT 1 FROM "Product" WHERE id = 12')).rowCount).toBe(0);
    });
  });

  describe('BatchExecuteStatement', () => {
    it('runs the statement once per parameter set', async () => {
      const out = await client.send(
        new BatchExecuteStatementCommand({
          ...arns,
          database: db.name,
          sql: `INSERT INTO "Product" (id, name) VALUES (:id, :name)`,
          parameterSets: [20, 21, 22].map((id) => [
            { name: 'id', value: { longValue: id } },
            { name: 'name', value: { stringValue: `p${id}` } },
          ]),
        }),
      );
      expect(out.updateResults).toHaveLength(3);
      expect((await db.pg.query('SELECT 1 FROM "Product" WHERE id BETWEEN 20 AND 22')).rowCount).toBe(3);
    });
  });

  describe('fault injection', () => {
    it.each([
      ['DatabaseResumingException', 400],
      ['StatementTimeoutException', 400],
      ['ServiceUnavailableError', 503],
    ] as const)('answers %s the given number of times', async (error, status) => {
      db.emulator.faults.inject({ operation: 'Execute', sqlMatch: /FAULT/, times: 1, error });
      const err = await failure(execute('SELECT 1 AS "FAULT"'));
      expect(err.name).toBe(error);
      expect(err.$metadata?.httpStatusCode).toBe(status);
      expect((await execute('SELECT 1 AS "FAULT"')).records).toEqual([[{ longValue: 1 }]]);
    });

    it('resets the connection', async () => {
      db.emulator.faults.inject({ times: 1, error: 'ConnectionReset' });
      const err = await failure(execute('SELECT 1'));
      expect(`${err.name} ${err.message} ${String((err as { code?: string }).code)}`).toMatch(/ECONNRESET|socket hang up/);
      expect(db.emulator.faults.pending()).toBe(0);
    });
  });
});

describe('bindNamedParameters', () => {
  it('maps each occurrence of a name to its own placeholder, skipping literals', () => {
    const sql = `SELECT :a, :b, :a, 'it''s :no', E'\\' :no', "col:no", $$ :no $$, $t$ :no $t$, x::int /* :no /* :no */ */ -- :no\n, :c`;
    const out = bindNamedParameters(sql, [
      { name: 'a', value: { longValue: 1 } },
      { name: 'b', value: { booleanValue: true } },
      { name: 'c', value: { isNull: true } },
    ]);
    expect(out.text).toBe(
      `SELECT $1::int8, $2::bool, $3::int8, 'it''s :no', E'\\' :no', "col:no", $$ :no $$, $t$ :no $t$, x::int /* :no /* :no */ */ -- :no\n, $4`,
    );
    expect(out.values).toEqual(['1', true, '1', null]);
  });
});
