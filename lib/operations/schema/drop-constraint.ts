import { tableIn, withTable, type SchemaFacts } from '../../catalog/schema-facts';
import type { DropConstraintOp, DropMulticolumnConstraintOp } from '../../spec/pgroll';
import { SchemaChecks } from './checks';
import type { SchemaChange, SchemaIssue } from './schema-change';

/** Shared by drop_constraint and drop_multicolumn_constraint: the same schema change. */
function validateDrop(schema: SchemaFacts, op: { table: string; name: string }, at: string): SchemaIssue[] {
  const checks = new SchemaChecks(schema, at);
  const table = checks.table(op.table, 'table');
  if (table) checks.constraint(table, op.name, 'name');
  return checks.issues;
}

function applyDrop(schema: SchemaFacts, op: { table: string; name: string }): SchemaFacts {
  const table = tableIn(schema, op.table);
  if (!table) return schema;
  const dropped = table.constraints.find((c) => c.name === op.name);
  return withTable(schema, { ...table, constraints: table.constraints.filter((c) => c.name !== op.name), ...(dropped?.kind === 'p' ? { primaryKey: [] } : {}) });
}

export const dropConstraintSchemaChange: SchemaChange<DropConstraintOp> = { type: 'drop_constraint', validate: validateDrop, apply: applyDrop };
export const dropMulticolumnConstraintSchemaChange: SchemaChange<DropMulticolumnConstraintOp> = { type: 'drop_multicolumn_constraint', validate: validateDrop, apply: applyDrop };
