import type { SqlParams } from '../db/executor';

/** The strongest lock a statement takes on the user's table; shown by `stepwise plan` and in docs. */
export type LockLevel =
  | 'none'
  | 'ACCESS SHARE'
  | 'ROW EXCLUSIVE'
  | 'SHARE UPDATE EXCLUSIVE'
  | 'SHARE ROW EXCLUSIVE'
  | 'ACCESS EXCLUSIVE';

/** One SQL statement with its Data API named parameters. */
export interface Statement {
  readonly sql: string;
  readonly params?: SqlParams;
}

/**
 * One step of a phase: a stable `id` (for logs and resume), the statements, and how they run.
 * - `transactional`: all statements in one transaction with `SET LOCAL lock_timeout` (retried on lock timeout).
 * - otherwise each statement runs alone in autocommit (required by `CREATE INDEX CONCURRENTLY`).
 * `skipWhen` is a query returning one row with a boolean `skip` column: when true the step has already happened,
 * which makes steps that Postgres cannot write with `IF [NOT] EXISTS` (RENAME, ADD CONSTRAINT) idempotent.
 */
export interface Step {
  readonly id: string;
  /** Why this step is safe online; printed by `stepwise plan`. */
  readonly description: string;
  readonly lock: LockLevel;
  readonly transactional: boolean;
  readonly statements: readonly Statement[];
  readonly skipWhen?: Statement;
}

/** The ordered steps of one phase. */
export type Plan = readonly Step[];
