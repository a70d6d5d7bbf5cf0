/**
 * pgroll's 15 operation types, by the key that names them in a migration file, each with its schema. Adding an
 * operation to the format is one entry here and one file under ./operations.
 */
import type { z } from 'zod';
import { addColumnSchema } from './operations/add-column';
import { alterColumnSchema } from './operations/alter-column';
import { createConstraintSchema } from './operations/create-constraint';
import { createIndexSchema } from './operations/create-index';
import { createTableSchema } from './operations/create-table';
import { dropColumnSchema } from './operations/drop-column';
import { dropConstraintSchema } from './operations/drop-constraint';
import { dropIndexSchema } from './operations/drop-index';
import { dropMulticolumnConstraintSchema } from './operations/drop-multicolumn-constraint';
import { dropTableSchema } from './operations/drop-table';
import { renameColumnSchema } from './operations/rename-column';
import { renameConstraintSchema } from './operations/rename-constraint';
import { renameTableSchema } from './operations/rename-table';
import { setReplicaIdentitySchema } from './operations/set-replica-identity';
import { sqlSchema } from './operations/sql';

export const PGROLL_OPERATION_SCHEMAS = {
  create_table: createTableSchema,
  drop_table: dropTableSchema,
  rename_table: renameTableSchema,
  add_column: addColumnSchema,
  drop_column: dropColumnSchema,
  rename_column: renameColumnSchema,
  alter_column: alterColumnSchema,
  create_index: createIndexSchema,
  drop_index: dropIndexSchema,
  create_constraint: createConstraintSchema,
  drop_constraint: dropConstraintSchema,
  drop_multicolumn_constraint: dropMulticolumnConstraintSchema,
  rename_constraint: renameConstraintSchema,
  set_replica_identity: setReplicaIdentitySchema,
  sql: sqlSchema,
} as const;

/** An operation's key in a pgroll file (`add_column`, …). */
export type PgrollOperationType = keyof typeof PGROLL_OPERATION_SCHEMAS;
export const PGROLL_OPERATION_TYPES = Object.keys(PGROLL_OPERATION_SCHEMAS) as PgrollOperationType[];

/** One parsed operation: its type and its fields (defaults applied), discriminated by `type`. */
export type PgrollOperation = {
  [K in PgrollOperationType]: { readonly type: K; readonly op: z.output<(typeof PGROLL_OPERATION_SCHEMAS)[K]> };
}[PgrollOperationType];

export function isPgrollOperationType(key: string): key is PgrollOperationType {
  return Object.hasOwn(PGROLL_OPERATION_SCHEMAS, key);
}
