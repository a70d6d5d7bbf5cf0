/**
 * A model of a database schema, as a migration's operations see it: tables with their columns (each with its
 * logical name, the name the application uses, and its physical name, the column that holds it), primary keys,
 * constraints and indexes. Read from the catalog before a migration (`readSchemaFacts`), then threaded through every
 * operation's `apply`, so each operation is validated against the schema the earlier ones leave — without a
 * database. Plain readonly data; every change makes a new object.
 */

/** One column. `physical` differs from `name` while a migration keeps a column under a temporary name. */
export interface ColumnModel {
  readonly name: string;
  readonly physical: string;
  /** As written (`integer`, `varchar(255)`) or as `format_type()` reads it. */
  readonly type: string;
  readonly nullable: boolean;
  /** The default expression; undefined when there is none. */
  readonly default?: string;
  readonly generated?: boolean;
  readonly comment?: string;
}

/** `p` primary key, `u` unique, `c` check, `f` foreign key, `x` exclusion (pg_constraint.contype). */
export type ConstraintKind = 'p' | 'u' | 'c' | 'f' | 'x';

export interface ConstraintModel {
  readonly name: string;
  readonly kind: ConstraintKind;
  /** Columns the constraint is on (logical names). */
  readonly columns: readonly string[];
  /** For a foreign key: the referenced table and columns. */
  readonly references?: { readonly table: string; readonly columns: readonly string[] };
}

export interface IndexModel {
  readonly name: string;
  readonly columns: readonly string[];
  readonly unique: boolean;
}

export interface TableModel {
  readonly name: string;
  readonly columns: readonly ColumnModel[];
  /** Primary-key columns in key order (empty: no primary key). */
  readonly primaryKey: readonly string[];
  readonly constraints: readonly ConstraintModel[];
  readonly indexes: readonly IndexModel[];
}

export interface SchemaFacts {
  /** The Postgres schema (`public`). */
  readonly schema: string;
  readonly tables: Readonly<Record<string, TableModel>>;
  /**
   * False once an operation whose effect cannot be known (raw `sql`) has been applied: later operations are then
   * validated against the live catalog only.
   */
  readonly complete: boolean;
}

/** A schema with no tables. */
export function emptySchema(schema = 'public'): SchemaFacts {
  return { schema, tables: {}, complete: true };
}

export function tableIn(schema: SchemaFacts, name: string): TableModel | undefined {
  return Object.hasOwn(schema.tables, name) ? schema.tables[name] : undefined;
}

export function columnIn(table: TableModel, name: string): ColumnModel | undefined {
  return table.columns.find((c) => c.name === name);
}

/** Every index of the schema with its table (index names are unique per schema in Postgres). */
export function indexesIn(schema: SchemaFacts): { table: string; index: IndexModel }[] {
  return Object.values(schema.tables).flatMap((t) => t.indexes.map((index) => ({ table: t.name, index })));
}

/** Every relation-level name in use: tables, indexes, and the indexes behind unique/primary-key constraints. */
export function relationNamesIn(schema: SchemaFacts): Set<string> {
  const names = new Set(Object.keys(schema.tables));
  for (const t of Object.values(schema.tables)) {
    for (const i of t.indexes) names.add(i.name);
    for (const c of t.constraints) if (c.kind === 'p' || c.kind === 'u' || c.kind === 'x') names.add(c.name);
  }
  return names;
}

/** `schema` with `table` replaced (or added). */
export function withTable(schema: SchemaFacts, table: TableModel): SchemaFacts {
  return { ...schema, tables: { ...schema.tables, [table.name]: table } };
}

/** `schema` without `name`. */
export function withoutTable(schema: SchemaFacts, name: string): SchemaFacts {
  const { [name]: _dropped, ...rest } = schema.tables;
  return { ...schema, tables: rest };
}

/** `table` with one column changed by `change` (by logical name). */
export function withColumn(table: TableModel, name: string, change: (c: ColumnModel) => ColumnModel): TableModel {
  return { ...table, columns: table.columns.map((c) => (c.name === name ? change(c) : c)) };
}

/** Renames a column everywhere it is referenced inside its table. */
export function renameColumnIn(table: TableModel, from: string, to: string): TableModel {
  const rename = (cols: readonly string[]): string[] => cols.map((c) => (c === from ? to : c));
  return {
    ...table,
    columns: table.columns.map((c) => (c.name === from ? { ...c, name: to } : c)),
    primaryKey: rename(table.primaryKey),
    constraints: table.constraints.map((c) => ({ ...c, columns: rename(c.columns) })),
    indexes: table.indexes.map((i) => ({ ...i, columns: rename(i.columns) })),
  };
}

/** Follows a table rename into the foreign keys of every table that references it. */
export function renameReferencedTable(schema: SchemaFacts, from: string, to: string): SchemaFacts {
  const tables = Object.fromEntries(
    Object.entries(schema.tables).map(([name, t]) => [
      name,
      { ...t, constraints: t.constraints.map((c) => (c.references?.table === from ? { ...c, references: { ...c.references, table: to } } : c)) },
    ]),
  );
  return { ...schema, tables };
}
