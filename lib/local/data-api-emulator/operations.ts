import type pg from 'pg';
import { badRequest } from './emulator-error';
import { type ColumnFacts, toColumnMetadata, toField, toJsonValue } from './field-codec';
import { bindNamedParameters } from './named-parameters';
import { checkResultTypes, checkRowSize } from './result-types';
import type { PoolRegistry } from './pools';
import { runStatement } from './statement-runner';
import type { TransactionRegistry } from './transactions';
import type {
  WireBatchExecuteRequest,
  WireExecuteRequest,
  WireField,
  WireTransactionRequest,
} from './wire-types';

/** What the operations share: the pools, the open transactions and the limits. @internal */
export interface OperationContext {
  readonly pools: PoolRegistry;
  readonly transactions: TransactionRegistry;
  readonly statementTimeoutMs: number;
  /** `pg_type.oid` → `typname`, filled as result columns are described. */
  readonly typeNames: Map<number, string>;
}

const COUNTED_COMMANDS = new Set(['INSERT', 'UPDATE', 'DELETE', 'MERGE']);

/** `POST /Execute` (ExecuteStatement). */
export async function executeStatement(ctx: OperationContext, req: WireExecuteRequest): Promise<object> {
  const sql = requireMembers(req, ['resourceArn', 'secretArn', 'sql']).sql as string;
  const statement = bindNamedParameters(sql, req.parameters ?? []);
  const run = async (client: pg.PoolClient, onSettled?: () => void): Promise<object> => {
    const result = await runStatement(client, statement, {
      statementTimeoutMs: ctx.statementTimeoutMs,
      continueAfterTimeout: req.continueAfterTimeout ?? false,
      onSettled,
    });
    // Aurora's result limits: supported column types only, single-dimensional arrays, each row ≤ 64 KB.
    if (result.fields.length > 0) await checkResultTypes(client, result.fields);
    for (const row of result.rows) checkRowSize(row, result.fields);
    const records = result.rows.map((row) =>
      row.map((raw, i) => toField(raw, result.fields[i]?.dataTypeID ?? 0, req.resultSetOptions)),
    );
    const body: Record<string, unknown> = {
      numberOfRecordsUpdated: COUNTED_COMMANDS.has(result.command) ? (result.rowCount ?? 0) : 0,
      generatedFields: [],
    };
    if (req.formatRecordsAs === 'JSON') {
      body.formattedRecords = JSON.stringify(records.map((rec) => toRowObject(result.fields, rec)));
    } else if (result.fields.length > 0) {
      body.records = records;
    }
    if (req.includeResultMetadata) {
      const facts = await describeColumns(ctx, client, result.fields);
      body.columnMetadata = result.fields.map((f) => toColumnMetadata(f, facts));
    }
    return body;
  };
  // In a transaction, the transaction stays busy until the statement has really finished (continueAfterTimeout).
  if (req.transactionId) return ctx.transactions.use(req.transactionId, (client, hold) => run(client, hold()));
  const client = await ctx.pools.get(req.database).connect();
  let settle = (): void => undefined;
  const settled = new Promise<void>((resolve) => (settle = resolve));
  try {
    return await run(client, settle);
  } finally {
    // Back to the pool once the statement has finished on the server and the metadata lookup is done.
    void settled.then(() => client.release());
  }
}

/** `POST /BatchExecute` (BatchExecuteStatement): one statement per parameter set, all in one transaction. */
export async function batchExecuteStatement(ctx: OperationContext, req: WireBatchExecuteRequest): Promise<object> {
  const sql = requireMembers(req, ['resourceArn', 'secretArn', 'sql']).sql as string;
  const sets = req.parameterSets && req.parameterSets.length > 0 ? req.parameterSets : [[]];
  const runAll = async (client: pg.PoolClient): Promise<object> => {
    for (const set of sets) {
      await runStatement(client, bindNamedParameters(sql, set), { statementTimeoutMs: ctx.statementTimeoutMs });
    }
    return { updateResults: (req.parameterSets ?? []).map(() => ({ generatedFields: [] })) };
  };
  if (req.transactionId) return ctx.transactions.use(req.transactionId, runAll);
  const id = await ctx.transactions.begin(ctx.pools.get(req.database));
  try {
    const body = await ctx.transactions.use(id, runAll);
    await ctx.transactions.finish(id, 'COMMIT');
    return body;
  } catch (err) {
    await ctx.transactions.finish(id, 'ROLLBACK').catch(() => undefined);
    throw err;
  }
}

/** `POST /BeginTransaction`. */
export async function beginTransaction(ctx: OperationContext, req: WireTransactionRequest): Promise<object> {
  requireMembers(req, ['resourceArn', 'secretArn']);
  return { transactionId: await ctx.transactions.begin(ctx.pools.get(req.database)) };
}

/** `POST /CommitTransaction`. */
export async function commitTransaction(ctx: OperationContext, req: WireTransactionRequest): Promise<object> {
  const id = requireMembers(req, ['resourceArn', 'secretArn', 'transactionId']).transactionId as string;
  await ctx.transactions.finish(id, 'COMMIT');
  return { transactionStatus: 'Transaction Committed' };
}

/** `POST /RollbackTransaction`. */
export async function rollbackTransaction(ctx: OperationContext, req: WireTransactionRequest): Promise<object> {
  const id = requireMembers(req, ['resourceArn', 'secretArn', 'transactionId']).transactionId as string;
  await ctx.transactions.finish(id, 'ROLLBACK');
  return { transactionStatus: 'Rollback Complete' };
}

function requireMembers<T extends object>(req: T, members: readonly (keyof T & string)[]): T {
  const missing = members.filter((m) => typeof req[m] !== 'string' || req[m] === '');
  if (missing.length > 0) {
    const list = missing.map((m) => `Value null at '${m}' failed to satisfy constraint: Member must not be null`);
    throw badRequest(`${missing.length} validation error${missing.length > 1 ? 's' : ''} detected: ${list.join('; ')}`);
  }
  return req;
}

function toRowObject(fields: readonly pg.FieldDef[], record: readonly WireField[]): Record<string, unknown> {
  return Object.fromEntries(fields.map((f, i) => [f.name, toJsonValue(record[i] ?? { isNull: true })]));
}

/** Looks up type names (cached) and the table columns behind result columns (never cached: DDL changes them). */
async function describeColumns(ctx: OperationContext, client: pg.ClientBase, fields: readonly pg.FieldDef[]): Promise<ColumnFacts> {
  const unknownTypes = [...new Set(fields.map((f) => f.dataTypeID))].filter((oid) => !ctx.typeNames.has(oid));
  const typeNames = new Map(ctx.typeNames);
  if (unknownTypes.length > 0) {
    const { rows } = await client.query<{ oid: string; typname: string }>(
      'SELECT oid::int8::text AS oid, typname FROM pg_type WHERE oid = ANY($1::oid[])',
      [unknownTypes],
    );
    // Only built-in OIDs are cached: a type created in a database (an enum) has an OID of that database only.
    for (const r of rows) {
      typeNames.set(Number(r.oid), r.typname);
      if (Number(r.oid) < 16384) ctx.typeNames.set(Number(r.oid), r.typname);
    }
  }
  const columns = new Map<string, { tableName: string; schemaName: string; notNull: boolean }>();
  const fromTables = fields.filter((f) => f.tableID !== 0);
  if (fromTables.length > 0) {
    const { rows } = await client.query<{ rel: string; attnum: number; relname: string; nspname: string; attnotnull: boolean }>(
      `SELECT a.attrelid::int8::text AS rel, a.attnum, c.relname, n.nspname, a.attnotnull
         FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE (a.attrelid, a.attnum) IN (SELECT * FROM unnest($1::oid[], $2::int2[]))`,
      [fromTables.map((f) => f.tableID), fromTables.map((f) => f.columnID)],
    );
    for (const r of rows) {
      columns.set(`${r.rel}:${r.attnum}`, { tableName: r.relname, schemaName: r.nspname, notNull: r.attnotnull });
    }
  }
  return { typeNames, columns };
}
