import type { Pool } from 'pg';

/** Assertion helpers on real Postgres, named like pgroll's (columnMustHaveType, triggerMustNotExist, …). */

export async function columnType(pg: Pool, table: string, column: string, schema = 'public'): Promise<string | undefined> {
  const r = await pg.query(
    `SELECT format_type(atttypid, atttypmod) AS type FROM pg_attribute
      WHERE attrelid = format('%I.%I', $1::text, $2::text)::regclass AND attname = $3 AND NOT attisdropped AND attnum > 0`,
    [schema, table, column],
  );
  return r.rows[0]?.type;
}

export async function columnMustHaveType(pg: Pool, table: string, column: string, type: string, schema = 'public') {
  expect(await columnType(pg, table, column, schema)).toBe(type);
}

export async function columnMustNotExist(pg: Pool, table: string, column: string, schema = 'public') {
  expect(await columnType(pg, table, column, schema)).toBeUndefined();
}

export async function columnMustBeNotNull(pg: Pool, table: string, column: string, schema = 'public') {
  const r = await pg.query(
    `SELECT attnotnull FROM pg_attribute WHERE attrelid = format('%I.%I', $1::text, $2::text)::regclass AND attname = $3`,
    [schema, table, column],
  );
  expect(r.rows[0]?.attnotnull).toBe(true);
}

export async function indexMustBeValid(pg: Pool, index: string, schema = 'public') {
  const r = await pg.query(
    `SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relname = $2`,
    [schema, index],
  );
  expect(r.rows[0]?.indisvalid).toBe(true);
}

/** No trigger, function, constraint, index or column whose name starts with `_stepwise_` is left on the table. */
export async function tableMustBeCleanedUp(pg: Pool, table: string, schema = 'public') {
  const r = await pg.query(
    `SELECT 'trigger' AS kind, tgname::text AS name FROM pg_trigger WHERE tgrelid = format('%I.%I', $1::text, $2::text)::regclass AND tgname LIKE '\\_stepwise\\_%'
     UNION ALL SELECT 'function', proname::text FROM pg_proc WHERE proname LIKE '\\_stepwise\\_%'
     UNION ALL SELECT 'constraint', conname::text FROM pg_constraint WHERE conname LIKE '\\_stepwise\\_%'`,
    [schema, table],
  );
  expect(r.rows).toEqual([]);
}

/** Schema of a table as text (columns, types, nullability, defaults, indexes, triggers, constraints). */
export async function tableSchema(pg: Pool, table: string, schema = 'public'): Promise<string> {
  const r = await pg.query(
    `SELECT string_agg(x, E'\\n' ORDER BY x) AS s FROM (
       SELECT format('column %s %s %s %s', attname, format_type(atttypid, atttypmod), attnotnull, pg_get_expr(d.adbin, d.adrelid)) AS x
         FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE attrelid = format('%I.%I', $1::text, $2::text)::regclass AND attnum > 0 AND NOT attisdropped
       UNION ALL SELECT 'index ' || pg_get_indexdef(indexrelid) FROM pg_index WHERE indrelid = format('%I.%I', $1::text, $2::text)::regclass
       UNION ALL SELECT 'trigger ' || tgname FROM pg_trigger WHERE tgrelid = format('%I.%I', $1::text, $2::text)::regclass AND NOT tgisinternal
       UNION ALL SELECT 'constraint ' || pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = format('%I.%I', $1::text, $2::text)::regclass
     ) s`,
    [schema, table],
  );
  return r.rows[0]?.s ?? '';
}

/** md5 of every row, in key order: equal checksums mean equal data. */
export async function tableChecksum(pg: Pool, table: string, key: string, schema = 'public'): Promise<string> {
  const r = await pg.query(
    `SELECT md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t.${quote(key)}), '')) AS sum FROM ${quote(schema)}.${quote(table)} t`,
  );
  return r.rows[0].sum;
}

const quote = (s: string) => `"${s.replace(/"/g, '""')}"`;
