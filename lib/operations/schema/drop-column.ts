import { tableIn, withTable } from '../../catalog/schema-facts';
import type { DropColumnOp } from '../../spec/pgroll';
import { SchemaChecks } from './checks';
import type { SchemaChange } from './schema-change';

export const dropColumnSchemaChange: SchemaChange<DropColumnOp> = {
  type: 'drop_column',
  validate(schema, op, at) {
    const checks = new SchemaChecks(schema, at);
    const table = checks.table(op.table, 'table');
    if (table) checks.column(table, op.column, 'column');
    return checks.issues;
  },
  apply(schema, op) {
    const table = tableIn(schema, op.table);
    if (!table) return schema;
    // As Postgres does: the column's indexes and constraints go with it.
    const keep = (cols: readonly string[]) => !cols.includes(op.column);
    return withTable(schema, {
      ...table,
      columns: table.columns.filter((c) => c.name !== op.column),
      primaryKey: keep(table.primaryKey) ? table.primaryKey : [],
      constraints: table.constraints.filter((c) => keep(c.columns)),
      indexes: table.indexes.filter((i) => keep(i.columns)),
    });
  },
};
