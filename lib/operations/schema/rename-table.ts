import { renameReferencedTable, tableIn, withoutTable, withTable } from '../../catalog/schema-facts';
import type { RenameTableOp } from '../../spec/pgroll';
import { SchemaChecks } from './checks';
import type { SchemaChange } from './schema-change';

export const renameTableSchemaChange: SchemaChange<RenameTableOp> = {
  type: 'rename_table',
  validate(schema, op, at) {
    const checks = new SchemaChecks(schema, at);
    checks.table(op.from, 'from');
    checks.relationNameFree(op.to, 'to', 'table');
    return checks.issues;
  },
  apply(schema, op) {
    const table = tableIn(schema, op.from);
    if (!table) return schema;
    return renameReferencedTable(withTable(withoutTable(schema, op.from), { ...table, name: op.to }), op.from, op.to);
  },
};
