import { withTable, type ConstraintModel } from '../../catalog/schema-facts';
import type { CreateTableOp } from '../../spec/pgroll';
import { SchemaChecks } from './checks';
import { columnConstraints, columnModel, CONSTRAINT_KIND } from './column-model';
import type { SchemaChange } from './schema-change';

export const createTableSchemaChange: SchemaChange<CreateTableOp> = {
  type: 'create_table',
  validate(schema, op, at) {
    const checks = new SchemaChecks(schema, at);
    checks.relationNameFree(op.name, 'name', 'table');
    const names = new Set(op.columns.map((c) => c.name));
    const keyed = op.columns.some((c) => c.pk) ? 1 : 0;
    const keys = (op.constraints ?? []).filter((c) => c.type === 'primary_key').length + keyed;
    if (keys > 1) checks.issues.push({ code: 'SW_PRIMARY_KEY_TWICE', path: `${at}.constraints`, message: `table "${op.name}" would have more than one primary key`, hint: 'Mark the key columns with pk: true, or declare one primary_key constraint, not both.' });
    // A foreign key to the table itself references columns this operation defines.
    const references = (table: string, columns: readonly string[], field: string): void => {
      if (table !== op.name) return checks.references(table, columns, field);
      for (const c of columns.filter((x) => !names.has(x))) {
        checks.issues.push({ code: 'SW_REFERENCE_NOT_FOUND', path: `${at}.${field}`, message: `referenced column "${op.name}"."${c}" is not defined by this create_table`, hint: `Reference one of its columns: ${[...names].join(', ')}.` });
      }
    };
    op.columns.forEach((c, i) => c.references && references(c.references.table, [c.references.column], `columns[${i}].references`));
    (op.constraints ?? []).forEach((c, i) => {
      for (const col of [...(c.columns ?? []), ...(c.index_parameters?.include_columns ?? [])]) {
        if (!names.has(col)) checks.issues.push({ code: 'SW_COLUMN_NOT_FOUND', path: `${at}.constraints[${i}].columns`, message: `constraint "${c.name}" names column "${col}", which table "${op.name}" does not define`, hint: `Name one of the table's columns: ${[...names].join(', ')}.` });
      }
      if (c.references) references(c.references.table, c.references.columns, `constraints[${i}].references`);
    });
    return checks.issues;
  },
  apply(schema, op) {
    const fromColumns = op.columns.flatMap((c) => columnConstraints(op.name, c));
    const fromTable: ConstraintModel[] = (op.constraints ?? []).map((c) => ({
      name: c.name,
      kind: CONSTRAINT_KIND[c.type],
      columns: c.columns ?? [],
      ...(c.references ? { references: { table: c.references.table, columns: c.references.columns } } : {}),
    }));
    const keyColumns = op.columns.filter((c) => c.pk).map((c) => c.name);
    const keyConstraint = fromTable.find((c) => c.kind === 'p');
    const primaryKey = keyConstraint ? keyConstraint.columns : keyColumns;
    const pk: ConstraintModel[] = keyColumns.length > 0 ? [{ name: `${op.name}_pkey`, kind: 'p', columns: keyColumns }] : [];
    const columns = op.columns.map(columnModel).map((c) => (primaryKey.includes(c.name) ? { ...c, nullable: false } : c));
    return withTable(schema, { name: op.name, columns, primaryKey, constraints: [...pk, ...fromColumns, ...fromTable], indexes: [] });
  },
};
