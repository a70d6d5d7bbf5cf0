import type { SqlOp } from '../../spec/pgroll';
import type { SchemaChange } from './schema-change';

/** Raw SQL: its effect cannot be known, so the model is marked incomplete (later checks use the live catalog). */
export const sqlSchemaChange: SchemaChange<SqlOp> = {
  type: 'sql',
  validate: () => [],
  apply: (schema) => ({ ...schema, complete: false }),
};
