import { tableIn, withTable } from '../../catalog/schema-facts';
import type { RenameConstraintOp } from '../../spec/pgroll';
import { SchemaChecks } from './checks';
import type { SchemaChange } from './schema-change';

export const renameConstraintSchemaChange: SchemaChange<RenameConstraintOp> = {
  type: 'rename_constraint',
  validate(schema, op, at) {
    const checks = new SchemaChecks(schema, at);
    const table = checks.table(op.table, 'table');
    if (table) {
      checks.constraint(table, op.from, 'from');
      checks.constraintAbsent(table, op.to, 'to');
    }
    return checks.issues;
  },
  apply(schema, op) {
    const table = tableIn(schema, op.table);
    return table ? withTable(schema, { ...table, constraints: table.constraints.map((c) => (c.name === op.from ? { ...c, name: op.to } : c)) }) : schema;
  },
};
