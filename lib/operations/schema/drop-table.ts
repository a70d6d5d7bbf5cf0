import { withoutTable } from '../../catalog/schema-facts';
import type { DropTableOp } from '../../spec/pgroll';
import { SchemaChecks } from './checks';
import type { SchemaChange } from './schema-change';

export const dropTableSchemaChange: SchemaChange<DropTableOp> = {
  type: 'drop_table',
  validate(schema, op, at) {
    const checks = new SchemaChecks(schema, at);
    checks.table(op.name, 'name');
    for (const t of Object.values(schema.tables)) {
      if (t.name === op.name) continue;
      for (const fk of t.constraints) {
        if (fk.kind === 'f' && fk.references?.table === op.name) {
          checks.issues.push({ code: 'SW_TABLE_REFERENCED', path: `${at}.name`, message: `table "${op.name}" is referenced by foreign key "${fk.name}" of table "${t.name}"`, hint: `Drop the foreign key first (drop_constraint on "${t.name}"), in an earlier operation.` });
        }
      }
    }
    return checks.issues;
  },
  apply: (schema, op) => withoutTable(schema, op.name),
};
