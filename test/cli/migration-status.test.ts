/** `stepwise status --spec F --database-url URL`: the state row and the table in words, and the next commands (read-only). */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Phase } from '../../lib/constants';
import { runPhase } from '../../lib/phases/run-phase';
import { migrationStatusCommand } from '../../lib/cli/status-command';
import { markPhase, MigrationStatus } from '../../lib/state/migration-state';
import { runbookSpec, seedProducts } from '../e2e/e2e-helpers';
import { tableChecksum, tableSchema } from '../harness/assertions';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database';

jest.setTimeout(120_000);

const dir = mkdtempSync(join(tmpdir(), 'stepwise-status-'));
const specFile = join(dir, 'spec.json');
const spec = runbookSpec();
writeFileSync(specFile, JSON.stringify(spec));
const DEAD = 'arn:aws:states:us-east-1:000000000000:execution:stepwise-local:product-price-cents-1';

let db: TestDatabase;
beforeEach(async () => {
  db = await createTestDatabase('status_spec');
  await seedProducts(db, 200);
});
afterEach(async () => db.close());

async function status(json = false): Promise<string> {
  const lines: string[] = [];
  expect(await migrationStatusCommand({ spec: specFile, databaseUrl: db.url, json }, (l) => lines.push(l))).toBe(0);
  return lines.join('\n');
}

it('a migration that never started: says so and how to start it, and writes nothing', async () => {
  const before = { schema: await tableSchema(db.pg, 'Product'), data: await tableChecksum(db.pg, 'Product', 'id') };
  const out = await status();
  expect(out).toContain('migration "product-price-cents" on public.Product\n  not started on this database: no row in the state table, nothing was changed');
  expect(out).toContain(`    start it:\n      stepwise run --local --spec ${specFile} --database-url `);
  expect({ schema: await tableSchema(db.pg, 'Product'), data: await tableChecksum(db.pg, 'Product', 'id') }).toEqual(before);
  expect((await db.pg.query(`SELECT to_regclass('_stepwise.migrations') AS t`)).rows[0].t).toBeNull();
});

it('a run that died after expand: phase, dead owner, what exists, the resume and rollback commands', async () => {
  const state = { spec, approvals: { ApproveStart: { approved: true } } };
  await runPhase(Phase.Backup, { state: state as never, slot: 'backup', execution: DEAD }, { db: db.executor });
  await runPhase(Phase.Expand, { state: state as never, slot: 'expand', execution: DEAD }, { db: db.executor });
  const out = await status();
  expect(out).toContain('  status:    running, phase expand');
  expect(out).toContain(`  owner:     execution ${DEAD} — no longer runs`);
  expect(out).toContain('  backfill:  cursor (start), 0 rows done');
  expect(out).toContain('  gates passed: ApproveStart; soak not served');
  expect(out).toContain('    old column: present\n    new column: present (integer, nullable)\n    sync trigger: _stepwise_product-price-cents_sync, _stepwise_product-price-cents_sync_upd\n    index idx_products_new_price: present\n    backup copy _stepwise._stepwise_product-price-cents_backup: present');
  expect(out).toMatch(/ {4}resume it from phase expand \(gates already passed are not asked again; add --repeat-gates to ask them\):\n {6}stepwise run --local --spec \S+ --database-url postgres:\/\/\S+/);
  expect(out).toMatch(/ {4}undo it \(drops what the migration added; the old column is untouched\):\n {6}stepwise rollback --spec \S+ --database-url /);
  const password = new URL(db.url).password;
  if (password) expect(out).not.toContain(password);
  const view = JSON.parse(await status(true)) as { row: { phase: string; execution: string }; ownerRunning: boolean; next: { command: string }[] };
  expect(view).toMatchObject({ row: { phase: 'expand', execution: DEAD }, ownerRunning: false });
  expect(view.next.map((n) => n.command.split(' ').slice(0, 2).join(' '))).toEqual(['stepwise run', 'stepwise rollback']);
});

it('a finished migration: done, nothing to do', async () => {
  await runPhase(Phase.Backup, { state: { spec } as never, slot: 'backup', execution: DEAD }, { db: db.executor });
  await markPhase(db.executor, spec.name, Phase.Contract, MigrationStatus.Succeeded);
  const out = await status();
  expect(out).toContain('  status:    succeeded, phase contract');
  expect(out).toMatch(/ {2}done: nothing to do$/);
});
