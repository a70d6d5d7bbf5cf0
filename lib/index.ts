// The public API of Stepwise, grouped by layer (see docs/ARCHITECTURE.md).

// spec
export * from './spec';
// errors and constants
export * from './errors';
export { Phase, Gate, ENV, LAMBDA_PHASES, STEPWISE_PREFIX } from './constants';
// plan: operations and batch SQL (pure)
export * from './operations';
export { backfillBatchSql, scanBatchSql, keyset } from './backfill';
// db
export type { Executor, QueryResult, SqlParams, SqlValue, Row, TransactionOptions } from './db/executor';
export { DataApiExecutor } from './db/data-api-executor';
export { executorFromEnv } from './db/create-executor';
// phases
export { runPhase, PHASES } from './phases/run-phase';
export { makePhaseHandler } from './phases/phase-handler';
// workflow and stack (CDK)
export { MigrationWorkflow, type MigrationWorkflowProps } from './workflow/migration-workflow';
export { StepwiseStack } from './stack';
export { StateName, Slot } from './workflow/state-names';
export type { PhaseEvent, WorkflowState, BackfillResult, VerifyResult, PreflightResult } from './workflow/state';
// report
export { buildRunReport, type RunReport } from './report/run-report';
// local twin
export { startLocalTwin, runMigrationLocally, autoApprove, type LocalTwin, type Approver } from './local/local-twin';
export { startDataApiEmulator } from './local/data-api-emulator';
export { startPostgres } from './local/postgres-server';
