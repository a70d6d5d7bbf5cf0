/** The schema checks operations share: each returns the issues it finds (none when the object is as required). */
import { columnIn, relationNamesIn, tableIn, type SchemaFacts, type TableModel } from '../../catalog/schema-facts';
import type { SchemaIssue } from './schema-change';

/** Collects issues; `table()` returns the table when it exists, so later checks can use it. */
export class SchemaChecks {
  readonly issues: SchemaIssue[] = [];
  constructor(
    private readonly schema: SchemaFacts,
    private readonly at: string,
  ) {}

  private add(code: string, field: string, message: string, hint: string): void {
    this.issues.push({ code, path: field ? `${this.at}.${field}` : this.at, message, hint });
  }

  /** The table must exist (when the model is complete: after a raw sql op only the live catalog knows). */
  table(name: string, field: string): TableModel | undefined {
    const table = tableIn(this.schema, name);
    if (!table && this.schema.complete) {
      this.add('SW_TABLE_NOT_FOUND', field, `table "${name}" does not exist in schema "${this.schema.schema}"`, 'Name an existing table (names are case-sensitive), or create it in an earlier operation or migration.');
    }
    return table;
  }

  /** No table, index or constraint index may have this name yet. */
  relationNameFree(name: string, field: string, what: string): void {
    if (relationNamesIn(this.schema).has(name)) {
      this.add('SW_NAME_TAKEN', field, `${what} "${name}" cannot be created: a table, index or constraint of schema "${this.schema.schema}" already has that name`, 'Choose another name, or drop the existing object in an earlier operation.');
    }
  }

  column(table: TableModel, name: string, field: string): void {
    if (!columnIn(table, name)) {
      this.add('SW_COLUMN_NOT_FOUND', field, `column "${name}" does not exist in table "${table.name}"`, `Name one of the table's columns: ${table.columns.map((c) => c.name).join(', ')}.`);
    }
  }

  columnAbsent(table: TableModel, name: string, field: string): void {
    if (columnIn(table, name)) {
      this.add('SW_COLUMN_EXISTS', field, `column "${name}" already exists in table "${table.name}"`, 'Choose another column name, or drop the existing column in an earlier migration.');
    }
  }

  constraint(table: TableModel, name: string, field: string): void {
    if (!table.constraints.some((c) => c.name === name)) {
      this.add('SW_CONSTRAINT_NOT_FOUND', field, `constraint "${name}" does not exist on table "${table.name}"`, `Name one of the table's constraints: ${table.constraints.map((c) => c.name).join(', ') || '(none)'}.`);
    }
  }

  constraintAbsent(table: TableModel, name: string, field: string): void {
    if (table.constraints.some((c) => c.name === name)) {
      this.add('SW_CONSTRAINT_EXISTS', field, `constraint "${name}" already exists on table "${table.name}"`, 'Choose another constraint name.');
    }
  }

  index(name: string, field: string): void {
    const exists = Object.values(this.schema.tables).some((t) => t.indexes.some((i) => i.name === name));
    if (!exists && this.schema.complete) {
      this.add('SW_INDEX_NOT_FOUND', field, `index "${name}" does not exist in schema "${this.schema.schema}"`, 'Name an existing index (names are case-sensitive).');
    }
  }

  /** A foreign key's target: the table and its columns must exist. */
  references(table: string, columns: readonly string[], field: string): void {
    const target = tableIn(this.schema, table);
    if (!target) {
      if (this.schema.complete) this.add('SW_REFERENCE_NOT_FOUND', `${field}.table`, `referenced table "${table}" does not exist`, 'Reference an existing table, or create it in an earlier operation.');
      return;
    }
    for (const c of columns) if (!columnIn(target, c)) this.add('SW_REFERENCE_NOT_FOUND', field, `referenced column "${table}"."${c}" does not exist`, `Reference a column of "${table}": ${target.columns.map((x) => x.name).join(', ')}.`);
  }
}
