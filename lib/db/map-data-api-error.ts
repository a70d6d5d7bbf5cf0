import { DatabaseError, LockTimeoutError, StepwiseError } from '../errors';

/** Code of every `DatabaseError` raised by the executor. */
export const DB_ERROR_CODE = 'SW_DB_ERROR';

/** SQLSTATE of `lock_not_available`: `lock_timeout` expired. */
export const LOCK_NOT_AVAILABLE = '55P03';

/** Data API error names (or Node socket error codes) worth retrying: the call never ran, or the service is waking. */
const TRANSIENT = new Set([
  'DatabaseResumingException',
  'ServiceUnavailableError',
  'ThrottlingException',
  'TooManyRequestsException',
  'InternalServerErrorException',
  'DatabaseUnavailableException',
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'TimeoutError',
]);

/** SQLSTATEs that mean "run it again": serialization failure, deadlock, too many connections. */
const RETRYABLE_SQLSTATES = new Set(['40001', '40P01', '53300', '57P01']);

const HINT_BY_SQLSTATE: Record<string, string> = {
  '23505': 'A row with the same key already exists; check the data or make the statement idempotent (ON CONFLICT).',
  '23502': 'A NULL reached a NOT NULL column; backfill or default the value first.',
  '23514': 'A row violates a CHECK constraint; find it with the verify phase before constraining.',
  '22003': 'A value overflows the target type; widen the type or fix the data (preflight reports such rows).',
  '42P01': 'The table does not exist in this database; check the spec\'s table and schema, and STEPWISE_DATABASE.',
  '42703': 'The column does not exist; check the spec\'s column names (identifiers are case-sensitive when quoted).',
  '42883': 'Postgres found no function or operator for these argument types; cast the parameter (`:name::bigint`): the Data API binds strings as text.',
  '42804': 'A value has the wrong type; cast the parameter (`:name::type`): the Data API binds strings as text.',
  '40001': 'The transaction conflicted with another one; run the step again.',
  '40P01': 'The transaction deadlocked with another one; run the step again.',
  '57014': 'The statement was cancelled; make batches smaller so each statement ends well within the timeout.',
};

/** Options of `mapDataApiError`. */
export interface MapErrorContext {
  /** The statement that failed, kept in `details` (never its parameters). */
  readonly sql?: string;
  /** Attempts made, for errors that were retried. */
  readonly attempts?: number;
}

/** Extracts the SQLSTATE from a Data API `DatabaseErrorException` message (`…; SQLState: 23505`). */
export function parseSqlState(message: string): string | undefined {
  return /SQLState: ([0-9A-Z]{5})/.exec(message)?.[1];
}

/** The Data API error name, or the Node socket error code, of anything the SDK throws. */
export function errorName(err: unknown): string {
  const e = err as { name?: string; code?: string; cause?: { code?: string } } | undefined;
  if (e?.code && /^E[A-Z]+$/.test(e.code)) return e.code;
  if (e?.cause?.code && /^E[A-Z]+$/.test(e.cause.code)) return e.cause.code;
  return e?.name ?? 'Error';
}

/** True when the same call may succeed if simply sent again (see `TRANSIENT`). */
export function isTransientDataApiError(err: unknown): boolean {
  return TRANSIENT.has(errorName(err)) || /socket hang up/i.test((err as Error)?.message ?? '');
}

/**
 * Turns an RDS Data API (SDK) error into a `StepwiseError`: a lock timeout (SQLSTATE 55P03) becomes
 * `LockTimeoutError`; everything else becomes `DatabaseError` (`SW_DB_ERROR`) with `details.sqlState` (when the
 * database answered), `details.errorName`, a hint, and `retryable` for transient failures. StepwiseErrors pass through.
 *
 * @example
 * mapDataApiError(new DatabaseErrorException({ message: 'ERROR: …; SQLState: 23505', $metadata: {} }))
 * // DatabaseError { code: 'SW_DB_ERROR', details: { sqlState: '23505', … } }
 */
export function mapDataApiError(err: unknown, context: MapErrorContext = {}): StepwiseError {
  if (err instanceof StepwiseError) return err;
  const name = errorName(err);
  const message = err instanceof Error ? err.message : String(err);
  const details: Record<string, unknown> = { errorName: name };
  if (context.sql !== undefined) details.sql = context.sql.length > 500 ? `${context.sql.slice(0, 500)}…` : context.sql;
  if (context.attempts !== undefined) details.attempts = context.attempts;

  if (name === 'DatabaseErrorException') {
    const sqlState = parseSqlState(message);
    details.sqlState = sqlState;
    if (sqlState === LOCK_NOT_AVAILABLE) {
      return new LockTimeoutError(`Lock not acquired within lock_timeout: ${message}`, details, { cause: err });
    }
    const hint = (sqlState && HINT_BY_SQLSTATE[sqlState]) ?? 'Read the database message; the statement is in `details.sql`.';
    return new DatabaseError(DB_ERROR_CODE, message, hint, details, {
      cause: err,
      retryable: sqlState !== undefined && RETRYABLE_SQLSTATES.has(sqlState),
    });
  }
  if (name === 'StatementTimeoutException') {
    return new DatabaseError(
      DB_ERROR_CODE,
      `Statement ran longer than the Data API allows (45 s): ${message}`,
      'Make batches smaller or the statement cheaper; the Data API cannot run one statement for longer than 45 s.',
      { ...details, statementTimeout: true },
      { cause: err },
    );
  }
  if (name === 'BadRequestException' && /Multistatements/.test(message)) {
    return new DatabaseError(DB_ERROR_CODE, message, 'Send one statement per call; the Data API refuses several.', details, {
      cause: err,
    });
  }
  if (name === 'UnsupportedResultException') {
    return new DatabaseError(DB_ERROR_CODE, `The Data API cannot return this result: ${message}`,
      'Cast the column to text (or a number) in the SQL: the Data API returns only its supported types, one-dimensional arrays and rows up to 64 KB.',
      details, { cause: err });
  }
  if (name === 'TransactionNotFoundException') {
    return new DatabaseError(DB_ERROR_CODE, `The Data API transaction is gone: ${message}`,
      'The transaction was idle for more than 3 minutes or already ended; run the step again (it is idempotent).',
      details, { cause: err });
  }
  if (isTransientDataApiError(err)) {
    return new DatabaseError(
      DB_ERROR_CODE,
      `The Data API is unavailable (${name}): ${message}`,
      'The database is resuming or the service is throttling; run the step again in a minute.',
      details,
      { cause: err, retryable: true },
    );
  }
  return new DatabaseError(
    DB_ERROR_CODE,
    `Data API call failed (${name}): ${message}`,
    'Check the cluster ARN, secret ARN, database name and IAM permissions of the caller.',
    details,
    { cause: err },
  );
}

/** True for the error of a call that passed the Data API's statement time limit (`StatementTimeoutException`). */
export function isStatementTimeout(err: unknown): boolean {
  return err instanceof StepwiseError && err.details.statementTimeout === true;
}
