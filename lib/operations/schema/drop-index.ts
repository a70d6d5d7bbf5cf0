import { withTable } from '../../catalog/schema-facts';
import type { DropIndexOp } from '../../spec/pgroll';
import { SchemaChecks } from './checks';
import type { SchemaChange } from './schema-change';

export const dropIndexSchemaChange: SchemaChange<DropIndexOp> = {
  type: 'drop_index',
  validate(schema, op, at) {
    const checks = new SchemaChecks(schema, at);
    checks.index(op.name, 'name');
    return checks.issues;
  },
  apply(schema, op) {
    const table = Object.values(schema.tables).find((t) => t.indexes.some((i) => i.name === op.name));
    return table ? withTable(schema, { ...table, indexes: table.indexes.filter((i) => i.name !== op.name) }) : schema;
  },
};
