import type { SqlParams } from '../db/executor';
import type { Spec } from '../spec';
import type { Plan, Statement } from './plan';

/** Live facts about the target table, read by preflight (lib/catalog) and passed to the pure planners. */
export interface TableFacts {
  readonly schema: string;
  readonly name: string;
  readonly primaryKey: { readonly column: string; readonly type: string };
  readonly columns: readonly ColumnFacts[];
  readonly estimatedRows: number;
}

export interface ColumnFacts {
  readonly name: string;
  /** `format_type()` of the column, e.g. `numeric(10,2)`. */
  readonly type: string;
  readonly nullable: boolean;
}

/** What every planner gets: the validated spec and the table as it is. */
export interface OperationContext<O> {
  readonly spec: Spec;
  readonly op: O;
  readonly table: TableFacts;
}

/** A problem `validate` finds; preflight turns each one into an error with a code and a fix. */
export interface ValidationIssue {
  readonly code: string;
  readonly message: string;
  readonly hint: string;
}

/**
 * What the backfill engine needs from an operation: the per-row assignment and the predicate that says a row still
 * needs it. The engine (lib/backfill) wraps them in keyset batches; operations never write batch SQL.
 */
export interface BackfillTask {
  /** `"new_col" = (<expr>)::type` — one SET clause. */
  readonly assignment: string;
  /** True for rows whose new value differs from what the assignment would write. */
  readonly pending: string;
}

/** What verification counts per row: a NULL in the new column, and a difference from the expression. */
export interface VerifyTask {
  readonly isNull: string;
  readonly mismatch: string;
}

/**
 * One migration operation. Methods are pure (spec + table facts → SQL) and listed in phase order; only lib/phases
 * executes what they return. Every statement they emit is idempotent, because Step Functions retries.
 */
export interface Operation<O> {
  /** Problems that make the operation impossible on this table. Empty when it can run. */
  validate(ctx: OperationContext<O>): ValidationIssue[];
  /** Data checks run before any change: each query returns `{count, sample}` of rows that would not convert. */
  dataChecks(ctx: OperationContext<O>): DataCheck[];
  expand(ctx: OperationContext<O>): Plan;
  dualWrite(ctx: OperationContext<O>): Plan;
  backfill(ctx: OperationContext<O>): BackfillTask;
  verify(ctx: OperationContext<O>): VerifyTask;
  constrain(ctx: OperationContext<O>): Plan;
  contract(ctx: OperationContext<O>): Plan;
  /**
   * Undoes expand and dual-write (before contract only); never touches the old column. With `present` (the ids of
   * {@link addedObjects} that exist), only those are dropped: an empty set is an empty plan, which takes no lock.
   */
  rollback(ctx: OperationContext<O>, present?: ReadonlySet<string>): Plan;
  /**
   * The rollback once the application reads or writes the new column: removes only the sync machinery (and whatever
   * would make application writes fail without it: the NOT NULL check and NOT NULL), keeps the new column and its
   * index. `present` as in {@link rollback}.
   */
  release(ctx: OperationContext<O>, present?: ReadonlySet<string>): Plan;
  /** What expand, dual-write and constrain may add, each with a catalog query saying whether it exists now. */
  addedObjects(ctx: OperationContext<O>): AddedObject[];
}

/** One object a migration adds to the user's table, and how to tell it exists without locking the table. */
export interface AddedObject {
  /** Stable id: what `rollback`/`release` take in `present`. */
  readonly id: string;
  /** What it is, for people: `trigger "_stepwise_m_sync" on public."Product"`. */
  readonly label: string;
  /** Reads the catalog only (no lock on the table); one row with a boolean `present`. */
  readonly probe: { readonly sql: string; readonly params?: SqlParams };
}

/** A row-level predicate that marks rows that would make the migration fail, e.g. NULLs under notNull. */
export interface DataCheck {
  readonly code: string;
  /** SQL predicate over one row (true = the row is a problem). */
  readonly predicate: string;
  readonly message: string;
  readonly hint: string;
}

export type { Plan, Statement };
