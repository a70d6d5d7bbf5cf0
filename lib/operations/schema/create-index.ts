import { tableIn, withTable } from '../../catalog/schema-facts';
import type { CreateIndexOp } from '../../spec/pgroll';
import { SchemaChecks } from './checks';
import type { SchemaChange } from './schema-change';

export const createIndexSchemaChange: SchemaChange<CreateIndexOp> = {
  type: 'create_index',
  validate(schema, op, at) {
    const checks = new SchemaChecks(schema, at);
    const table = checks.table(op.table, 'table');
    if (table) op.columns.forEach((c, i) => checks.column(table, c.column, `columns[${i}].column`));
    checks.relationNameFree(op.name, 'name', 'index');
    return checks.issues;
  },
  apply(schema, op) {
    const table = tableIn(schema, op.table);
    if (!table) return schema;
    return withTable(schema, { ...table, indexes: [...table.indexes, { name: op.name, columns: op.columns.map((c) => c.column), unique: op.unique === true }] });
  },
};
