import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rollbackCommand } from '../../lib/cli/rollback-command';
import { Phase } from '../../lib/constants';
import { runPhase } from '../../lib/phases/run-phase';
import { runbookSpec, seedProducts } from '../e2e/e2e-helpers';
import { columnMustHaveType, tableChecksum, tableMustBeCleanedUp, tableSchema } from '../harness/assertions';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database';
import { stepwise } from '../helpers/run-cli';

jest.setTimeout(120_000);

const KILLED = 'arn:aws:states:us-east-1:000000000000:execution:stepwise:killed';

/** Runs phases as execution `KILLED` would have, then stops: the process died, nothing rolled back. */
async function runThenDie(db: TestDatabase, spec: unknown, phases: readonly Phase[], backfillInvocations: number) {
  let state: Record<string, unknown> = { spec };
  const run = async (phase: Phase, slot: string = phase) => {
    state = { ...state, [slot]: await runPhase(phase, { state: state as never, slot, execution: KILLED }, { db: db.executor, sleep: async () => undefined }) };
    return state[slot] as { done?: boolean };
  };
  for (const phase of phases) {
    if (phase === Phase.Backfill) {
      for (let i = 0; i < backfillInvocations; i += 1) if ((await run(phase)).done) break;
    } else if (phase === Phase.Verify) {
      while (!(await run(phase)).done);
    } else {
      await run(phase);
    }
  }
}

describe('stepwise rollback --spec F --database-url URL', () => {
  let db: TestDatabase;
  let dir: string;
  beforeEach(async () => {
    db = await createTestDatabase('cli_rollback');
    await seedProducts(db, 600);
    dir = mkdtempSync(join(tmpdir(), 'stepwise-rollback-'));
  });
  afterEach(async () => db.close());
  const snapshot = async () => ({ schema: await tableSchema(db.pg, 'Product'), data: await tableChecksum(db.pg, 'Product', 'id') });
  const specFile = (spec: unknown) => {
    const file = join(dir, 'spec.json');
    writeFileSync(file, JSON.stringify(spec));
    return file;
  };

  it('undoes a migration whose execution was killed in the backfill: schema and data checksum back to what they were', async () => {
    const before = await snapshot();
    // Fixed batches of 100 and a short time box: the killed run stops in the backfill phase.
    const spec = runbookSpec({ backfill: { batchSize: 100, pauseMs: 0, maxSecondsPerInvocation: 1 } });
    await runThenDie(db, spec, [Phase.Preflight, Phase.Backup, Phase.Expand, Phase.Backfill], 1);
    const row = (await db.pg.query(`SELECT status, execution FROM _stepwise.migrations`)).rows[0];
    expect(row).toEqual({ status: 'running', execution: KILLED });

    const cli = await stepwise(['rollback', '--spec', specFile(spec), '--database-url', db.url], dir);

    expect(cli.stderr).toBe('');
    expect(cli.code).toBe(0);
    expect(cli.stdout).toContain(`is running for execution ${KILLED} (phase backfill); rolling back on its behalf`);
    expect(cli.stdout).toContain('product-price-cents: rolled back');
    expect(cli.stdout).toContain('  dropped: column "new_price_cents" of public."Product"');
    expect(cli.stdout).not.toContain('kept:');
    expect(await snapshot()).toEqual(before);
    await tableMustBeCleanedUp(db.pg, 'Product');
    expect((await db.pg.query(`SELECT status FROM _stepwise.migrations`)).rows[0].status).toBe('rolled_back');

    // Run again: nothing is left to undo, and it says so (exit 1, nothing changed).
    const again = await stepwise(['rollback', '--spec', specFile(spec), '--database-url', db.url], dir);
    expect(again.code).toBe(1);
    expect(again.stdout).toMatch(/NOT rolled back[\s\S]*is already rolled_back[\s\S]*Nothing is left to undo/);
    expect(await snapshot()).toEqual(before);
  });

  it('after Constrain (the team was told to deploy the reader) keeps the new column and the backup, and says why', async () => {
    const spec = runbookSpec();
    await runThenDie(db, spec, [Phase.Preflight, Phase.Backup, Phase.Expand, Phase.Backfill, Phase.Verify, Phase.Constrain], 100);
    const data = await tableChecksum(db.pg, 'Product', 'id');
    const lines: string[] = [];

    const code = await rollbackCommand({ spec: specFile(spec), databaseUrl: db.url }, (line) => lines.push(line));

    expect(code).toBe(0);
    const out = lines.join('\n');
    expect(out).toContain('product-price-cents: sync removed, new column "new_price_cents" kept');
    expect(out).toMatch(/because constrain finished and the team was told to deploy the application reading "new_price_cents"/);
    expect(out).toContain('  kept:    column "new_price_cents" of public."Product"');
    expect(out).toContain('  kept:    backup table "_stepwise"."_stepwise_product-price-cents_backup"');
    expect(out).toContain('  dropped: trigger "_stepwise_product-price-cents_sync" on public."Product"');
    await columnMustHaveType(db.pg, 'Product', 'new_price_cents', 'integer');
    expect(await tableChecksum(db.pg, 'Product', 'id')).toEqual(data);
  });

  it('refuses a spec that never ran here, changing nothing', async () => {
    const before = await snapshot();
    const lines: string[] = [];
    const code = await rollbackCommand({ spec: specFile(runbookSpec()), databaseUrl: db.url }, (line) => lines.push(line));
    expect(code).toBe(1);
    expect(lines.join('\n')).toContain('has no row in the state table: it has not started on this database (nothing changed)');
    expect(await snapshot()).toEqual(before);
  });
});
