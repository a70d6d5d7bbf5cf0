import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runbookSpec, seedProducts } from '../e2e/e2e-helpers';
import { tableChecksum, tableSchema } from '../harness/assertions';
import { stepwise } from '../helpers/run-cli';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database';


jest.setTimeout(120_000);


/** A login role with a recognisable password, and the database URL that uses it. */
async function roleUrl(db: TestDatabase, grants: string[]) {
  const role = `sw_cli_${randomBytes(3).toString('hex')}`;
  const password = `Sup3rSecret-${randomBytes(8).toString('hex')}`;
  await db.pg.query(`CREATE ROLE ${role} LOGIN PASSWORD '${password}'`);
  for (const g of grants) await db.pg.query(g.replaceAll('$ROLE', role));
  const url = new URL(db.url);
  url.username = role;
  url.password = password;
  return { role, password, url: url.toString(), drop: async () => { await db.pg.query(`DROP OWNED BY ${role}`); await db.pg.query(`DROP ROLE ${role}`); } };
}

describe('bad input through the real CLI: exit 1, the code on the terminal, the database unchanged', () => {
  let db: TestDatabase;
  let dir: string;
  beforeEach(async () => {
    db = await createTestDatabase('clibad');
    await seedProducts(db, 200);
    dir = mkdtempSync(join(tmpdir(), 'stepwise-bad-'));
  });
  afterEach(async () => db.close());
  const snapshot = async () => ({ schema: await tableSchema(db.pg, 'Product'), data: await tableChecksum(db.pg, 'Product', 'id') });
  const specFile = (content: unknown) => {
    const file = join(dir, `spec-${randomBytes(3).toString('hex')}.json`);
    writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
    return file;
  };
  const expectRefused = async (file: string, code: string, url = db.url) => {
    const before = await snapshot();
    const result = await stepwise(['run', '--local', '--spec', file, '--database-url', url, '--auto-approve'], dir);
    expect(result.code).toBe(1);
    expect(`${result.stderr}\n${result.stdout}`).toContain(code);
    expect(`${result.stderr}\n${result.stdout}`).toMatch(/fix:/);
    expect(await snapshot()).toEqual(before);
    return result;
  };

  it('invalid JSON', async () => {
    const result = await expectRefused(specFile('{"name": "x",'), 'SW_SPEC_INVALID');
    expect(result.stderr).toMatch(/not valid JSON/);
  });

  it('NULLs under notNull', async () => {
    await db.pg.query('ALTER TABLE "Product" ALTER COLUMN price DROP NOT NULL');
    await db.pg.query('UPDATE "Product" SET price = NULL WHERE id = 17');
    await expectRefused(specFile(runbookSpec()), 'SW_NULLS_UNDER_NOT_NULL');
  });

  it('a composite primary key', async () => {
    await db.pg.query('CREATE TABLE "Pair" (a int, b int, price numeric(10,2), PRIMARY KEY (a, b))');
    await expectRefused(specFile(runbookSpec({ table: { name: 'Pair' } })), 'SW_COMPOSITE_KEY');
  });

  it('a migration role with only SELECT, and its password never printed', async () => {
    const ro = await roleUrl(db, [`GRANT CONNECT ON DATABASE "${db.name}" TO $ROLE`, 'GRANT USAGE ON SCHEMA public TO $ROLE', 'GRANT SELECT ON "Product" TO $ROLE']);
    try {
      const result = await expectRefused(specFile(runbookSpec()), 'SW_PRIVILEGES_MISSING', ro.url);
      expect(`${result.stdout}${result.stderr}`).toContain(`GRANT SELECT, UPDATE ON "public"."Product" TO "${ro.role}"`);
      expect(`${result.stdout}${result.stderr}`).not.toContain(ro.password);
    } finally {
      await ro.drop();
    }
  });
});

describe('secrets never reach logs, notifications or reports', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase('secrets');
    await seedProducts(db, 300);
  });
  afterAll(async () => db.close());

  it('a full run: the password is in none of stdout, stderr, the report, the notifications', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stepwise-secret-'));
    const owner = await roleUrl(db, ['ALTER ROLE $ROLE SUPERUSER']);
    try {
      const spec = join(dir, 'spec.json');
      writeFileSync(spec, JSON.stringify(runbookSpec()));
      const report = join(dir, 'report.json');
      const result = await stepwise(['run', '--local', '--spec', spec, '--database-url', owner.url, '--auto-approve', '--soak', 'PT0S', '--report', report], dir);
      expect(result.code).toBe(0);
      const notifications = join(dir, '.stepwise', 'notifications.jsonl');
      expect(existsSync(report) && existsSync(notifications)).toBe(true);
      for (const text of [result.stdout, result.stderr, readFileSync(report, 'utf8'), readFileSync(notifications, 'utf8')]) {
        expect(text).not.toContain(owner.password);
        expect(text).not.toContain(encodeURIComponent(owner.password));
      }
    } finally {
      await owner.drop();
    }
  });

  it('a wrong password: the error does not echo it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stepwise-secret-'));
    const url = new URL(db.url);
    const wrong = `Wr0ngPass-${randomBytes(6).toString('hex')}`;
    url.password = wrong;
    const spec = join(dir, 'spec.json');
    writeFileSync(spec, JSON.stringify(runbookSpec()));
    const result = await stepwise(['run', '--local', '--spec', spec, '--database-url', url.toString(), '--auto-approve'], dir);
    expect(result.code).not.toBe(0);
    expect(`${result.stdout}${result.stderr}`).not.toContain(wrong);
    const notifications = join(dir, '.stepwise', 'notifications.jsonl');
    if (existsSync(notifications)) expect(readFileSync(notifications, 'utf8')).not.toContain(wrong);
  });
});
