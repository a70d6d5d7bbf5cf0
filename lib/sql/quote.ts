/**
 * The only way an identifier enters SQL. Doubles embedded quotes, as Postgres' quote_ident does, and always quotes,
 * so mixed-case names like "Product" keep their case.
 *
 * @example quoteIdent('Product') // => "Product"
 */
export function quoteIdent(name: string): string {
  if (name.length === 0) throw new Error('empty identifier');
  if (name.includes('\u0000')) throw new Error('identifier contains a NUL byte');
  return `"${name.replace(/"/g, '""')}"`;
}

/** Schema-qualified, quoted table name: `"public"."Product"`. */
export function quoteTable(table: { schema: string; name: string }): string {
  return `${quoteIdent(table.schema)}.${quoteIdent(table.name)}`;
}

/**
 * A SQL string literal. Only for values that must be literals because Postgres takes no parameter there (DDL such as
 * `COMMENT ON`, `SET LOCAL lock_timeout`); everything else binds parameters.
 */
export function quoteLiteral(value: string): string {
  if (value.includes('\u0000')) throw new Error('literal contains a NUL byte');
  return `'${value.replace(/'/g, "''")}'`;
}
