import { renameColumnIn, tableIn, withTable } from '../../catalog/schema-facts';
import type { RenameColumnOp } from '../../spec/pgroll';
import { SchemaChecks } from './checks';
import type { SchemaChange } from './schema-change';

export const renameColumnSchemaChange: SchemaChange<RenameColumnOp> = {
  type: 'rename_column',
  validate(schema, op, at) {
    const checks = new SchemaChecks(schema, at);
    const table = checks.table(op.table, 'table');
    if (table) {
      checks.column(table, op.from, 'from');
      checks.columnAbsent(table, op.to, 'to');
    }
    return checks.issues;
  },
  apply(schema, op) {
    const table = tableIn(schema, op.table);
    return table ? withTable(schema, renameColumnIn(table, op.from, op.to)) : schema;
  },
};
