/**
 * Recovery without SQL: `stepwise run --local` (the real CLI process) killed with SIGKILL at each phase, then run again
 * with the same spec against the same database, carries the migration on to SUCCEEDED with every row right, without
 * asking again at gates already passed or serving the soak again. Also: a live run is never taken over, Ctrl-C says
 * where the migration is, and `status --spec` shows it.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { RunReport } from '../../lib/report/run-report';
import { tableChecksum, tableSchema } from '../harness/assertions';
import { CLI, stepwise } from '../helpers/run-cli';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database';
import { runbookSpec, seedProducts } from './e2e-helpers';

jest.setTimeout(900_000);

const ROWS = 3000;
const MIGRATION = 'product-price-cents';

interface Row { phase: string; status: string; rows_done: string; execution: string | null; soak: string | null }

/** Starts `run --local` and SIGKILLs it once `when` holds for the state row (or the notifications so far). */
async function runUntilKilled(db: TestDatabase, dir: string, spec: string, when: (row: Row | undefined, notifications: string) => boolean): Promise<string> {
  const child = spawn(process.execPath, [CLI, 'run', '--local', '--spec', spec, '--database-url', db.url, '--auto-approve', '--soak', 'PT2S'], {
    cwd: dir,
    env: { ...process.env, DATABASE_URL: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let done = false;
  void exited.then(() => (done = true));
  while (!done) {
    const row = (await db.pg.query<Row>(`SELECT phase, status, rows_done::text, execution, soak_served_at::text AS soak FROM _stepwise.migrations WHERE name = $1`, [MIGRATION]).catch(() => ({ rows: [] as Row[] }))).rows[0];
    if (when(row, out)) {
      child.kill('SIGKILL');
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  await exited;
  expect(done || child.signalCode === 'SIGKILL').toBe(true);
  // The kill point must have been reached before the run ended by itself, or the test proves nothing.
  expect(out).not.toMatch(/execution SUCCEEDED/);
  return out;
}

async function expectedCents(db: TestDatabase): Promise<Map<string, number>> {
  const { rows } = await db.pg.query<{ id: string; cents: number }>(`SELECT id::text, round(price * 100)::int AS cents FROM "Product"`);
  return new Map(rows.map((r) => [r.id, r.cents]));
}

async function expectEveryRowRight(db: TestDatabase, expected: Map<string, number>): Promise<void> {
  const { rows } = await db.pg.query<{ id: string; cents: number }>(`SELECT id::text, price_cents AS cents FROM "Product"`);
  expect(rows).toHaveLength(expected.size);
  const wrong = rows.filter((r) => expected.get(r.id) !== r.cents);
  expect(wrong).toEqual([]);
  const state = (await db.pg.query(`SELECT status, phase FROM _stepwise.migrations WHERE name = $1`, [MIGRATION])).rows[0];
  expect(state).toEqual({ status: 'succeeded', phase: 'contract' });
}

const notified = (event: string) => (_: Row | undefined, out: string) => out.includes(event);
const KILL_POINTS: readonly { readonly at: string; readonly when: (row: Row | undefined, out: string) => boolean; readonly skipped: readonly string[] }[] = [
  { at: 'backup (table just claimed)', when: (row) => row?.phase === 'backup', skipped: [] },
  { at: 'expand done', when: (row) => row?.phase === 'expand', skipped: ['ApproveStart'] },
  { at: 'the middle of the backfill', when: (row) => row?.phase === 'backfill' && Number(row.rows_done) > 0 && Number(row.rows_done) < ROWS, skipped: ['ApproveStart'] },
  { at: 'verify (backfill announced done)', when: notified(': backfilled'), skipped: ['ApproveStart'] },
  { at: 'constrain done', when: (row) => row?.phase === 'constrain', skipped: ['ApproveStart'] },
  { at: 'the soak', when: notified('new column ready'), skipped: ['ApproveStart'] },
  // The phase after the soak (the re-verification) records it as served.
  { at: 'after the soak (re-verification)', when: (row) => row?.soak != null, skipped: ['ApproveStart', 'ConfirmReadFromNewDeployed', 'the soak'] },
];

describe('run --local killed with SIGKILL, then run again: the migration carries on', () => {
  let dir: string;
  let spec: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'stepwise-resume-'));
    spec = join(dir, 'spec.json');
    // Small batches with a pause, so that the backfill lasts long enough to be killed in its middle.
    writeFileSync(spec, JSON.stringify(runbookSpec({ backfill: { batchSize: 100, pauseMs: 30 } })));
  });

  it.each(KILL_POINTS)('killed at $at: resumes to SUCCEEDED, every row right, passed steps not repeated', async ({ when, skipped }) => {
    const db = await createTestDatabase('resume_kill');
    try {
      await seedProducts(db, ROWS);
      const expected = await expectedCents(db);
      await runUntilKilled(db, dir, spec, when);

      const status = await stepwise(['status', '--spec', spec, '--database-url', db.url], dir);
      expect(status.code).toBe(0);
      expect(status.stdout).toMatch(/status: +running, phase /);
      expect(status.stdout).toMatch(/owner: +execution arn:aws:states:\S+ — no longer runs/);
      expect(status.stdout).toContain(`stepwise run --local --spec ${spec} --database-url`);
      expect(status.stdout).toContain(`stepwise rollback --spec ${spec} --database-url`);

      const report = join(dir, 'report.json');
      const resumed = await stepwise(['run', '--local', '--spec', spec, '--database-url', db.url, '--auto-approve', '--soak', 'PT2S', '--report', report], dir);
      expect(resumed.stderr).toBe('');
      expect(resumed.code).toBe(0);
      expect(resumed.stdout).toMatch(/resuming migration "product-price-cents" from phase \S+ .*no longer runs, this run takes the migration over/);
      if (skipped.length) expect(resumed.stdout).toContain(`already passed, not asked again: ${skipped.join(', ')}`);
      else expect(resumed.stdout).not.toContain('already passed');
      const phases = (JSON.parse(readFileSync(report, 'utf8')) as RunReport).phases.map((p) => p.name);
      for (const step of skipped) expect(phases).not.toContain(step === 'the soak' ? 'Soak' : step);
      await expectEveryRowRight(db, expected);
    } finally {
      await db.close();
    }
  });

  // Killed before Constrain (the application was never told to use the new column): `stepwise rollback` undoes it all.
  it.each(KILL_POINTS.slice(0, 4))('killed at $at, then `stepwise rollback`: schema and data checksum back to what they were', async ({ when }) => {
    const db = await createTestDatabase('rollback_kill');
    try {
      await seedProducts(db, ROWS);
      const schema = await tableSchema(db.pg, 'Product');
      const checksum = await tableChecksum(db.pg, 'Product', 'id');
      await runUntilKilled(db, dir, spec, when);
      const rolledBack = await stepwise(['rollback', '--spec', spec, '--database-url', db.url], dir);
      expect(rolledBack.code).toBe(0);
      expect(rolledBack.stdout).toContain('product-price-cents: rolled back');
      expect(await tableSchema(db.pg, 'Product')).toBe(schema);
      expect(await tableChecksum(db.pg, 'Product', 'id')).toBe(checksum);
      const state = (await db.pg.query(`SELECT status FROM _stepwise.migrations WHERE name = $1`, [MIGRATION])).rows[0];
      expect(state?.status).toBe('rolled_back');
    } finally {
      await db.close();
    }
  });

  it('--repeat-gates asks again at the gates the earlier run passed', async () => {
    const db = await createTestDatabase('resume_repeat');
    try {
      await seedProducts(db, ROWS);
      const expected = await expectedCents(db);
      await runUntilKilled(db, dir, spec, (row) => row?.soak != null);
      const report = join(dir, 'report-repeat.json');
      const resumed = await stepwise(['run', '--local', '--spec', spec, '--database-url', db.url, '--auto-approve', '--soak', 'PT0S', '--repeat-gates', '--report', report], dir);
      expect(resumed.code).toBe(0);
      expect(resumed.stdout).not.toContain('already passed');
      const phases = (JSON.parse(readFileSync(report, 'utf8')) as RunReport).phases.map((p) => p.name);
      expect(phases).toEqual(expect.arrayContaining(['ApproveStart', 'ConfirmReadFromNewDeployed', 'Soak', 'ApproveContract']));
      await expectEveryRowRight(db, expected);
    } finally {
      await db.close();
    }
  });

  it('a run of the migration that is alive is never taken over: refused, nothing changed', async () => {
    const db = await createTestDatabase('resume_alive');
    const holder = new pg.Client({ connectionString: db.url });
    try {
      await seedProducts(db, 200);
      const before = await tableSchema(db.pg, 'Product');
      // What a live `run --local` of the migration holds (lib/cli/run-lock.ts), from another session.
      await holder.connect();
      await holder.query('SELECT pg_advisory_lock(21335, hashtext($1))', [MIGRATION]);
      const result = await stepwise(['run', '--local', '--spec', spec, '--database-url', db.url, '--auto-approve'], dir);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/error SW_MIGRATION_RUNNING: another `stepwise run --local` of migration "product-price-cents" is running against this database \(nothing changed\)/);
      expect(await tableSchema(db.pg, 'Product')).toBe(before);
      expect((await db.pg.query(`SELECT to_regclass('_stepwise.migrations') AS t`)).rows[0].t).toBeNull();
    } finally {
      await holder.end();
      await db.close();
    }
  });

  it('Ctrl-C during run --local says where the migration is and the commands that resume or undo it', async () => {
    const db = await createTestDatabase('resume_sigint');
    try {
      await seedProducts(db, ROWS);
      const child = spawn(process.execPath, [CLI, 'run', '--local', '--spec', spec, '--database-url', db.url, '--auto-approve'], { cwd: dir, env: { ...process.env, DATABASE_URL: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      for (;;) {
        const row = (await db.pg.query(`SELECT rows_done FROM _stepwise.migrations WHERE name = $1`, [MIGRATION]).catch(() => ({ rows: [] }))).rows[0];
        if (row && Number(row.rows_done) > 0) break;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      child.kill('SIGINT');
      expect(await exited).toBe(130);
      expect(err).toBe('');
      expect(out).not.toContain('SW_SFN_UNREACHABLE');
      expect(out).toMatch(/interrupted \(SIGINT\): execution arn:aws:states:\S+ is stopped; the migration stays where it was, nothing is rolled back\./);
      expect(out).toMatch(/status: +running, phase backfill/);
      expect(out).toMatch(/resume it from phase backfill[^\n]*:\n +stepwise run --local --spec \S+ --database-url /);
      expect(out).toMatch(/undo it[^\n]*:\n +stepwise rollback --spec \S+ --database-url /);
    } finally {
      await db.close();
    }
  });
});
