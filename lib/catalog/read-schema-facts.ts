/**
 * Reads a schema's tables from the catalog into the model operations are validated against (lib/catalog/
 * schema-facts.ts). Through the Data API: every value selected is text, boolean or an integer (never a value of a
 * user's type), one row per column, constraint or index (a row stays far under the 64 KB limit however wide the
 * table). Ordinary and partitioned tables; partitions are read as their parent.
 */
import type { Executor } from '../db/executor';
import { sqlTrue } from '../db/executor';
import type { ColumnModel, ConstraintKind, ConstraintModel, IndexModel, SchemaFacts, TableModel } from './schema-facts';

/** Names in a text array as `array_to_string` gives them: a separator no identifier of ours contains. */
const SEP = '\u001f';

const TABLES = `
  SELECT c.relname AS table_name
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE n.nspname = :schema AND c.relkind IN ('r', 'p') AND NOT c.relispartition
   ORDER BY c.relname`;

const COLUMNS = `
  SELECT c.relname AS table_name, a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type, NOT a.attnotnull AS nullable,
         pg_get_expr(d.adbin, d.adrelid) AS default_expr, a.attgenerated <> '' AS generated, col_description(c.oid, a.attnum) AS comment
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
    LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
   WHERE n.nspname = :schema AND c.relkind IN ('r', 'p') AND NOT c.relispartition
   ORDER BY c.relname, a.attnum`;

const CONSTRAINTS = `
  SELECT c.relname AS table_name, k.conname AS name, k.contype::text AS kind,
         array_to_string(ARRAY(SELECT a.attname FROM unnest(k.conkey) WITH ORDINALITY u(n, i) JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.n ORDER BY u.i), '${SEP}') AS columns,
         f.relname AS ref_table,
         array_to_string(ARRAY(SELECT a.attname FROM unnest(k.confkey) WITH ORDINALITY u(n, i) JOIN pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = u.n ORDER BY u.i), '${SEP}') AS ref_columns
    FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
    LEFT JOIN pg_class f ON f.oid = k.confrelid
   WHERE n.nspname = :schema AND c.relkind IN ('r', 'p') AND NOT c.relispartition AND k.contype IN ('p', 'u', 'c', 'f', 'x')
   ORDER BY c.relname, k.conname`;

/** Indexes that no constraint owns (those are modelled as their constraint). */
const INDEXES = `
  SELECT c.relname AS table_name, i.relname AS name, x.indisunique AS is_unique,
         array_to_string(ARRAY(SELECT coalesce(a.attname, '') FROM unnest(x.indkey) WITH ORDINALITY u(n, o) LEFT JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = u.n ORDER BY u.o), '${SEP}') AS columns
    FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class c ON c.oid = x.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE n.nspname = :schema AND c.relkind IN ('r', 'p') AND NOT c.relispartition
     AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = x.indexrelid AND k.conrelid = x.indrelid)
   ORDER BY c.relname, i.relname`;

const names = (text: unknown): string[] => (typeof text === 'string' && text !== '' ? text.split(SEP) : []);
const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

/**
 * The schema as the catalog has it now.
 *
 * @example const before = await readSchemaFacts(db, 'public'); applyMigration(before, migration).issues
 */
export async function readSchemaFacts(db: Executor, schema: string): Promise<SchemaFacts> {
  const params = { schema };
  const [tables, columns, constraints, indexes] = await Promise.all([db.query(TABLES, params), db.query(COLUMNS, params), db.query(CONSTRAINTS, params), db.query(INDEXES, params)]);
  const byTable = new Map<string, { columns: ColumnModel[]; constraints: ConstraintModel[]; indexes: IndexModel[] }>();
  for (const row of tables.rows) byTable.set(String(row.table_name), { columns: [], constraints: [], indexes: [] });
  const of = (name: unknown) => byTable.get(String(name));
  for (const r of columns.rows) {
    const defaultExpr = text(r.default_expr);
    const comment = text(r.comment);
    of(r.table_name)?.columns.push({
      name: String(r.name),
      physical: String(r.name),
      type: String(r.type),
      nullable: sqlTrue(r.nullable),
      ...(defaultExpr !== undefined ? { default: defaultExpr } : {}),
      ...(sqlTrue(r.generated) ? { generated: true } : {}),
      ...(comment !== undefined ? { comment } : {}),
    });
  }
  for (const r of constraints.rows) {
    const refTable = text(r.ref_table);
    of(r.table_name)?.constraints.push({
      name: String(r.name),
      kind: String(r.kind) as ConstraintKind,
      columns: names(r.columns),
      ...(refTable !== undefined ? { references: { table: refTable, columns: names(r.ref_columns) } } : {}),
    });
  }
  for (const r of indexes.rows) of(r.table_name)?.indexes.push({ name: String(r.name), columns: names(r.columns), unique: sqlTrue(r.is_unique) });
  const models: Record<string, TableModel> = {};
  for (const [name, t] of byTable) {
    models[name] = { name, ...t, primaryKey: t.constraints.find((c) => c.kind === 'p')?.columns ?? [] };
  }
  return { schema, tables: models, complete: true };
}
