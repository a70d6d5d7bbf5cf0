import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SpecError } from '../../lib/errors';
import { loadPgrollMigrationFile, parsePgrollMigration, PGROLL_OPERATION_TYPES } from '../../lib/spec/pgroll';

/** pgroll's own example migrations (test data beside the project, never copied into it). */
const EXAMPLES = path.join(__dirname, '..', '..', '..', 'shared', 'pgroll-examples');
const exampleFiles = fs.existsSync(EXAMPLES) ? fs.readdirSync(EXAMPLES).filter((f) => /\.(ya?ml|json)$/.test(f)).sort() : [];

function problemsOf(doc: unknown, name = '01_test'): string[] {
  try {
    parsePgrollMigration(doc, name);
  } catch (err) {
    expect(err).toBeInstanceOf(SpecError);
    return (err as SpecError).details.problems as string[];
  }
  throw new Error('expected the migration to be refused');
}

describe('pgroll migration files', () => {
  it('finds pgroll\'s 56 examples beside the project', () => {
    expect(exampleFiles).toHaveLength(56);
  });

  it.each(exampleFiles)('parses %s unchanged, named after the file', (file) => {
    const migration = loadPgrollMigrationFile(path.join(EXAMPLES, file));
    expect(migration.name).toBe(file.replace(/\.(ya?ml|json)$/, ''));
    expect(migration.operations.length).toBeGreaterThan(0);
    for (const op of migration.operations) expect(PGROLL_OPERATION_TYPES).toContain(op.type);
  });

  it('covers every pgroll operation type across the examples', () => {
    const seen = new Set(exampleFiles.flatMap((f) => loadPgrollMigrationFile(path.join(EXAMPLES, f)).operations.map((o) => o.type)));
    expect([...PGROLL_OPERATION_TYPES].filter((t) => !seen.has(t))).toEqual([]);
  });

  it('keeps pgroll\'s field values: a column without nullable stays undecided (NOT NULL), version_schema, null defaults', () => {
    const created = loadPgrollMigrationFile(path.join(EXAMPLES, '01_create_tables.yaml')).operations[0]!;
    expect(created.type).toBe('create_table');
    if (created.type !== 'create_table') throw new Error('unreachable');
    expect(created.op.columns.find((c) => c.name === 'name')).toEqual({ name: 'name', type: 'varchar(255)', unique: true });
    expect(created.op.columns.find((c) => c.name === 'credit_card')?.nullable).toBe(true);
    expect(loadPgrollMigrationFile(path.join(EXAMPLES, '56_with_version_schema.yaml')).versionSchema).toBe('with_version_schema');
    const dropDefault = loadPgrollMigrationFile(path.join(EXAMPLES, '46_alter_column_drop_default.yaml')).operations[0]!;
    expect(dropDefault.op).toMatchObject({ default: null });
  });

  it('reads JSON files and Stepwise settings beside the operations, with their defaults', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stepwise-pgroll-'));
    try {
      const file = path.join(dir, '07_add_rating.json');
      fs.writeFileSync(file, JSON.stringify({ operations: [{ add_column: { table: 'reviews', column: { name: 'rating', type: 'integer', nullable: true } } }], soak: 'PT1H', backfill: { batchSize: 500 } }));
      const migration = loadPgrollMigrationFile(file);
      expect(migration.name).toBe('07_add_rating');
      expect(migration.settings.soak).toBe('PT1H');
      expect(migration.settings.backfill).toMatchObject({ batchSize: 500 });
      expect(migration.settings.lockTimeoutMs).toBe(500);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('bad pgroll migrations are refused with the field and the fix', () => {
  it.each([
    ['an unknown field of an operation', { operations: [{ drop_table: { name: 't', cascade: true } }] }, '$.operations[0].drop_table: unknown field "cascade"'],
    ['an unknown operation', { operations: [{ drop_everything: {} }] }, '$.operations[0]: unknown operation "drop_everything"'],
    ['two operations in one item', { operations: [{ drop_table: { name: 'a' }, drop_index: { name: 'b' } }] }, 'exactly one key'],
    ['a missing required field', { operations: [{ add_column: { table: 't' } }] }, '$.operations[0].add_column.column'],
    ['an unknown top-level field', { operations: [{ drop_table: { name: 't' } }], verison_schema: 'x' }, 'unknown field "verison_schema"'],
    ['no operations', { operations: [] }, '$.operations: must list at least one operation'],
    ['an alter_column that changes nothing', { operations: [{ alter_column: { table: 't', column: 'c', up: 'c', down: 'c' } }] }, 'must change something'],
    ['a check constraint without its expression', { operations: [{ create_constraint: { table: 't', name: 'c', type: 'check', up: {}, down: {} } }] }, 'check: is required for a check constraint'],
    ['a foreign key without references', { operations: [{ create_constraint: { table: 't', name: 'c', type: 'foreign_key', columns: ['a'] } }] }, 'references: is required for a foreign_key constraint'],
    ['an index method pgroll does not know', { operations: [{ create_index: { table: 't', name: 'i', columns: [{ column: 'a' }], method: 'rtree' } }] }, '$.operations[0].create_index.method'],
    ['a replica identity index without its name', { operations: [{ set_replica_identity: { table: 't', identity: { type: 'index' } } }] }, 'identity.index: is required when type is index'],
    ['sql beside another operation', { operations: [{ sql: { up: 'SELECT 1' } }, { drop_table: { name: 't' } }] }, 'a sql operation must be the only operation'],
    ['sql with onComplete and down', { operations: [{ sql: { up: 'SELECT 1', down: 'SELECT 2', onComplete: true } }] }, 'an onComplete sql operation has no "down"'],
    ['a column defined twice', { operations: [{ create_table: { name: 't', columns: [{ name: 'a', type: 'int' }, { name: 'a', type: 'text' }] } }] }, 'column "a" is defined twice'],
    ['an identifier longer than Postgres allows', { operations: [{ drop_table: { name: 'x'.repeat(64) } }] }, 'longer than Postgres allows'],
    ['a bad Stepwise setting beside the operations', { operations: [{ drop_table: { name: 't' } }], soak: 'a week' }, '$.soak'],
  ])('%s', (_what, doc, expected) => {
    const problems = problemsOf(doc);
    expect(problems.join('\n')).toContain(expected);
  });

  it('refuses a file name that cannot name a migration, and says how to fix it', () => {
    expect(problemsOf({ operations: [{ drop_table: { name: 't' } }] }, 'my migration!').join('\n')).toMatch(/rename the file or set "name"/);
  });

  it('refuses malformed YAML naming the file', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stepwise-pgroll-'));
    try {
      const file = path.join(dir, '01_bad.yaml');
      fs.writeFileSync(file, 'operations:\n  - drop_table:\n    name: [unclosed\n');
      expect(() => loadPgrollMigrationFile(file)).toThrow(/01_bad\.yaml is not valid YAML/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
