/**
 * Every failure Stepwise reports is a `StepwiseError`: a stable `code` (listed in docs/errors.md), a one-sentence
 * `hint` saying how to fix it, and `details` naming the objects involved. `name` is the class name, so Step Functions
 * `Retry`/`Catch` can match on it after a Lambda rethrows the error unchanged.
 */
export interface StepwiseErrorDetails {
  readonly [key: string]: unknown;
}

export class StepwiseError extends Error {
  readonly code: string;
  readonly hint: string;
  readonly details: StepwiseErrorDetails;
  /** True when running the same step again may succeed (lock timeout, transient Data API error). */
  readonly retryable: boolean;

  constructor(
    code: string,
    message: string,
    hint: string,
    details: StepwiseErrorDetails = {},
    options: ErrorOptions & { retryable?: boolean } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.hint = hint;
    this.details = details;
    this.retryable = options.retryable ?? false;
  }

  /** Message and hint together, as printed by the CLI and carried in a Step Functions `Cause`. */
  describe(): string {
    return `${this.code}: ${this.message}\n  fix: ${this.hint}`;
  }

  toJSON(): Record<string, unknown> {
    return { name: this.name, code: this.code, message: this.message, hint: this.hint, details: this.details };
  }
}

/** The spec file is unreadable, not JSON, or fails the schema. */
export class SpecError extends StepwiseError {
  constructor(message: string, hint: string, details: StepwiseErrorDetails = {}) {
    super('SW_SPEC_INVALID', message, hint, details);
  }
}

/** The target table, column or key does not fit the operation (checked by preflight before any change). */
export class PreflightError extends StepwiseError {}

/** Data in the table would not convert (NULLs under notNull, values overflowing the new type). */
export class DataCheckError extends StepwiseError {}

/** Verification found rows whose new column differs from the `using` expression. */
export class VerificationError extends StepwiseError {}

/** A DDL statement could not take its lock within `lock_timeout`; retried with backoff. */
export class LockTimeoutError extends StepwiseError {
  constructor(message: string, details: StepwiseErrorDetails = {}, options: ErrorOptions = {}) {
    super(
      'SW_LOCK_TIMEOUT',
      message,
      'A long-running transaction holds a lock on the table; end it (see pg_stat_activity) and the step retries.',
      details,
      { ...options, retryable: true },
    );
  }
}

/** The database call failed: SQL error, Data API error or connection problem. */
export class DatabaseError extends StepwiseError {}

/** Configuration (environment, CLI flags, CDK context) is missing or malformed. */
export class ConfigError extends StepwiseError {
  constructor(message: string, hint: string, details: StepwiseErrorDetails = {}) {
    super('SW_CONFIG', message, hint, details);
  }
}

/** Another migration holds the table, or this one is already running. */
export class MigrationLockedError extends StepwiseError {}

/** Wraps anything thrown into a StepwiseError, keeping the original as `cause`. */
export function asStepwiseError(err: unknown): StepwiseError {
  if (err instanceof StepwiseError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new StepwiseError('SW_INTERNAL', message, 'This is a bug in Stepwise or an unexpected failure; see the cause.', {}, { cause: err });
}

/**
 * A statement that may outlast the Data API's 45 s call limit (CREATE INDEX CONCURRENTLY, VALIDATE CONSTRAINT, the
 * backup copy) is still running on the database when this invocation's time is up. Not a failure: the task is retried
 * (`LONG_STATEMENT_RETRY`), and the next invocation waits for the same statement instead of starting it again.
 */
export class StatementRunningError extends StepwiseError {
  constructor(message: string, details: StepwiseErrorDetails = {}) {
    super('SW_STATEMENT_RUNNING', message, 'Nothing to do: the phase is retried and picks up the running statement. To stop it, roll the migration back (rollback cancels it).', details, { retryable: true });
  }
}

/**
 * A step's post-check failed (an index left invalid, a constraint not validated): the step's statements ran, but their
 * effect is not there. Retried by the state machine (`RETRYABLE_ERRORS`): every step is idempotent, and the retry
 * repairs what it can (an invalid index is dropped and rebuilt).
 */
export class StepCheckFailedError extends StepwiseError {
  constructor(message: string, hint: string, details: StepwiseErrorDetails = {}) {
    super('SW_STEP_CHECK_FAILED', message, hint, details, { retryable: true });
  }
}

/**
 * Rollback could not take the lock it needs within its lock_timeout budget (a session holds a conflicting lock on the
 * table). It gave up at once instead of retrying for minutes: nothing was dropped, the migration is left resumable
 * (its phase restored), and the message names the blocking sessions. Not retried by the state machine.
 */
export class RollbackBlockedError extends StepwiseError {
  constructor(message: string, hint: string, details: StepwiseErrorDetails = {}, options: ErrorOptions = {}) {
    super('SW_ROLLBACK_BLOCKED', message, hint, details, options);
    // Literal: Step Functions and the report match on it, and a minified bundle renames classes.
    this.name = 'RollbackBlockedError';
  }
}
