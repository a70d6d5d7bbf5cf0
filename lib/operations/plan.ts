import type { SqlParams } from '../db/executor';

/**
 * The strongest lock a step takes on the user's table (in any state it may find: a re-run included); shown by
 * `stepwise plan` and in docs, and checked against pg_locks by test/reliability/plan-locks.test.ts.
 */
export type LockLevel =
  | 'none'
  | 'ACCESS SHARE'
  | 'ROW EXCLUSIVE'
  | 'SHARE UPDATE EXCLUSIVE'
  | 'SHARE ROW EXCLUSIVE'
  | 'ACCESS EXCLUSIVE';

/** A query with its Data API named parameters. */
export interface Query {
  readonly sql: string;
  readonly params?: SqlParams;
}

/**
 * One SQL statement. `skipWhen` is a query returning one row with a boolean `skip`: when true the statement's effect
 * is already there, which makes statements Postgres cannot write with `IF [NOT] EXISTS` (RENAME, ADD CONSTRAINT)
 * idempotent. It runs in the same transaction as the statement; in a `transactional` step every guard is read before
 * the step's first statement (so the table's locks are held for the statements only), so a guard must not depend on
 * an earlier statement of its own step.
 */
export interface Statement extends Query {
  readonly skipWhen?: Query;
  /**
   * The statement scans the whole table and can outlast one Data API call (45 s) and one invocation (CREATE INDEX
   * CONCURRENTLY, VALIDATE CONSTRAINT): it is sent tagged, with `continueAfterTimeout`, and watched until it ends
   * (lib/phases/long-statement.ts). Only in a step that is not `transactional`; the step needs a `check`.
   */
  readonly long?: boolean;
}

/**
 * One step of a phase: a stable `id` (for logs and resume), the statements, and how they run.
 * - `transactional`: all statements in one transaction with a transaction-local `lock_timeout` and
 *   `idle_in_transaction_session_timeout` (retried on lock timeout).
 * - otherwise each statement runs alone in autocommit (required by `CREATE INDEX CONCURRENTLY`).
 * `check` runs after the statements and must return one row with a boolean `ok`; false fails the step with
 * `checkFailed` as the message (e.g. an index that CREATE INDEX CONCURRENTLY left invalid).
 */
export interface Step {
  readonly id: string;
  /** Why this step is safe online; printed by `stepwise plan`. */
  readonly description: string;
  readonly lock: LockLevel;
  readonly transactional: boolean;
  readonly statements: readonly Statement[];
  readonly check?: Query & { readonly failure: string; readonly hint: string };
}

/** The ordered steps of one phase. */
export type Plan = readonly Step[];
