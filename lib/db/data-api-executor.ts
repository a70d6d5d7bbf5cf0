import {
  type ArrayValue,
  BeginTransactionCommand,
  CommitTransactionCommand,
  ExecuteStatementCommand,
  type ExecuteStatementCommandOutput,
  type Field,
  type RDSDataClient,
  RollbackTransactionCommand,
  type SqlParameter,
} from '@aws-sdk/client-rds-data';
import { LockTimeoutError, StepwiseError } from '../errors';
import type { Executor, QueryOptions, QueryResult, Row, SqlParams, SqlValue, TransactionOptions } from './executor';
import { isTransientDataApiError, mapDataApiError } from './map-data-api-error';

/** Backoff of the executor's retries (transient Data API errors, lock timeouts). */
export interface RetryOptions {
  /** Tries of one call on transient errors (outside transactions). @default 5 */
  readonly maxAttempts?: number;
  /** @default 100 */
  readonly baseDelayMs?: number;
  /** @default 5000 */
  readonly maxDelayMs?: number;
  /** Replaceable for tests. @default setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
}

export interface DataApiExecutorOptions {
  readonly client: RDSDataClient;
  /** The Aurora cluster ARN (`resourceArn`). */
  readonly resourceArn: string;
  readonly secretArn: string;
  readonly database: string;
  readonly retry?: RetryOptions;
}

/** Default number of retries of a transaction that hit `lock_timeout`. */
export const DEFAULT_LOCK_RETRIES = 5;

/**
 * `idle_in_transaction_session_timeout` of every transaction Stepwise opens: a caller that dies between two calls
 * (a Lambda killed by its timeout, out of memory, a lost network) leaves its session idle in the transaction, and
 * Postgres ends that session, and so releases every lock it held (ACCESS EXCLUSIVE included), after this long instead
 * of the Data API's 3 minutes. A live caller sends its next statement within milliseconds.
 */
export const TRANSACTION_IDLE_TIMEOUT_MS = 5_000;

/**
 * The `Executor` over the RDS Data API: one `ExecuteStatement` per query, Data API transactions for `transaction()`.
 * Transient errors (resuming cluster, throttling, connection reset) are retried with jittered exponential backoff,
 * outside transactions only; lock timeouts (55P03) retry the whole transaction, then raise `LockTimeoutError`.
 * Locally the same class talks to the Data API emulator.
 *
 * @example
 * const db = new DataApiExecutor({ client: new RDSDataClient({}), resourceArn, secretArn, database: 'shop' });
 * const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM "Product" WHERE id > :after', { after: 0 });
 */
export class DataApiExecutor implements Executor {
  private readonly retry: Required<RetryOptions>;

  constructor(private readonly options: DataApiExecutorOptions) {
    this.retry = {
      maxAttempts: options.retry?.maxAttempts ?? 5,
      baseDelayMs: options.retry?.baseDelayMs ?? 100,
      maxDelayMs: options.retry?.maxDelayMs ?? 5_000,
      sleep: options.retry?.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))),
    };
  }

  /** Runs one statement in autocommit, retrying transient errors. */
  query<R extends Row = Row>(sql: string, params?: SqlParams, options: QueryOptions = {}): Promise<QueryResult<R>> {
    return this.run<R>(sql, params, undefined, options.continueAfterTimeout === true);
  }

  /** See `Executor.transaction`. */
  async transaction<T>(fn: (tx: Executor) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
    const lockTimeoutMs = options.lockTimeoutMs;
    const idleTimeoutMs = options.idleTimeoutMs ?? TRANSACTION_IDLE_TIMEOUT_MS;
    for (const [name, value] of [['lockTimeoutMs', lockTimeoutMs], ['idleTimeoutMs', idleTimeoutMs]] as const) {
      if (value !== undefined && (!Number.isInteger(value) || value <= 0)) {
        throw new StepwiseError('SW_INTERNAL', `${name} must be a positive integer, got ${value}`, 'Pass the timeout in whole milliseconds.');
      }
    }
    const retries = options.retries ?? DEFAULT_LOCK_RETRIES;
    for (let attempt = 0; ; attempt += 1) {
      try {
        return await this.runTransaction(fn, lockTimeoutMs, idleTimeoutMs);
      } catch (err) {
        if (!(err instanceof LockTimeoutError)) throw err;
        if (attempt >= retries) {
          throw new LockTimeoutError(
            `Could not take the lock within ${lockTimeoutMs ?? 'lock_timeout'} ms after ${attempt + 1} attempts`,
            { ...err.details, attempts: attempt + 1, lockTimeoutMs },
            { cause: err },
          );
        }
        await this.retry.sleep(this.backoff(attempt));
      }
    }
  }

  private async runTransaction<T>(fn: (tx: Executor) => Promise<T>, lockTimeoutMs: number | undefined, idleTimeoutMs: number): Promise<T> {
    const { client, resourceArn, secretArn, database } = this.options;
    const begin = await this.withRetry(() => client.send(new BeginTransactionCommand({ resourceArn, secretArn, database })));
    const transactionId = begin.transactionId;
    if (!transactionId) throw mapDataApiError(new Error('BeginTransaction returned no transactionId'));
    const tx: Executor = {
      query: <R extends Row = Row>(sql: string, params?: SqlParams) => this.run<R>(sql, params, transactionId),
      transaction: () => {
        throw new StepwiseError('SW_INTERNAL', 'Transactions cannot be nested',
          'Run the statements on the transaction executor you were given.');
      },
    };
    try {
      // Both timeouts in one call (one round trip before the first lock), transaction-local like SET LOCAL.
      await tx.query(transactionSettingsSql(lockTimeoutMs !== undefined), {
        idle: `${idleTimeoutMs}ms`,
        ...(lockTimeoutMs !== undefined ? { lock: `${lockTimeoutMs}ms` } : {}),
      });
      const result = await fn(tx);
      await client
        .send(new CommitTransactionCommand({ resourceArn, secretArn, transactionId }))
        .catch((err: unknown) => Promise.reject(mapDataApiError(err, { sql: 'COMMIT' })));
      return result;
    } catch (err) {
      await client.send(new RollbackTransactionCommand({ resourceArn, secretArn, transactionId })).catch(() => undefined);
      throw err;
    }
  }

  private async run<R extends Row>(sql: string, params: SqlParams | undefined, transactionId: string | undefined, continueAfterTimeout = false): Promise<QueryResult<R>> {
    const { client, resourceArn, secretArn, database } = this.options;
    const command = new ExecuteStatementCommand({
      resourceArn,
      secretArn,
      database,
      sql,
      parameters: toSqlParameters(params),
      transactionId,
      includeResultMetadata: true,
      ...(continueAfterTimeout ? { continueAfterTimeout: true } : {}),
    });
    const send = (): Promise<ExecuteStatementCommandOutput> => client.send(command);
    // Inside a transaction a failed call is never resent: it may have run, and the transaction decides. Nor is a call
    // that lets its statement run on: the statement may be running, and the caller watches it instead.
    const output = transactionId || continueAfterTimeout
      ? await send().catch((err: unknown) => Promise.reject(mapDataApiError(err, { sql })))
      : await this.withRetry(send, sql);
    return { rows: decodeRecords<R>(output), rowsAffected: output.numberOfRecordsUpdated ?? 0 };
  }

  private async withRetry<T>(call: () => Promise<T>, sql?: string): Promise<T> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await call();
      } catch (err) {
        if (!isTransientDataApiError(err) || attempt >= this.retry.maxAttempts) {
          throw mapDataApiError(err, { sql, attempts: attempt });
        }
        await this.retry.sleep(this.backoff(attempt - 1));
      }
    }
  }

  /** Full jitter: uniform in [0, min(cap, base · 2^attempt)]. */
  private backoff(attempt: number): number {
    return Math.floor(Math.random() * Math.min(this.retry.maxDelayMs, this.retry.baseDelayMs * 2 ** attempt));
  }
}

/** The first statement of every transaction: its idle timeout and, for DDL, its lock timeout. @internal */
export function transactionSettingsSql(withLockTimeout: boolean): string {
  const lock = withLockTimeout ? `, set_config('lock_timeout', :lock, true) AS lock_timeout` : '';
  return `SELECT set_config('idle_in_transaction_session_timeout', :idle, true) AS idle_timeout${lock}`;
}

/** Converts `SqlParams` to Data API parameters. @internal */
export function toSqlParameters(params: SqlParams | undefined): SqlParameter[] | undefined {
  if (!params) return undefined;
  return Object.entries(params).map(([name, value]) => ({ name, value: toField(value) }));
}

function toField(value: SqlValue | undefined): Field {
  if (value === null || value === undefined) return { isNull: true };
  if (typeof value === 'string') return { stringValue: value };
  if (typeof value === 'boolean') return { booleanValue: value };
  if (Number.isSafeInteger(value)) return { longValue: value };
  return { doubleValue: value };
}

/** Decodes `records` into objects keyed by column label. @internal */
export function decodeRecords<R extends Row>(output: Pick<ExecuteStatementCommandOutput, 'records' | 'columnMetadata'>): R[] {
  const labels = (output.columnMetadata ?? []).map((c, i) => c.label ?? c.name ?? `column${i + 1}`);
  return (output.records ?? []).map((record) => {
    const row: Row = {};
    record.forEach((field, i) => {
      row[labels[i] ?? `column${i + 1}`] = decodeField(field);
    });
    return row as R;
  });
}

/** One `Field` as a `SqlValue`: blobs as base64, arrays as JSON text. @internal */
export function decodeField(field: Field): SqlValue {
  if (field.isNull) return null;
  if (field.stringValue !== undefined) return field.stringValue;
  if (field.longValue !== undefined) return field.longValue;
  if (field.doubleValue !== undefined) return field.doubleValue;
  if (field.booleanValue !== undefined) return field.booleanValue;
  if (field.blobValue !== undefined) return Buffer.from(field.blobValue).toString('base64');
  if (field.arrayValue !== undefined) return JSON.stringify(arrayElements(field.arrayValue));
  return null;
}

function arrayElements(a: ArrayValue | null): unknown[] {
  if (!a) return [];
  return a.arrayValues?.map(arrayElements) ?? a.longValues ?? a.doubleValues ?? a.booleanValues ?? a.stringValues ?? [];
}
