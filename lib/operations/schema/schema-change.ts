/**
 * The schema side of an operation: what it requires of the schema and the schema it leaves. Pure (no database), so
 * a whole migration is validated op by op against the schema the earlier ops leave, before any change, with every
 * problem named at its place in the file (`$.operations[2].add_column.column.name`).
 */
import type { SchemaFacts } from '../../catalog/schema-facts';
import type { PgrollOperationType } from '../../spec/pgroll';

/** A problem with an operation against the schema; preflight refuses the migration with it. */
export interface SchemaIssue {
  readonly code: string;
  /** Where in the migration file (JSON path). */
  readonly path: string;
  readonly message: string;
  readonly hint: string;
}

export interface SchemaChange<O> {
  readonly type: PgrollOperationType;
  /** Problems with `op` against `schema` (empty when it can run); `at` is the op's path in the file. */
  validate(schema: SchemaFacts, op: O, at: string): SchemaIssue[];
  /** The schema after `op`; called only when `validate` found nothing. */
  apply(schema: SchemaFacts, op: O): SchemaFacts;
}
