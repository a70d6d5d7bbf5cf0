/**
 * The narrow interface through which every phase reaches the database. `DataApiExecutor` implements it over the
 * RDS Data API (on AWS and, pointed at the emulator, locally); `FakeExecutor` (test/helpers) serves unit tests.
 *
 * SQL uses Data API named parameters (`:name`). Cast a parameter where Postgres cannot infer its type
 * (`:cursor::bigint`): Aurora binds strings as text, and so does the emulator.
 */
export type SqlValue = string | number | boolean | null;
export type SqlParams = Readonly<Record<string, SqlValue>>;
export type Row = Record<string, SqlValue>;

/** A boolean column as the Data API or text casts deliver it (`true`, `'true'` or `'t'`). */
export function sqlTrue(value: unknown): boolean {
  return value === true || value === 'true' || value === 't';
}

/** A nullable numeric column (bigint arrives as text): null stays null. */
export function sqlNumberOrNull(value: unknown): number | null {
  return value === null || value === undefined ? null : Number(value);
}

export interface QueryResult<R extends Row = Row> {
  readonly rows: R[];
  /** Rows inserted, updated or deleted (Data API `numberOfRecordsUpdated`). */
  readonly rowsAffected: number;
}

export interface Executor {
  /** Runs one statement (autocommit, or inside the enclosing transaction). */
  query<R extends Row = Row>(sql: string, params?: SqlParams, options?: QueryOptions): Promise<QueryResult<R>>;
  /**
   * Runs `fn` in one transaction: committed when it resolves, rolled back when it throws. It always starts by setting
   * its own `idle_in_transaction_session_timeout` (`idleTimeoutMs`) and, with `lockTimeoutMs`, its `lock_timeout`,
   * both transaction-local, in one statement; and a lock timeout (SQLSTATE 55P03) is retried with jittered
   * backoff up to `retries` times before a `LockTimeoutError` is thrown.
   */
  transaction<T>(fn: (tx: Executor) => Promise<T>, options?: TransactionOptions): Promise<T>;
}

export interface QueryOptions {
  /**
   * Let the statement run on after the Data API's 45 s call limit (`continueAfterTimeout`): the call then fails with
   * a statement timeout (`isStatementTimeout`) while the statement goes on; the caller watches it in
   * pg_stat_activity (lib/phases/long-statement.ts). Such a call is never resent. Autocommit only.
   */
  readonly continueAfterTimeout?: boolean;
}

export interface TransactionOptions {
  readonly lockTimeoutMs?: number;
  /**
   * `idle_in_transaction_session_timeout` of the transaction: a caller that dies inside it leaves its locks held at
   * most this long. @default TRANSACTION_IDLE_TIMEOUT_MS (5 s)
   */
  readonly idleTimeoutMs?: number;
  /** @default 5 */
  readonly retries?: number;
}
