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
 * Retry of a phase task whose long statement is still running (`StatementRunningError`, SW_STATEMENT_RUNNING), on the
 * phases that run one (backup, expand, constrain, contract, rollback): each attempt watches it for up to 60 s; the
 * pause grows from 30 s by x1.5 up to 10 min. 270 attempts cover 2 days of CREATE INDEX CONCURRENTLY (at most 10 min
 * late) for 3 history events each: ~810 events, where a flat 30 s pause needed 2,000 attempts (6,000 events).
 */
export const LONG_STATEMENT_RETRY = {
  errors: ['StatementRunningError'],
  maxAttempts: 270,
  backoffRate: 1.5,
  interval: Duration.seconds(30),
  maxDelay: Duration.minutes(10),
} as const;

/**
 * Retry of every phase task when Lambda itself failed it: `Lambda.Unknown` (the function timed out, ran out of memory
 * or crashed) and `Lambda.TooManyRequestsException` (more invocations than its reserved concurrency, e.g. key
 * ranges side by side). Every phase is idempotent (the backfill resumes from the cursor committed with the data, the
 * rollback drops only what exists), so running it again is right; full jitter spreads throttled ranges apart.
 */
export const LAMBDA_FAILURE_RETRY = {
  errors: ['Lambda.Unknown', 'Lambda.TooManyRequestsException'],
  maxAttempts: 4,
  backoffRate: 3,
  interval: Duration.seconds(5),
} as const;

/** Attempts of CDK's `retryOnServiceExceptions` retrier on a Lambda task (Lambda service errors, 2 s, x2). */
export const LAMBDA_SERVICE_RETRY_ATTEMPTS = 6;

/** Retry of a forward phase task on {@link RETRYABLE_ERRORS}. */
export const PHASE_RETRY = { maxAttempts: 2, backoffRate: 2, interval: Duration.seconds(5) } as const;

/** Retry of the rollback task: it is the last line of defence, so it tries harder and waits longer. */
export const ROLLBACK_RETRY = { maxAttempts: 5, backoffRate: 2, interval: Duration.seconds(10) } as const;

/** Retry of a notification on any task failure (throttling, SNS or KMS hiccups). */
export const NOTIFY_RETRY = { maxAttempts: 2, backoffRate: 2, interval: Duration.seconds(2) } as const;

/** `TimeoutSeconds` of one RDS API call (CreateDBClusterSnapshot, DescribeDBClusterSnapshots). */
export const SNAPSHOT_CALL_TIMEOUT = Duration.seconds(60);
/** Pause between two snapshot status polls: Aurora snapshots are storage-level and usually take minutes. */
export const DEFAULT_SNAPSHOT_POLL_INTERVAL = Duration.minutes(3);
/**
 * Polls before a snapshot still `creating` counts as failed: 120 x 3 min = 6 hours. Each poll costs 4 state
 * transitions and 20 history events at worst (its DescribeSnapshot retried), so the longest snapshot wait uses
 * ~2,400 of the execution's 25,000 events (docs/ARCHITECTURE.md, "History budget").
 */
export const DEFAULT_SNAPSHOT_MAX_POLLS = 120;
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

/**
 * The history budget: Step Functions ends an execution at 25,000 history events (`States.Runtime`, no Catch). Every
 * loop of the workflow has a bounded share; `lib/workflow/history-budget.ts` computes each loop's worst case from the
 * synthesized definition and test/workflow/history-budget.test.ts proves the sum stays below the limit.
 */
export const MAX_HISTORY_EVENTS = 25_000;

/**
 * History events the backfill loop may use per execution. Its worst invocation (every retrier of the task spent,
 * milestone, choices, wait) costs {@link BACKFILL_WORST_INVOCATION_EVENTS}; the loop then continues as new.
 */
export const BACKFILL_HISTORY_EVENTS = 10_000;

/**
 * Worst-case history events of one backfill loop iteration: the task (entered, exited, 3 per attempt: scheduled,
 * started, ended; 1 attempt + every retrier's MaxAttempts), the milestone and done choices and the wait (2 each).
 */
export const BACKFILL_WORST_INVOCATION_EVENTS =
  2 + 3 * (1 + LAMBDA_SERVICE_RETRY_ATTEMPTS + PHASE_RETRY.maxAttempts + LAMBDA_FAILURE_RETRY.maxAttempts) + 2 + 2 + 2;

/**
 * Backfill invocations per execution the history has room for: `backfill.maxInvocationsPerExecution` above this is
 * capped to it (the phase task tells the handler, `PhaseEvent.limits`).
 */
export const MAX_BACKFILL_INVOCATIONS_PER_EXECUTION = Math.floor(BACKFILL_HISTORY_EVENTS / BACKFILL_WORST_INVOCATION_EVENTS);

/**
 * Calls of one verification loop per execution (each time-boxed like a backfill invocation, ~43 history events at
 * worst); then it continues as new like the backfill. Both loops together: ~3,500 events.
 */
export const MAX_VERIFY_CALLS_PER_EXECUTION = 40;

/**
 * Reminders a gate may publish (`approvalTimeout / approvalReminderAfter`, rounded up): each costs 14 history events
 * at worst, so 4 gates x 24 reminders stay under 1,400. A shorter reminder interval is refused at synth.
 */
export const MAX_REMINDERS_PER_GATE = 24;
