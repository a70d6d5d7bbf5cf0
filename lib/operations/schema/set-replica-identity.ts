import type { SetReplicaIdentityOp } from '../../spec/pgroll';
import { SchemaChecks } from './checks';
import type { SchemaChange } from './schema-change';

export const setReplicaIdentitySchemaChange: SchemaChange<SetReplicaIdentityOp> = {
  type: 'set_replica_identity',
  validate(schema, op, at) {
    const checks = new SchemaChecks(schema, at);
    const table = checks.table(op.table, 'table');
    const index = op.identity.index;
    if (table && op.identity.type === 'INDEX' && index !== undefined) {
      const named = table.indexes.some((i) => i.name === index && i.unique) || table.constraints.some((c) => c.name === index && (c.kind === 'p' || c.kind === 'u'));
      const pkey = index === `${table.name}_pkey` && table.primaryKey.length > 0;
      if (!named && !pkey) checks.issues.push({ code: 'SW_INDEX_NOT_FOUND', path: `${at}.identity.index`, message: `table "${op.table}" has no unique index "${index}"`, hint: 'A replica identity index must be a unique, non-partial index on NOT NULL columns of the table.' });
    }
    return checks.issues;
  },
  apply: (schema) => schema,
};
