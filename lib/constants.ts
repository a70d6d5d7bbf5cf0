/**
 * The phases of a migration, in workflow order. One name serves the state machine's states, the Lambda handlers
 * (`lambdas/<phase>.ts`), the progress rows and the CLI output, so the four can never drift apart.
 */
export const Phase = {
  Preflight: 'preflight',
  Backup: 'backup',
  Expand: 'expand',
  Backfill: 'backfill',
  Verify: 'verify',
  Constrain: 'constrain',
  Contract: 'contract',
  Rollback: 'rollback',
  /** Computes when a window-only phase may start (spec.window); the state machine waits until then. */
  Window: 'window',
} as const;
export type Phase = (typeof Phase)[keyof typeof Phase];

/** Phases that run as Lambda tasks, each with a handler in `lambdas/<phase>.ts`. */
export const LAMBDA_PHASES: readonly Phase[] = Object.values(Phase);

/** Human approval gates (`.waitForTaskToken`), named as their states are. */
export const Gate = {
  Start: 'ApproveStart',
  DualWriteDeployed: 'ConfirmDualWriteDeployed',
  ReadFromNewDeployed: 'ConfirmReadFromNewDeployed',
  Contract: 'ApproveContract',
  RestoreAfterContract: 'ApproveRestore',
} as const;
export type Gate = (typeof Gate)[keyof typeof Gate];

/** Environment variables read by the phase handlers. */
export const ENV = {
  clusterArn: 'STEPWISE_CLUSTER_ARN',
  secretArn: 'STEPWISE_SECRET_ARN',
  database: 'STEPWISE_DATABASE',
  phase: 'STEPWISE_PHASE',
  /** Standard AWS SDK variable: points the RDS Data API client at the local emulator. */
  dataApiEndpoint: 'AWS_ENDPOINT_URL_RDS_DATA',
} as const;

/** Prefix of every object Stepwise creates in the user's database. */
export const STEPWISE_PREFIX = '_stepwise_';

/** The error a rejected approval gate fails with (SendTaskFailure), by the CLI, the approval link and the twin alike. */
export const REJECTED_ERROR = 'Rejected';
