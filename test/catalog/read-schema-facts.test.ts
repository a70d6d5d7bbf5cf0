import { emptySchema, type SchemaFacts } from '../../lib/catalog/schema-facts';
import { readSchemaFacts } from '../../lib/catalog/read-schema-facts';
import { applyMigration } from '../../lib/operations/schema';
import { parsePgrollMigration } from '../../lib/spec/pgroll';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database';

jest.setTimeout(60_000);

/** The model without what the catalog spells its own way (types, defaults), for comparing the two. */
function shape(schema: SchemaFacts) {
  return Object.fromEntries(
    Object.values(schema.tables).map((t) => [
      t.name,
      {
        columns: t.columns.map((c) => ({ name: c.name, nullable: c.nullable })),
        primaryKey: t.primaryKey,
        constraints: [...t.constraints].sort((a, b) => a.name.localeCompare(b.name)).map((c) => ({ name: c.name, kind: c.kind, columns: c.columns, references: c.references })),
        indexes: t.indexes,
      },
    ]),
  );
}

describe('readSchemaFacts: the schema model read from the catalog through the Data API', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase('schema_facts');
  });
  afterAll(async () => db.close());

  it('reads what the model of the same pgroll operations says, names, keys, constraints and indexes alike', async () => {
    const migration = parsePgrollMigration(
      {
        operations: [
          { create_table: { name: 'users', columns: [{ name: 'id', type: 'integer', pk: true }, { name: 'Email', type: 'text', unique: true }, { name: 'note', type: 'text', nullable: true }] } },
          {
            create_table: {
              name: 'sellers',
              columns: [{ name: 'name', type: 'varchar(255)', pk: true }, { name: 'zip', type: 'integer', pk: true }],
            },
          },
          {
            create_table: {
              name: 'orders',
              columns: [
                { name: 'id', type: 'integer' },
                { name: 'user_id', type: 'integer', references: { name: 'orders_user_fk', table: 'users', column: 'id' } },
                { name: 'seller_name', type: 'varchar(255)' },
                { name: 'seller_zip', type: 'integer' },
                { name: 'qty', type: 'integer', check: { name: 'qty_positive', constraint: 'qty > 0' } },
              ],
              constraints: [
                { name: 'orders_pk', type: 'primary_key', columns: ['id'] },
                { name: 'orders_seller_fk', type: 'foreign_key', columns: ['seller_name', 'seller_zip'], references: { table: 'sellers', columns: ['name', 'zip'] } },
              ],
            },
          },
          { create_index: { name: 'orders_qty_idx', table: 'orders', columns: [{ column: 'qty' }] } },
        ],
      },
      '01_shop',
    );
    const model = applyMigration(emptySchema(), migration);
    expect(model.issues).toEqual([]);
    // The same schema written by hand, as a DBA would have it.
    await db.pg.query(`
      CREATE TABLE users (id integer PRIMARY KEY, "Email" text NOT NULL UNIQUE, note text);
      CREATE TABLE sellers (name varchar(255), zip integer, PRIMARY KEY (name, zip));
      CREATE TABLE orders (id integer NOT NULL, user_id integer NOT NULL CONSTRAINT orders_user_fk REFERENCES users (id),
        seller_name varchar(255) NOT NULL, seller_zip integer NOT NULL, qty integer NOT NULL CONSTRAINT qty_positive CHECK (qty > 0),
        CONSTRAINT orders_pk PRIMARY KEY (id), CONSTRAINT orders_seller_fk FOREIGN KEY (seller_name, seller_zip) REFERENCES sellers (name, zip));
      CREATE INDEX orders_qty_idx ON orders (qty);`);
    const read = await readSchemaFacts(db.executor, 'public');
    expect(shape(read)).toEqual(shape(model.schema));
    expect(read.tables.users?.columns.find((c) => c.name === 'Email')?.type).toBe('text');
    expect(read.tables.sellers?.columns.find((c) => c.name === 'name')?.type).toBe('character varying(255)');
  });

  it('reads a partitioned table as its parent and leaves its partitions out', async () => {
    await db.pg.query(`CREATE TABLE events (id bigint NOT NULL, at date NOT NULL, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
      CREATE TABLE events_2026 PARTITION OF events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');`);
    const read = await readSchemaFacts(db.executor, 'public');
    expect(read.tables.events?.primaryKey).toEqual(['id', 'at']);
    expect(read.tables.events_2026).toBeUndefined();
  });
});
