/**
 * The schema side of every pgroll operation, by type. Typed as a full record, so an operation type without its
 * schema change fails to compile.
 */
import type { SchemaFacts } from '../../catalog/schema-facts';
import type { PgrollMigration, PgrollOperation, PgrollOperationType } from '../../spec/pgroll';
import { addColumnSchemaChange } from './add-column';
import { alterColumnSchemaChange } from './alter-column';
import { createConstraintSchemaChange } from './create-constraint';
import { createIndexSchemaChange } from './create-index';
import { createTableSchemaChange } from './create-table';
import { dropColumnSchemaChange } from './drop-column';
import { dropConstraintSchemaChange, dropMulticolumnConstraintSchemaChange } from './drop-constraint';
import { dropIndexSchemaChange } from './drop-index';
import { dropTableSchemaChange } from './drop-table';
import { renameColumnSchemaChange } from './rename-column';
import { renameConstraintSchemaChange } from './rename-constraint';
import { renameTableSchemaChange } from './rename-table';
import type { SchemaChange, SchemaIssue } from './schema-change';
import { setReplicaIdentitySchemaChange } from './set-replica-identity';
import { sqlSchemaChange } from './sql';

export type { SchemaChange, SchemaIssue } from './schema-change';

type OpOf<K extends PgrollOperationType> = Extract<PgrollOperation, { type: K }>['op'];

export const SCHEMA_CHANGES: { readonly [K in PgrollOperationType]: SchemaChange<OpOf<K>> } = {
  create_table: createTableSchemaChange,
  drop_table: dropTableSchemaChange,
  rename_table: renameTableSchemaChange,
  add_column: addColumnSchemaChange,
  drop_column: dropColumnSchemaChange,
  rename_column: renameColumnSchemaChange,
  alter_column: alterColumnSchemaChange,
  create_index: createIndexSchemaChange,
  drop_index: dropIndexSchemaChange,
  create_constraint: createConstraintSchemaChange,
  drop_constraint: dropConstraintSchemaChange,
  drop_multicolumn_constraint: dropMulticolumnConstraintSchemaChange,
  rename_constraint: renameConstraintSchemaChange,
  set_replica_identity: setReplicaIdentitySchemaChange,
  sql: sqlSchemaChange,
};

/** What a migration does to a schema: the schema after every operation, or the issues that stop it. */
export interface MigrationSchemaResult {
  readonly schema: SchemaFacts;
  readonly issues: readonly SchemaIssue[];
}

/**
 * Validates a migration op by op against the schema each earlier op leaves, and returns the final schema. An
 * operation with issues is not applied (later ones are checked against the schema without it).
 *
 * @example applyMigration(emptySchema(), loadPgrollMigrationFile('01_create_tables.yaml')).issues // []
 */
export function applyMigration(schema: SchemaFacts, migration: Pick<PgrollMigration, 'operations'>): MigrationSchemaResult {
  const issues: SchemaIssue[] = [];
  let current = schema;
  migration.operations.forEach((operation, index) => {
    const change = SCHEMA_CHANGES[operation.type] as SchemaChange<typeof operation.op>;
    const found = change.validate(current, operation.op, `$.operations[${index}].${operation.type}`);
    issues.push(...found);
    if (found.length === 0) current = change.apply(current, operation.op);
  });
  return { schema: current, issues };
}
