import type { Executor } from '../db/executor';
import { PreflightError } from '../errors';
import type { TableFacts } from '../operations/operation';
import type { TableRef } from '../spec';

interface RelationRow extends Record<string, string | number | boolean | null> {
  oid: string | null;
  relkind: string | null;
  estimated_rows: number | null;
  schema_exists: boolean;
}

/**
 * Reads what the planners need about a table: its columns, its single-column primary key and a row estimate.
 * Throws a `PreflightError` naming the fix when the table cannot be migrated (missing, a view, no or a composite key).
 * A partitioned table is read as its parent (keyset batches, the sync trigger and the constraint all work on the
 * parent); its row estimate is the sum over its leaf partitions (the parent's own `reltuples` is -1).
 */
export async function readTableFacts(db: Executor, table: TableRef): Promise<TableFacts> {
  const where = `${table.schema}.${table.name}`;
  const rel = (
    await db.query<RelationRow>(
      `SELECT c.oid::text AS oid, c.relkind::text AS relkind,
              CASE WHEN c.relkind = 'p'
                   THEN (SELECT coalesce(sum(greatest(p.reltuples, 0)), 0) FROM pg_partition_tree(c.oid) t JOIN pg_class p ON p.oid = t.relid WHERE t.isleaf)
                   ELSE greatest(c.reltuples, 0) END::bigint AS estimated_rows,
              EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = :schema) AS schema_exists
         FROM (SELECT 1) AS one
         LEFT JOIN pg_namespace n ON n.nspname = :schema
         LEFT JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = :name`,
      { schema: table.schema, name: table.name },
    )
  ).rows[0];
  if (!rel?.schema_exists) {
    throw new PreflightError('SW_SCHEMA_NOT_FOUND', `schema "${table.schema}" does not exist`, 'Set table.schema to an existing schema (default: public); names are case-sensitive.', { table: where });
  }
  if (!rel.oid) {
    throw new PreflightError('SW_TABLE_NOT_FOUND', `table ${where} does not exist`, 'Set table.name to an existing table; names are case-sensitive ("Product" is not "product").', { table: where });
  }
  if (rel.relkind !== 'r' && rel.relkind !== 'p') {
    const kind = { v: 'a view', m: 'a materialized view', f: 'a foreign table', i: 'an index', S: 'a sequence' }[rel.relkind ?? ''] ?? `a relation of kind ${rel.relkind}`;
    throw new PreflightError('SW_NOT_A_TABLE', `${where} is ${kind}, not a table`, 'Migrate the underlying table instead.', { table: where, relkind: rel.relkind });
  }
  const columns = (
    await db.query<{ name: string; type: string; nullable: boolean }>(
      `SELECT attname AS name, format_type(atttypid, atttypmod) AS type, NOT attnotnull AS nullable
         FROM pg_attribute WHERE attrelid = (:oid)::oid AND attnum > 0 AND NOT attisdropped ORDER BY attnum`,
      { oid: rel.oid },
    )
  ).rows;
  const keys = (
    await db.query<{ column: string; type: string }>(
      `SELECT a.attname AS column, format_type(a.atttypid, a.atttypmod) AS type
         FROM pg_index i
         JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord) ON true
         JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
        WHERE i.indrelid = (:oid)::oid AND i.indisprimary ORDER BY k.ord`,
      { oid: rel.oid },
    )
  ).rows;
  if (keys.length === 0) {
    throw new PreflightError('SW_NO_PRIMARY_KEY', `table ${where} has no primary key`, 'Add a primary key (batches walk the table in key order), e.g. ALTER TABLE … ADD PRIMARY KEY (id).', { table: where });
  }
  if (keys.length > 1) {
    throw new PreflightError('SW_COMPOSITE_KEY', `table ${where} has a composite primary key (${keys.map((k) => k.column).join(', ')})`, 'Stepwise batches on a single-column primary key; add a unique single-column key or migrate this table by hand.', { table: where });
  }
  const key = keys[0]!;
  return {
    schema: table.schema,
    name: table.name,
    primaryKey: { column: key.column, type: key.type },
    columns,
    estimatedRows: Math.max(0, Number(rel.estimated_rows ?? 0)),
  };
}
