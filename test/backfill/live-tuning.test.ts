import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tuneCommand } from '../../lib/cli/pause-command';
import { Phase } from '../../lib/constants';
import { runPhase } from '../../lib/phases/run-phase';
import { seedProducts } from '../e2e/e2e-helpers';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database';
import { PhaseDriver } from '../harness/run-phases';

jest.setTimeout(120_000);

/** Adaptive batches starting at 1000 rows, no rate limit in the spec, a time box long enough for the whole table. */
const SPEC = {
  name: 'live-tuning',
  table: { name: 'Product' },
  operation: { type: 'convert-column', column: 'price', newColumn: 'price_cents', newType: 'integer', using: 'round(price * 100)' },
  backfill: { mode: 'adaptive', batchSize: 1000, pauseMs: 0, maxSecondsPerInvocation: 30, targetBatchMs: 150 },
};

describe('stepwise tune: live batch target and rate limit, read by every batch', () => {
  let db: TestDatabase;
  let specFile: string;
  const lines: string[] = [];
  const write = (line: string) => void lines.push(line);
  beforeEach(async () => {
    db = await createTestDatabase('tune');
    await seedProducts(db, 4000);
    specFile = join(mkdtempSync(join(tmpdir(), 'stepwise-tune-')), 'spec.json');
    writeFileSync(specFile, JSON.stringify(SPEC));
    lines.length = 0;
  });
  afterEach(async () => db.close());

  /** One backfill invocation after expand; the LIMIT of each batch, in order. */
  async function batchLimits(driver: PhaseDriver): Promise<number[]> {
    const limits: number[] = [];
    const log = (message: string, data?: Record<string, unknown>) => void (message === 'backfill batch' && limits.push(Number(data?.limit)));
    await runPhase(Phase.Backfill, { state: driver.state as never, slot: 'backfill' }, { db: db.executor, sleep: async () => undefined, log });
    return limits;
  }

  it('caps every batch at the live rate × target, and `spec` takes the spec’s values back', async () => {
    // Prepare: expanded; the operator limits the running migration to 1000 rows/s.
    const driver = new PhaseDriver(db.executor, SPEC);
    await driver.runThrough(Phase.Expand);
    expect(await tuneCommand({ spec: specFile, databaseUrl: db.url, maxRowsPerSecond: 1000 }, write)).toBe(0);
    expect(lines.join('\n')).toMatch(/rate limit 1000 rows\/s/);

    // Act
    const limits = await batchLimits(driver);

    // Assess: every batch, the first included (the invocation reads the live row before it), holds 1000 rows/s × 150 ms.
    expect(limits.length).toBeGreaterThan(5);
    expect(limits.every((l) => l === 150)).toBe(true);
    const row = (await db.pg.query(`SELECT max_rows_per_second, target_batch_ms, rows_done::int FROM _stepwise.migrations`)).rows[0];
    expect(row).toEqual({ max_rows_per_second: 1000, target_batch_ms: null, rows_done: 4000 });

    // Back to the spec's (no limit): the live column is cleared.
    expect(await tuneCommand({ spec: specFile, databaseUrl: db.url, maxRowsPerSecond: 'spec', targetBatchMs: 40 }, write)).toBe(0);
    const cleared = (await db.pg.query(`SELECT max_rows_per_second, target_batch_ms FROM _stepwise.migrations`)).rows[0];
    expect(cleared).toEqual({ max_rows_per_second: null, target_batch_ms: 40 });
  });

  it('refuses a tune with nothing to change, and a migration that has not started changes nothing', async () => {
    await expect(tuneCommand({ spec: specFile, databaseUrl: db.url }, write)).rejects.toMatchObject({ message: expect.stringMatching(/nothing to tune/) });
    expect(await tuneCommand({ spec: specFile, databaseUrl: db.url, targetBatchMs: 50 }, write)).toBe(1);
    expect(lines.join('\n')).toMatch(/has not started on this database \(nothing changed\)/);
  });
});
