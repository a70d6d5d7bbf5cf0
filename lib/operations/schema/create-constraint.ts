import { tableIn, withTable } from '../../catalog/schema-facts';
import type { CreateConstraintOp } from '../../spec/pgroll';
import { SchemaChecks } from './checks';
import { CONSTRAINT_KIND } from './column-model';
import type { SchemaChange } from './schema-change';

export const createConstraintSchemaChange: SchemaChange<CreateConstraintOp> = {
  type: 'create_constraint',
  validate(schema, op, at) {
    const checks = new SchemaChecks(schema, at);
    const table = checks.table(op.table, 'table');
    if (table) {
      (op.columns ?? []).forEach((c, i) => checks.column(table, c, `columns[${i}]`));
      checks.constraintAbsent(table, op.name, 'name');
      if (op.type === 'primary_key' && table.primaryKey.length > 0) {
        checks.issues.push({ code: 'SW_PRIMARY_KEY_EXISTS', path: `${at}.type`, message: `table "${op.table}" already has a primary key (${table.primaryKey.join(', ')})`, hint: 'Drop the existing primary key first, or create a unique constraint instead.' });
      }
    }
    if (op.type === 'unique' || op.type === 'primary_key') checks.relationNameFree(op.name, 'name', `${op.type} constraint`);
    if (op.references) checks.references(op.references.table, op.references.columns, 'references');
    return checks.issues;
  },
  apply(schema, op) {
    const table = tableIn(schema, op.table);
    if (!table) return schema;
    const columns = op.columns ?? [];
    const constraint = { name: op.name, kind: CONSTRAINT_KIND[op.type], columns, ...(op.references ? { references: { table: op.references.table, columns: op.references.columns } } : {}) };
    return withTable(schema, {
      ...table,
      constraints: [...table.constraints, constraint],
      ...(op.type === 'primary_key' ? { primaryKey: columns, columns: table.columns.map((c) => (columns.includes(c.name) ? { ...c, nullable: false } : c)) } : {}),
    });
  },
};
