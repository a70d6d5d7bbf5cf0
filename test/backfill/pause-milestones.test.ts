import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pauseCommand } from '../../lib/cli/pause-command';
import { Phase } from '../../lib/constants';
import { backfillMilestone, formatEta, type BackfillInvocationResult } from '../../lib/phases/backfill';
import { seedProducts } from '../e2e/e2e-helpers';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database';
import { PhaseDriver } from '../harness/run-phases';

jest.setTimeout(120_000);

const ROWS = 6000;

/** Fixed 500-row batches and a 1 s time box minus the 1 s margin: exactly one batch per invocation. */
const SPEC = {
  name: 'pause-milestones',
  table: { name: 'Product' },
  operation: { type: 'convert-column', column: 'price', newColumn: 'price_cents', newType: 'integer', using: 'round(price * 100)' },
  backfill: { batchSize: 500, pauseMs: 0, maxSecondsPerInvocation: 1 },
};

describe('backfillMilestone', () => {
  it.each([
    [{ before: 0, after: 200, estimate: 1000, done: false }, null],
    [{ before: 200, after: 250, estimate: 1000, done: false }, 25],
    [{ before: 249, after: 760, estimate: 1000, done: false }, 75],
    [{ before: 250, after: 400, estimate: 1000, done: false }, null],
    [{ before: 900, after: 1000, estimate: 1000, done: false }, null],
    [{ before: 900, after: 1000, estimate: 1000, done: true }, 100],
    [{ before: 0, after: 0, estimate: 0, done: true }, 100],
    [{ before: 0, after: 10, estimate: 0, done: false }, null],
  ])('%j → %p', (input, expected) => {
    expect(backfillMilestone(input)).toBe(expected);
  });

  it('formats the ETA', () => {
    expect(formatEta(0, 100)).toBe('0s');
    expect(formatEta(1000, 0)).toBe('unknown');
    expect(formatEta(4500, 100)).toBe('45s');
    expect(formatEta(20_000, 100)).toBe('3m 20s');
    expect(formatEta(3_720_000, 1000)).toBe('1h 2m');
  });
});

describe('pause/resume and milestones on real Postgres through the Data API emulator', () => {
  let db: TestDatabase;
  let specFile: string;
  const lines: string[] = [];
  const write = (line: string) => void lines.push(line);
  beforeEach(async () => {
    db = await createTestDatabase('pause');
    await seedProducts(db, ROWS);
    specFile = join(mkdtempSync(join(tmpdir(), 'stepwise-pause-')), 'spec.json');
    writeFileSync(specFile, JSON.stringify(SPEC));
    lines.length = 0;
  });
  afterEach(async () => db.close());

  async function expanded(): Promise<PhaseDriver> {
    const driver = new PhaseDriver(db.executor, SPEC);
    await driver.run(Phase.Preflight);
    await driver.run(Phase.Backup);
    await driver.run(Phase.Expand);
    return driver;
  }

  const progress = async () =>
    (await db.pg.query(`SELECT cursor, rows_done::int, paused FROM _stepwise.migrations WHERE name = 'pause-milestones'`)).rows[0] as { cursor: string; rows_done: number; paused: boolean };

  it('reports each of 25/50/75/100 % once, on the invocation that crossed it, with rate and ETA', async () => {
    const driver = await expanded();
    const seen: { rows: number; milestone: number | null | undefined; eta: string }[] = [];
    let result: BackfillInvocationResult;
    do {
      result = (await driver.run(Phase.Backfill)) as BackfillInvocationResult;
      seen.push({ rows: result.rows, milestone: result.milestone, eta: result.eta });
    } while (!result.done);
    expect(result.estimatedRows).toBe(ROWS);
    const milestones = seen.filter((s) => s.milestone !== null && s.milestone !== undefined);
    expect(milestones.map((m) => [m.milestone, m.rows])).toEqual([[25, 1500], [50, 3000], [75, 4500], [100, ROWS]]);
    expect(milestones.at(-1)?.eta).toBe('0s');
    expect(seen[0]?.eta).toMatch(/^(\d+h \d+m|\d+m \d+s|\d+s|unknown)$/);
  });

  it('`stepwise pause` stops the backfill mid-way without progress; `stepwise resume` completes it from the cursor', async () => {
    const driver = await expanded();
    await driver.run(Phase.Backfill);
    await driver.run(Phase.Backfill);
    const before = await progress();
    expect(before.rows_done).toBe(1000);

    expect(await pauseCommand(true, { spec: specFile, databaseUrl: db.url }, write)).toBe(0);
    expect(lines.at(-1)).toMatch(/^paused "pause-milestones" \(phase backfill, 1000 rows done, cursor 1000\)/);
    expect((await progress()).paused).toBe(true);

    for (let i = 0; i < 2; i += 1) {
      const paused = (await driver.run(Phase.Backfill)) as BackfillInvocationResult;
      expect(paused).toMatchObject({ paused: true, done: false, invocationBatches: 0, rows: 1000, cursor: '1000', milestone: null });
      expect(paused.waitSeconds).toBeGreaterThan(0);
    }
    expect(await progress()).toEqual({ cursor: '1000', rows_done: 1000, paused: true });

    expect(await pauseCommand(false, { spec: specFile, databaseUrl: db.url }, write)).toBe(0);
    expect(lines.at(-1)).toMatch(/^resumed "pause-milestones"/);
    const done = await driver.backfill();
    expect(done).toMatchObject({ done: true, rows: ROWS });
    const check = await db.pg.query(`SELECT count(*) FILTER (WHERE price_cents IS DISTINCT FROM round(price * 100)::integer)::int AS wrong FROM "Product"`);
    expect(check.rows[0].wrong).toBe(0);
    expect(await progress()).toMatchObject({ rows_done: ROWS, paused: false });
  });

  it('refuses a migration that has not started on the database, and a missing database', async () => {
    expect(await pauseCommand(true, { spec: specFile, databaseUrl: db.url }, write)).toBe(1);
    expect(lines.at(-1)).toMatch(/has no row in the state table/);
    await expect(pauseCommand(true, { spec: specFile }, write)).rejects.toThrow(/no database given/);
    await expect(pauseCommand(true, { spec: specFile, clusterArn: 'arn:aws:rds:us-east-1:1:cluster:x' }, write)).rejects.toThrow(/go together/);
  });
});
