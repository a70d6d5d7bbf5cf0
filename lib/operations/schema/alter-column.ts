import { columnIn, renameColumnIn, tableIn, withColumn, withTable, type ColumnModel, type ConstraintModel } from '../../catalog/schema-facts';
import type { AlterColumnOp } from '../../spec/pgroll';
import { SchemaChecks } from './checks';
import type { SchemaChange } from './schema-change';

export const alterColumnSchemaChange: SchemaChange<AlterColumnOp> = {
  type: 'alter_column',
  validate(schema, op, at) {
    const checks = new SchemaChecks(schema, at);
    const table = checks.table(op.table, 'table');
    if (table) {
      checks.column(table, op.column, 'column');
      if (op.name !== undefined) checks.columnAbsent(table, op.name, 'name');
      if (op.check) checks.constraintAbsent(table, op.check.name, 'check.name');
      if (op.references) checks.constraintAbsent(table, op.references.name, 'references.name');
    }
    if (op.unique) checks.relationNameFree(op.unique.name, 'unique.name', 'unique constraint');
    if (op.references) checks.references(op.references.table, [op.references.column], 'references');
    return checks.issues;
  },
  apply(schema, op) {
    const table = tableIn(schema, op.table);
    if (!table || !columnIn(table, op.column)) return schema;
    if (op.name !== undefined) return withTable(schema, renameColumnIn(table, op.column, op.name));
    const changed = withColumn(table, op.column, (c): ColumnModel => {
      const { default: _d, comment: _c, ...rest } = c;
      const defaultValue = op.default === undefined ? c.default : (op.default ?? undefined);
      const comment = op.comment === undefined ? c.comment : (op.comment ?? undefined);
      return {
        ...rest,
        ...(op.type !== undefined ? { type: op.type } : {}),
        ...(op.nullable !== undefined ? { nullable: op.nullable } : {}),
        ...(defaultValue !== undefined ? { default: defaultValue } : {}),
        ...(comment !== undefined ? { comment } : {}),
      };
    });
    const added: ConstraintModel[] = [
      ...(op.unique ? [{ name: op.unique.name, kind: 'u' as const, columns: [op.column] }] : []),
      ...(op.check ? [{ name: op.check.name, kind: 'c' as const, columns: [op.column] }] : []),
      ...(op.references ? [{ name: op.references.name, kind: 'f' as const, columns: [op.column], references: { table: op.references.table, columns: [op.references.column] } }] : []),
    ];
    return withTable(schema, { ...changed, constraints: [...changed.constraints, ...added] });
  },
};
