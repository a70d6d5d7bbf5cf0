import * as fs from 'node:fs';
import * as path from 'node:path';
import { emptySchema, tableIn, type SchemaFacts } from '../../lib/catalog/schema-facts';
import { applyMigration } from '../../lib/operations/schema';
import { loadPgrollMigrationFile, parsePgrollMigration } from '../../lib/spec/pgroll';

const EXAMPLES = path.join(__dirname, '..', '..', '..', 'shared', 'pgroll-examples');
const exampleFiles = fs.readdirSync(EXAMPLES).filter((f) => f.endsWith('.yaml')).sort();

/** pgroll's examples applied in file order, as `pgroll migrate examples` does: the schema after each. */
function applyExamples(upTo = exampleFiles.length): { schema: SchemaFacts; issues: string[] } {
  let schema = emptySchema();
  const issues: string[] = [];
  for (const file of exampleFiles.slice(0, upTo)) {
    const result = applyMigration(schema, loadPgrollMigrationFile(path.join(EXAMPLES, file)));
    issues.push(...result.issues.map((i) => `${file} ${i.path}: ${i.code} ${i.message}`));
    schema = result.schema;
  }
  return { schema, issues };
}

function issuesOf(schema: SchemaFacts, operations: unknown[]) {
  return applyMigration(schema, parsePgrollMigration({ operations }, '99_test')).issues;
}

describe('the schema model threaded through operations (no database)', () => {
  it("applies pgroll's 56 examples in order without an issue", () => {
    expect(applyExamples().issues).toEqual([]);
  });

  it('leaves the schema the examples build: renames, drops, keys and constraints followed', () => {
    const { schema } = applyExamples();
    expect(tableIn(schema, 'customers')).toBeUndefined();
    expect(tableIn(schema, 'clients')?.primaryKey).toEqual(['id']); // 04_rename_table
    expect(tableIn(schema, 'products')).toBeDefined(); // dropped by 07, created again by 56
    expect(tableIn(schema, 'fruits')?.columns.map((c) => c.name)).not.toContain('price'); // 09_drop_column
    expect(tableIn(schema, 'employees')?.columns.map((c) => c.name)).toContain('job_title'); // 13_rename_column
    const posts = tableIn(schema, 'posts')!;
    expect(posts.constraints.map((c) => c.name)).not.toContain('fk_users_id'); // added by 21, dropped by 24
    expect(tableIn(schema, 'sellers')?.primaryKey).toEqual(['name', 'zip']); // composite key, 01
    expect(tableIn(schema, 'tasks')?.primaryKey).toEqual(['id']); // 55: create_constraint primary_key
    const reviews = tableIn(schema, 'reviews')!;
    expect(reviews.columns.find((c) => c.name === 'review')?.nullable).toBe(false); // 16_set_nullable
    expect(tableIn(schema, 'events')?.columns.find((c) => c.name === 'name')?.comment).toBeUndefined(); // 36 set it to null
    expect(schema.complete).toBe(false); // raw sql ran (05, 32, 40): unknown objects may exist
  });

  it('a column without nullable is NOT NULL, as in pgroll', () => {
    const { schema } = applyExamples(1);
    const bills = tableIn(schema, 'bills')!;
    expect(bills.columns.find((c) => c.name === 'date')?.nullable).toBe(false);
    expect(tableIn(schema, 'customers')?.columns.find((c) => c.name === 'credit_card')?.nullable).toBe(true);
  });
});

describe('operations refused against the schema, each naming the field and the fix', () => {
  const base = applyMigration(
    emptySchema(),
    parsePgrollMigration(
      {
        operations: [
          { create_table: { name: 'users', columns: [{ name: 'id', type: 'integer', pk: true }, { name: 'email', type: 'text', unique: true }] } },
          { create_table: { name: 'orders', columns: [{ name: 'id', type: 'integer', pk: true }, { name: 'user_id', type: 'integer', references: { name: 'orders_user_fk', table: 'users', column: 'id' } }] } },
          { create_index: { name: 'orders_user_idx', table: 'orders', columns: [{ column: 'user_id' }] } },
        ],
      },
      '01_base',
    ),
  ).schema;

  it.each([
    ['a table that does not exist', [{ add_column: { table: 'user', column: { name: 'x', type: 'int', nullable: true } } }], 'SW_TABLE_NOT_FOUND', '$.operations[0].add_column.table'],
    ['a column that already exists', [{ add_column: { table: 'users', column: { name: 'email', type: 'text' } } }], 'SW_COLUMN_EXISTS', '$.operations[0].add_column.column.name'],
    ['a column that does not exist', [{ drop_column: { table: 'users', column: 'name' } }], 'SW_COLUMN_NOT_FOUND', '$.operations[0].drop_column.column'],
    ['a table name in use', [{ create_table: { name: 'orders', columns: [{ name: 'id', type: 'int' }] } }], 'SW_NAME_TAKEN', '$.operations[0].create_table.name'],
    ['an index name in use', [{ create_index: { name: 'orders_user_idx', table: 'users', columns: [{ column: 'email' }] } }], 'SW_NAME_TAKEN', '$.operations[0].create_index.name'],
    ['an index that does not exist', [{ drop_index: { name: 'users_email_idx' } }], 'SW_INDEX_NOT_FOUND', '$.operations[0].drop_index.name'],
    ['a constraint that does not exist', [{ drop_multicolumn_constraint: { table: 'orders', name: 'orders_fk', down: {} } }], 'SW_CONSTRAINT_NOT_FOUND', '$.operations[0].drop_multicolumn_constraint.name'],
    ['a foreign key to a missing column', [{ alter_column: { table: 'orders', column: 'user_id', references: { name: 'fk2', table: 'users', column: 'uid' }, up: 'user_id', down: 'user_id' } }], 'SW_REFERENCE_NOT_FOUND', '$.operations[0].alter_column.references'],
    ['a second primary key', [{ create_constraint: { table: 'users', name: 'users_pk2', type: 'primary_key', columns: ['email'] } }], 'SW_PRIMARY_KEY_EXISTS', '$.operations[0].create_constraint.type'],
    ['dropping a referenced table', [{ drop_table: { name: 'users' } }], 'SW_TABLE_REFERENCED', '$.operations[0].drop_table.name'],
    ['renaming onto an existing column', [{ rename_column: { table: 'users', from: 'id', to: 'email' } }], 'SW_COLUMN_EXISTS', '$.operations[0].rename_column.to'],
    ['a column an earlier operation of the same migration dropped', [{ drop_column: { table: 'users', column: 'email' } }, { create_index: { name: 'i', table: 'users', columns: [{ column: 'email' }] } }], 'SW_COLUMN_NOT_FOUND', '$.operations[1].create_index.columns[0].column'],
  ])('%s', (_what, operations, code, where) => {
    const issues = issuesOf(base, operations);
    expect(issues).toEqual(expect.arrayContaining([expect.objectContaining({ code, path: where })]));
    for (const issue of issues) expect(issue.hint.length).toBeGreaterThan(10);
  });

  it('follows a table rename made earlier in the same migration', () => {
    expect(issuesOf(base, [{ rename_table: { from: 'orders', to: 'purchases' } }, { add_column: { table: 'purchases', column: { name: 'note', type: 'text', nullable: true } } }])).toEqual([]);
    expect(issuesOf(base, [{ rename_table: { from: 'orders', to: 'purchases' } }, { add_column: { table: 'orders', column: { name: 'note', type: 'text', nullable: true } } }])[0]?.code).toBe('SW_TABLE_NOT_FOUND');
  });
});
