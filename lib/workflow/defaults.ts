import * as path from 'node:path';
import { Duration } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';

/**
 * Defaults of the workflow construct. Each value is documented once, here; the props that override them say
 * `@default` with the same value. Nothing in this file creates a resource.
 */

/** Folder holding `lambdas/<phase>.ts`, relative to this file: the repository's `lambdas/`. */
export const DEFAULT_LAMBDA_ENTRY_DIR = path.join(__dirname, '..', '..', 'lambdas');

/**
 * Longest time one backfill invocation runs batches. The spec caps `backfill.maxSecondsPerInvocation` at 40, so 40
 * covers every valid spec; the backfill Lambda gets this plus {@link BACKFILL_TIMEOUT_MARGIN}.
 */
export const DEFAULT_BACKFILL_MAX_SECONDS = 40;

/** Headroom between the backfill time box and the Lambda timeout (last batch, progress write, cold start). */
export const BACKFILL_TIMEOUT_MARGIN = Duration.seconds(30);

/** A gate unanswered this long publishes a reminder. */
export const DEFAULT_APPROVAL_REMINDER = Duration.days(1);

/** How long an approval gate waits for `stepwise approve|reject`; on timeout the migration rolls back. */
export const DEFAULT_APPROVAL_TIMEOUT = Duration.days(7);

/**
 * Backstop for the whole execution. It must outlast every gate plus the soak (7 days by default) plus the backfill:
 * 4 gates x 7 days + 7 days soak = 35 days before any backfill time, so 30 days would kill a healthy migration.
 * An execution timeout skips every Catch (no rollback, no notification), so it is deliberately generous.
 */
export const DEFAULT_EXECUTION_TIMEOUT = Duration.days(90);

/** Standard workflows run at most one year. */
export const MAX_EXECUTION_TIMEOUT = Duration.days(365);

/** Approval gates an execution passes when the spec asks for application dual-write (the longest path). */
export const MAX_GATES_PER_EXECUTION = 4;

/** Runtime of every phase function; bundles target the same Node major. */
export const PHASE_RUNTIME = lambda.Runtime.NODEJS_22_X;
/** esbuild target matching {@link PHASE_RUNTIME}. */
export const PHASE_BUNDLE_TARGET = 'node22';
/**
 * esbuild options of every phase bundle, used by the stack (`NodejsFunction` bundling) and by nothing else: the local
 * twin runs the bundles the stack synthesizes (lib/local/deployed-artifact.ts), so both ship the same code.
 * `keepNames` matters: minification renames classes, and the Lambda runtime reports `errorType = err.name`, so without
 * it `LockTimeoutError` would be a single letter on AWS and no Retry/Catch of the state machine would match.
 */
export const PHASE_BUNDLING = {
  minify: true,
  keepNames: true,
  sourceMap: true,
  target: PHASE_BUNDLE_TARGET,
  // Ship the SDK version the handlers were tested with (and the local twin runs), not the runtime's.
  bundleAwsSDK: true,
} as const;
/** Phase functions are I/O bound (Data API calls), so ARM64 and a small memory size are enough. */
export const PHASE_ARCHITECTURE = lambda.Architecture.ARM_64;
/** Memory of every phase function, in MiB. */
export const PHASE_MEMORY_MB = 256;
/**
 * Timeout of every phase function except backfill: room for one 45 s Data API call that starts a long statement
 * (CREATE INDEX CONCURRENTLY, VALIDATE, the backup copy) and for watching it (lib/phases/long-statement.ts).
 */
export const PHASE_TIMEOUT = Duration.seconds(120);
/** Retention of each phase function's log group. */
export const PHASE_LOG_RETENTION = logs.RetentionDays.ONE_MONTH;
/** `POWERTOOLS_SERVICE_NAME` of every phase function. */
export const POWERTOOLS_SERVICE_NAME = 'stepwise';

/** Added to a Lambda's timeout to get its task's `TimeoutSeconds` (invoke overhead, retries are per attempt). */
export const TASK_TIMEOUT_MARGIN = Duration.seconds(10);
/** `TimeoutSeconds` of a notification (SNS publish) task. */
export const NOTIFY_TIMEOUT = Duration.seconds(30);

/** Retention of the state machine's execution log group: an audit trail that outlives the execution. */
export const STATE_MACHINE_LOG_RETENTION = logs.RetentionDays.SIX_MONTHS;
/** Vended-logs prefix Step Functions requires for its log groups (resource policy size limits otherwise). */
export const STATE_MACHINE_LOG_PREFIX = '/aws/vendedlogs/states/';

/** Error names (the `name` of `StepwiseError` subclasses) a phase task retries. */
export const RETRYABLE_ERRORS: readonly string[] = [
  'LockTimeoutError',
  'DatabaseError',
  // A step's statements ran but their effect is missing (an index left invalid): the retry repairs it.
  'StepCheckFailedError',
  // A Lambda killed at its timeout (or a task past TimeoutSeconds): every phase is idempotent and the backfill resumes
  // from the cursor in the state table, so running it again is the right answer, not a rollback.
  'Sandbox.Timedout',
  'States.Timeout',
];

/**
 * Retry of any phase task whose long statement is still running (`StatementRunningError`, SW_STATEMENT_RUNNING): each
 * attempt watches it for up to 60 s, then waits 30 s. 2,000 attempts ≈ 2 days of CREATE INDEX CONCURRENTLY, at ~5
 * history events per attempt (10,000 of the execution's 25,000).
 */
export const LONG_STATEMENT_RETRY = { errors: ['StatementRunningError'], maxAttempts: 2000, backoffRate: 1, interval: Duration.seconds(30) } as const;

/** Retry of a forward phase task on {@link RETRYABLE_ERRORS}. */
export const PHASE_RETRY = { maxAttempts: 2, backoffRate: 2, interval: Duration.seconds(5) } as const;

/** Retry of the rollback task: it is the last line of defence, so it tries harder and waits longer. */
export const ROLLBACK_RETRY = { maxAttempts: 5, backoffRate: 2, interval: Duration.seconds(10) } as const;

/** Retry of a notification on any task failure (throttling, SNS or KMS hiccups). */
export const NOTIFY_RETRY = { maxAttempts: 2, backoffRate: 2, interval: Duration.seconds(2) } as const;

/** `TimeoutSeconds` of one RDS API call (CreateDBClusterSnapshot, DescribeDBClusterSnapshots). */
export const SNAPSHOT_CALL_TIMEOUT = Duration.seconds(60);
/** Pause between two snapshot status polls: Aurora snapshots are storage-level and usually take minutes. */
export const DEFAULT_SNAPSHOT_POLL_INTERVAL = Duration.seconds(60);
/**
 * Polls before a snapshot still `creating` counts as failed: 360 x 60 s = 6 hours. Each poll costs 4 state
 * transitions and ~9 history events, so the longest snapshot wait uses ~3,200 of the execution's 25,000 events.
 */
export const DEFAULT_SNAPSHOT_MAX_POLLS = 360;
/** Retry of CreateDBClusterSnapshot while the cluster is busy (another snapshot, an automated backup). */
export const SNAPSHOT_CREATE_RETRY = { maxAttempts: 6, backoffRate: 2, interval: Duration.seconds(30) } as const;
/** Retry of DescribeDBClusterSnapshots on throttling. */
export const SNAPSHOT_DESCRIBE_RETRY = { maxAttempts: 3, backoffRate: 2, interval: Duration.seconds(5) } as const;

/** Period of the alarm metrics (CloudWatch's standard resolution for Step Functions and Lambda metrics). */
export const ALARM_PERIOD = Duration.minutes(5);
/** How long the backfill may go without an invocation before the stall alarm fires. */
export const DEFAULT_BACKFILL_STALL_AFTER = Duration.minutes(15);
/** Window in which a backfill counts as "recently active" for the stall alarm. */
export const BACKFILL_ACTIVE_WINDOW = Duration.hours(1);
