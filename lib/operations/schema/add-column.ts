import { tableIn, withTable } from '../../catalog/schema-facts';
import type { AddColumnOp } from '../../spec/pgroll';
import { SchemaChecks } from './checks';
import { columnConstraints, columnModel } from './column-model';
import type { SchemaChange } from './schema-change';

export const addColumnSchemaChange: SchemaChange<AddColumnOp> = {
  type: 'add_column',
  validate(schema, op, at) {
    const checks = new SchemaChecks(schema, at);
    const table = checks.table(op.table, 'table');
    if (table) {
      checks.columnAbsent(table, op.column.name, 'column.name');
      if (op.column.check) checks.constraintAbsent(table, op.column.check.name, 'column.check.name');
      if (op.column.references) checks.constraintAbsent(table, op.column.references.name, 'column.references.name');
    }
    if (op.column.references) checks.references(op.column.references.table, [op.column.references.column], 'column.references');
    if (op.column.pk) checks.issues.push({ code: 'SW_PRIMARY_KEY_COLUMN', path: `${at}.column.pk`, message: 'add_column cannot add a primary-key column', hint: 'Add the column, then create a primary_key constraint with create_constraint.' });
    return checks.issues;
  },
  apply(schema, op) {
    const table = tableIn(schema, op.table);
    if (!table) return schema;
    return withTable(schema, { ...table, columns: [...table.columns, columnModel(op.column)], constraints: [...table.constraints, ...columnConstraints(op.table, op.column)] });
  },
};
