/**
 * `npm run bench` — Stepwise's backfill against the runbook, on the same freshly built "Product" table.
 *
 *   npm run bench -- [--rows 1000000] [--scaling-rows 100000] [--skip-seed-loop] [--json FILE]
 *                    [--writers 3] [--repeat 1] [--database-url postgres://…] [--autovacuum]
 *                    [--target-batch-ms N] [--parallelism 2|0]
 *
 * Side by side, at --rows and at --scaling-rows:
 *  (a) one plain UPDATE setting the new column;
 *  (b) the runbook's DO $$ LOOP (WHERE new IS NULL LIMIT 1000), without its pg_sleep;
 *  (c) Stepwise's backfill through the whole local stack (synthesized state machine → handler → Data API emulator →
 *      Postgres), pauseMs 0, adaptive batches: the Backfill phase's seconds from the run report;
 *  (d) (c) with concurrent application writers, vs the same writers on an idle table;
 *  (e) the writers' cost with and without the sync trigger.
 * The table is rebuilt (dropped, seeded, VACUUM ANALYZE, CHECKPOINT) before every measurement, so each one starts
 * from the same heap. Autovacuum is off on the bench table unless `--autovacuum`: a 1M-row backfill leaves 1M dead
 * versions, and a background VACUUM that lands inside one measurement (batched runs commit as they go, so it can)
 * and not another (one UPDATE is one transaction, so it cannot) made runs vary by up to 2× here. Not run in CI:
 * timings belong here, never in tests.
 */
import './quiet-env';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { cpus, totalmem, release } from 'node:os';
import pg from 'pg';
import { readTableFacts } from '../lib/catalog/read-table-facts';
import { summarize, type TrafficStats } from '../lib/demo/app-traffic';
import { seedProduct } from '../lib/demo/seed-product';
import { startLocalDataApi, type LocalDataApi } from '../lib/local/local-data-api';
import { runMigrationLocally, type Approver } from '../lib/local/local-twin';
import type { HistoryEvent } from '../lib/local/step-functions';
import { createDatabase, dropDatabase, startPostgres, type PostgresServer } from '../lib/local/postgres-server';
import { operationFor } from '../lib/operations';
import { parseSpec } from '../lib/spec';
import { StateName } from '../lib/workflow/state-names';
import { startWritersProcess, type WritersProcess } from './writers-process';

/** One timed run of the whole workflow on the local twin. */
interface StepwiseRun {
  backfillSeconds: number;
  workflowSeconds: number;
  transitions: number;
  invocations: number;
  batches: number;
  stats?: TrafficStats;
  duringBackfill?: TrafficStats;
}

interface Options {
  rows: number;
  scalingRows: number;
  skipSeedLoop: boolean;
  json?: string;
  writers: number;
  repeat: number;
  databaseUrl?: string;
  autovacuum: boolean;
  targetBatchMs?: number;
  /** Key ranges of the extra parallel run (c'); 0 skips it. */
  parallelism: number;
}

function parseArgs(argv: string[]): Options {
  const opts: Options = { rows: 1_000_000, scalingRows: 100_000, skipSeedLoop: false, writers: 3, repeat: 1, autovacuum: false, parallelism: 2 };
  for (let i = 0; i < argv.length; i += 1) {
    const a = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    const int = () => {
      const n = Number(value().replace(/_/g, ''));
      if (!Number.isInteger(n) || n < 0) throw new Error(`${a} must be a non-negative integer`);
      return n;
    };
    if (a === '--rows') opts.rows = int();
    else if (a === '--scaling-rows') opts.scalingRows = int();
    else if (a === '--skip-seed-loop') opts.skipSeedLoop = true;
    else if (a === '--json') opts.json = value();
    else if (a === '--writers') opts.writers = int();
    else if (a === '--repeat') opts.repeat = Math.max(1, int());
    else if (a === '--database-url') opts.databaseUrl = value();
    else if (a === '--autovacuum') opts.autovacuum = true;
    else if (a === '--target-batch-ms') opts.targetBatchMs = int();
    else if (a === '--parallelism') opts.parallelism = int();
    else if (a === '--help' || a === '-h') {
      console.log('usage: npm run bench -- [--rows N] [--scaling-rows N|0] [--skip-seed-loop] [--json FILE] [--writers N] [--repeat N] [--database-url URL] [--autovacuum] [--target-batch-ms N] [--parallelism N|0]');
      process.exit(0);
    } else throw new Error(`unknown option ${a}`);
  }
  if (opts.rows < 1000) throw new Error('--rows must be at least 1000');
  return opts;
}

const NEW_COLUMN = 'new_price_cents';
const SET_NEW = `UPDATE "Product" SET ${NEW_COLUMN} = round(price * 100)::integer`;

/** The runbook's step 3 exactly as written, minus `PERFORM pg_sleep(0.1)`. */
const RUNBOOK_LOOP = `DO $$
DECLARE
  batch_size INTEGER := 1000;
  processed INTEGER := 0;
BEGIN
  LOOP
    WITH batch AS (
      SELECT id FROM "Product"
      WHERE new_price_cents IS NULL
      LIMIT batch_size
    )
    UPDATE "Product"
    SET new_price_cents = (price * 100)::INTEGER
    WHERE id IN (SELECT id FROM batch);

    GET DIAGNOSTICS processed = ROW_COUNT;
    EXIT WHEN processed = 0;

    RAISE NOTICE 'Processed batch, total rows: %', processed;
  END LOOP;
END $$`;

/** The migration Stepwise runs: the runbook's conversion, adaptive batches, no pause, no soak, no index. */
function benchSpec(name: string, opts: { targetBatchMs?: number | undefined; parallelism?: number | undefined } = {}) {
  return {
    name,
    table: { schema: 'public', name: 'Product' },
    operation: { type: 'convert-column', column: 'price', newColumn: NEW_COLUMN, newType: 'integer', using: 'round(price * 100)', notNull: true, renameTo: 'price_cents' },
    dualWrite: 'trigger',
    backfill: { pauseMs: 0, ...(opts.targetBatchMs ? { targetBatchMs: opts.targetBatchMs } : {}), ...(opts.parallelism && opts.parallelism > 1 ? { parallelism: opts.parallelism } : {}) },
    soak: 'PT0S',
  };
}

const round = (n: number, d = 2) => Math.round(n * 10 ** d) / 10 ** d;
const seconds = (startedMs: number) => (performance.now() - startedMs) / 1000;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;
/** The element whose `by` is the median (lower median for an even count). */
const medianBy = <T>(xs: T[], by: (x: T) => number): T => [...xs].sort((a, b) => by(a) - by(b))[Math.floor((xs.length - 1) / 2)]!;

/** The figures at one table size: times are medians of the rounds, `ratio` the median of the rounds' ratios. */
interface SizeFigures {
  singleUpdateSeconds: number;
  seedLoopSeconds: number | null;
  stepwiseSeconds: number;
  ratio: number;
  ratios: number[];
  transitions: number;
  invocations: number;
  batches: number;
  workflowSeconds: number;
}

class Bench {
  constructor(
    readonly pool: pg.Pool,
    readonly url: string,
    readonly local: LocalDataApi,
    readonly opts: Options,
  ) {}

  log(line: string) {
    process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);
  }

  /** A fresh table: dropped, seeded, VACUUM ANALYZE, CHECKPOINT, VACUUM (visibility map set). */
  async reset(rows: number) {
    await this.pool.query('DROP TABLE IF EXISTS "Product" CASCADE');
    await this.pool.query(`DROP TABLE IF EXISTS _stepwise.migrations`).catch(() => undefined);
    await this.pool.query(`DROP SCHEMA IF EXISTS _stepwise CASCADE`);
    // Backups the local backup phase leaves behind (one per run).
    const backups = await this.pool.query<{ t: string }>(`SELECT format('%I.%I', schemaname, tablename) AS t FROM pg_tables WHERE tablename LIKE '%backup%'`);
    for (const b of backups.rows) await this.pool.query(`DROP TABLE IF EXISTS ${b.t}`);
    await seedProduct(this.pool, rows);
    if (!this.opts.autovacuum) await this.pool.query('ALTER TABLE "Product" SET (autovacuum_enabled = false)');
    await this.pool.query('VACUUM (ANALYZE) "Product"');
    await this.pool.query('CHECKPOINT');
    // A second VACUUM sets the visibility map, as autovacuum leaves a settled table: right after the seed (commits
    // not yet flushed with synchronous_commit off) the first one sets no page all-visible, and the backfill's
    // index-only key scans would then read every heap page (measured: relallvisible 0 → 8,334 of 8,334 pages).
    await this.pool.query('VACUUM "Product"');
  }

  /** Every timed run, by measurement and size, for the JSON (the figures are medians of these). */
  readonly allRuns: Record<string, number[]> = {};

  private record(what: string, rows: number, value: number) {
    (this.allRuns[`${what}@${rows}`] ??= []).push(round(value));
  }

  /** (a) one UPDATE of every row (one timed run). */
  async singleUpdate(rows: number): Promise<number> {
    await this.reset(rows);
    await this.pool.query(`ALTER TABLE "Product" ADD COLUMN ${NEW_COLUMN} integer`);
    const s = await this.onNewSession((client) => client.query(SET_NEW));
    this.record('singleUpdate', rows, s);
    return s;
  }

  /** (b) the runbook's loop, without its sleep. */
  async seedLoop(rows: number): Promise<number> {
    await this.reset(rows);
    await this.pool.query(`ALTER TABLE "Product" ADD COLUMN ${NEW_COLUMN} integer`);
    return this.onNewSession((client) => client.query(RUNBOOK_LOOP));
  }

  /**
   * Times `work` on a database session of its own, opened for it (as psql would), as the Data API emulator opens the
   * sessions Stepwise's batches run on. A session that has already touched the shared buffers (the one that seeded the
   * table) ran the same UPDATE 13-15 % faster here: each new backend maps the shared memory page by page as it first
   * touches it (huge pages are off), and that cost belongs to every variant alike.
   */
  private async onNewSession(work: (client: pg.Client) => Promise<unknown>): Promise<number> {
    const client = new pg.Client({ connectionString: this.url });
    client.on('notice', () => undefined);
    await client.connect();
    try {
      const t = performance.now();
      await work(client);
      return seconds(t);
    } finally {
      await client.end();
    }
  }

  /**
   * (c) and (d), one timed run: the whole workflow on the local twin; `traffic` runs writers from the start gate to
   * read-from-new.
   */
  async stepwise(rows: number, traffic: boolean, parallelism = 1): Promise<StepwiseRun> {
    await this.reset(rows);
    const spec = benchSpec(`bench-${randomBytes(3).toString('hex')}`, { targetBatchMs: this.opts.targetBatchMs, parallelism });
    let writers: WritersProcess | undefined;
    let stats: TrafficStats | undefined;
    let duringBackfill: TrafficStats | undefined;
    // The backfill's window within the writers' run: from the first backfill state to NotifyBackfilled.
    let backfillFrom: Promise<number> | undefined;
    let backfillTo: Promise<number> | undefined;
    const onEvent = (e: HistoryEvent) => {
      const name = e.stateEnteredEventDetails?.name;
      if (!writers || !name) return;
      if (backfillFrom === undefined && (name === StateName.Backfill || name === StateName.SplitKeyRanges)) backfillFrom = writers.mark();
      if (name === StateName.NotifyBackfilled) backfillTo = writers.mark();
    };
    const approver: Approver = async (gate) => {
      if (traffic && gate.stateName === StateName.ApproveStart) writers = await startWritersProcess({ databaseUrl: this.url, maxId: rows, connections: this.opts.writers });
      if (gate.stateName === StateName.ConfirmReadFromNewDeployed && writers) await stopWriters();
      return { approved: true };
    };
    const stopWriters = async () => {
      if (!writers || stats) return;
      if (backfillFrom !== undefined) duringBackfill = await writers.between(await backfillFrom, await (backfillTo ?? writers.mark()));
      stats = await writers.stop();
    };
    const t = performance.now();
    const { result, report, history } = await runMigrationLocally({ spec, sns: () => undefined, approver, maxWaitMs: 0, onEvent });
    const workflowSeconds = seconds(t);
    await stopWriters();
    if (result.status !== 'SUCCEEDED') throw new Error(`stepwise run ${result.status}: ${result.error ?? ''} ${result.cause ?? ''}`);
    const check = await this.pool.query<{ n: number; wrong: number }>(
      `SELECT count(*)::int AS n, count(*) FILTER (WHERE price_cents IS NULL)::int AS wrong FROM "Product"`,
    );
    if (check.rows[0]!.wrong !== 0 || check.rows[0]!.n < rows) throw new Error(`stepwise left ${check.rows[0]!.wrong} rows without a value`);
    const invocations = history.filter((e) => e.stateEnteredEventDetails?.name === StateName.Backfill || e.stateEnteredEventDetails?.name === StateName.BackfillRange).length;
    const run = { backfillSeconds: report.backfill.seconds, workflowSeconds, transitions: report.transitions, invocations, batches: report.backfill.batches, ...(stats ? { stats } : {}), ...(duringBackfill ? { duringBackfill } : {}) };
    this.record(`stepwise${traffic ? 'WithWriters' : ''}${parallelism > 1 ? `Parallel${parallelism}` : ''}`, rows, run.backfillSeconds);
    return run;
  }

  /** (d) baseline: the same writers for `durationS` on a fresh, idle table. */
  async idleWriters(rows: number, durationS: number): Promise<TrafficStats> {
    await this.reset(rows);
    const writers = await startWritersProcess({ databaseUrl: this.url, maxId: rows, connections: this.opts.writers });
    await new Promise((r) => setTimeout(r, durationS * 1000));
    return writers.stop();
  }

  /**
   * (e) one client writing as fast as it can (9 UPDATEs by id, 1 INSERT, repeated), with and without the sync trigger
   * Stepwise's expand installs; plus one UPDATE of every row with and without it (what any bulk write pays).
   */
  async triggerOverhead(rows: number) {
    const writes = 5000;
    const measure = async () => {
      const client = await this.pool.connect();
      const latencies: number[] = [];
      try {
        for (let i = 1; i <= writes; i += 1) {
          const t = performance.now();
          if (i % 10 === 0) await client.query('INSERT INTO "Product" (name, price) VALUES ($1, $2)', [`bench ${i}`, (i % 99999) / 100 + 0.01]);
          else await client.query('UPDATE "Product" SET price = $1, "updatedAt" = now() WHERE id = $2', [(i % 99999) / 100 + 0.01, 1 + ((i * 7919) % rows)]);
          latencies.push(performance.now() - t);
        }
      } finally {
        client.release();
      }
      return summarize(latencies, 0, 100);
    };
    const mean = (s: TrafficStats, total: number) => round(total / s.writes, 4);
    await this.reset(rows);
    await this.pool.query(`ALTER TABLE "Product" ADD COLUMN ${NEW_COLUMN} integer`);
    let t = performance.now();
    const without = await measure();
    const withoutMean = mean(without, (performance.now() - t));
    t = performance.now();
    await this.pool.query(SET_NEW);
    const bulkWithout = seconds(t);

    await this.reset(rows);
    const spec = parseSpec(benchSpec('bench-trigger'));
    const facts = await readTableFacts(this.local.executor, spec.table);
    const { operation, ctx } = operationFor(spec, facts);
    for (const step of operation.expand(ctx)) for (const s of step.statements) await this.local.executor.query(s.sql, s.params);
    t = performance.now();
    const withTrigger = await measure();
    const withMean = mean(withTrigger, (performance.now() - t));
    t = performance.now();
    await this.pool.query(SET_NEW);
    const bulkWith = seconds(t);
    return {
      writes,
      meanWriteMsWithout: withoutMean,
      meanWriteMsWith: withMean,
      p99MsWithout: without.p99Ms,
      p99MsWith: withTrigger.p99Ms,
      perWriteRatio: round(withMean / withoutMean, 3),
      bulkUpdateSecondsWithout: round(bulkWithout),
      bulkUpdateSecondsWith: round(bulkWith),
      bulkUpdateRatio: round(bulkWith / bulkWithout, 3),
    };
  }
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const started = performance.now();
  let server: PostgresServer | undefined;
  const serverUrl = opts.databaseUrl ?? (server = await startPostgres()).url;
  const dbName = `stepwise_bench_${randomBytes(3).toString('hex')}`;
  await createDatabase(serverUrl, dbName);
  const url = new URL(serverUrl);
  url.pathname = `/${dbName}`;
  const local = await startLocalDataApi(url.toString());
  Object.assign(process.env, local.env, { POWERTOOLS_METRICS_DISABLED: 'true', POWERTOOLS_LOG_LEVEL: 'SILENT' });
  const pool = new pg.Pool({ connectionString: url.toString(), max: 4 });
  pool.on('error', () => undefined);
  const bench = new Bench(pool, url.toString(), local, opts);
  try {
    const version = (await pool.query<{ v: string }>('SELECT current_setting(\'server_version\') AS v')).rows[0]!.v;
    const sizes = opts.scalingRows > 0 && opts.scalingRows !== opts.rows ? [opts.scalingRows, opts.rows] : [opts.rows];
    const at: Record<number, SizeFigures> = {};
    let parallel: { run: StepwiseRun; ratio: number; ratios: number[] } | undefined;
    for (const rows of sizes) {
      let loop: number | null = null;
      if (!opts.skipSeedLoop) {
        bench.log(`${rows} rows: (b) runbook DO loop without pg_sleep`);
        loop = await bench.seedLoop(rows);
      }
      // (a), (c) and (c') run in rounds, side by side, and each ratio is the median of the rounds' own ratios: the
      // host's speed drifts over minutes here, and a ratio of two medians measured minutes apart carries that drift.
      // Every other round runs in reverse order, so a drift within a round favours neither side.
      const withParallel = rows === opts.rows && opts.parallelism > 1;
      const rounds: { single: number; stepwise: StepwiseRun; parallel?: StepwiseRun }[] = [];
      for (let r = 0; r < opts.repeat; r += 1) {
        bench.log(`${rows} rows, round ${r + 1}/${opts.repeat}: (a) single UPDATE, (c) stepwise${withParallel ? `, (c') ${opts.parallelism} key ranges` : ''}${r % 2 ? ' (reverse order)' : ''}`);
        const steps: (() => Promise<unknown>)[] = [];
        const cur: Partial<(typeof rounds)[number]> = {};
        steps.push(async () => (cur.single = await bench.singleUpdate(rows)));
        steps.push(async () => (cur.stepwise = await bench.stepwise(rows, false)));
        if (withParallel) steps.push(async () => (cur.parallel = await bench.stepwise(rows, false, opts.parallelism)));
        for (const step of r % 2 ? steps.reverse() : steps) await step();
        rounds.push(cur as (typeof rounds)[number]);
        bench.log(`  single ${round(cur.single!)} s, stepwise ${round(cur.stepwise!.backfillSeconds)} s (×${round(cur.stepwise!.backfillSeconds / cur.single!, 3)})${cur.parallel ? `, ranges ${round(cur.parallel.backfillSeconds)} s (×${round(cur.parallel.backfillSeconds / cur.single!, 3)})` : ''}`);
      }
      const sw = medianBy(rounds.map((r) => r.stepwise), (r) => r.backfillSeconds);
      const single = median(rounds.map((r) => r.single));
      const ratios = rounds.map((r) => round(r.stepwise.backfillSeconds / r.single, 3));
      at[rows] = { singleUpdateSeconds: round(single), seedLoopSeconds: loop === null ? null : round(loop), stepwiseSeconds: round(sw.backfillSeconds), ratio: median(ratios), ratios, transitions: sw.transitions, invocations: sw.invocations, batches: sw.batches, workflowSeconds: round(sw.workflowSeconds) };
      if (withParallel) {
        const ratiosP = rounds.map((r) => round(r.parallel!.backfillSeconds / r.single, 3));
        parallel = { run: medianBy(rounds.map((r) => r.parallel!), (r) => r.backfillSeconds), ratio: median(ratiosP), ratios: ratiosP };
      }
      bench.log(`  ${rows} rows: single ${round(single)} s, loop ${loop === null ? '-' : round(loop)} s, stepwise ${round(sw.backfillSeconds)} s, ratio ${median(ratios)} (${sw.batches} batches, ${sw.invocations} invocations, ${sw.transitions} transitions)`);
    }
    const main = at[opts.rows]!;
    bench.log(`${opts.rows} rows: (d) stepwise with ${opts.writers} concurrent writers`);
    const busy = await bench.stepwise(opts.rows, true);
    bench.log(`${opts.rows} rows: (d) the same writers on an idle table`);
    const idle = await bench.idleWriters(opts.rows, Math.max(5, Math.min(30, busy.backfillSeconds)));
    bench.log(`${opts.rows} rows: (e) writer cost with and without the sync trigger`);
    const trigger = await bench.triggerOverhead(opts.rows);
    const small = sizes.length > 1 ? at[sizes[0]!]! : undefined;

    const figures = {
      rows: opts.rows,
      singleUpdateSeconds: main.singleUpdateSeconds,
      seedLoopSeconds: main.seedLoopSeconds,
      stepwiseSeconds: main.stepwiseSeconds,
      // The median of the rounds' own ratios ((c) and (a) measured side by side); `ratioOfMedians` beside it.
      ratioToSingleUpdate: main.ratio,
      ratioOfMedians: round(main.stepwiseSeconds / main.singleUpdateSeconds, 3),
      ratiosByRound: main.ratios,
      ratioSeedLoopToSingleUpdate: main.seedLoopSeconds === null ? null : round(main.seedLoopSeconds / main.singleUpdateSeconds, 3),
      parallelism: parallel ? opts.parallelism : null,
      stepwiseParallelSeconds: parallel ? round(parallel.run.backfillSeconds) : null,
      ratioParallelToSingleUpdate: parallel ? parallel.ratio : null,
      parallelRatiosByRound: parallel?.ratios ?? null,
      parallelTransitions: parallel?.run.transitions ?? null,
      scaling: small ? round(main.stepwiseSeconds / small.stepwiseSeconds, 2) : null,
      scalingRows: small ? opts.scalingRows : null,
      scalingDetail: small
        ? {
            singleUpdate: round(main.singleUpdateSeconds / small.singleUpdateSeconds, 2),
            seedLoop: main.seedLoopSeconds !== null && small.seedLoopSeconds ? round(main.seedLoopSeconds / small.seedLoopSeconds, 2) : null,
            stepwise: round(main.stepwiseSeconds / small.stepwiseSeconds, 2),
          }
        : null,
      // (d) while the backfill ran (from its first state to NotifyBackfilled), as the issue defines it; the whole-run
      // figures (start gate to read-from-new: backup, expand, verify, constrain too) are beside them.
      writerP99Ms: (busy.duringBackfill ?? busy.stats)?.p99Ms ?? null,
      idleWriterP99Ms: idle.p99Ms,
      writerP50Ms: (busy.duringBackfill ?? busy.stats)?.p50Ms ?? null,
      idleWriterP50Ms: idle.p50Ms,
      lateWrites: (busy.duringBackfill ?? busy.stats)?.lateWrites ?? null,
      idleLateWrites: idle.lateWrites,
      maxWriteStallMs: (busy.duringBackfill ?? busy.stats)?.maxMs ?? null,
      idleMaxWriteStallMs: idle.maxMs,
      writes: (busy.duringBackfill ?? busy.stats)?.writes ?? null,
      wholeRunWriters: busy.stats ?? null,
      failedWrites: busy.stats?.failed ?? null,
      stepwiseSecondsWithWriters: round(busy.backfillSeconds),
      transitions: main.transitions,
      backfillInvocations: main.invocations,
      backfillBatches: main.batches,
      workflowSeconds: main.workflowSeconds,
      triggerOverhead: trigger,
      bySize: at,
      machine: { cpus: cpus().length, cpu: cpus()[0]?.model ?? 'unknown', memoryGiB: round(totalmem() / 2 ** 30, 1), os: release(), node: process.version, postgres: version },
      autovacuum: opts.autovacuum,
      repeat: opts.repeat,
      runs: bench.allRuns,
      command: `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim(),
      benchSeconds: round(seconds(started), 1),
    };
    printTable(figures, at, sizes);
    if (opts.json) {
      writeFileSync(opts.json, `${JSON.stringify(figures, null, 2)}\n`);
      bench.log(`wrote ${opts.json}`);
    }
  } finally {
    await pool.end();
    await local.close();
    await dropDatabase(serverUrl, dbName).catch(() => undefined);
    await server?.stop();
  }
}

function printTable(f: Record<string, unknown> & { rows: number; triggerOverhead: Record<string, number> }, at: Record<number, SizeFigures>, sizes: number[]) {
  const cell = (v: unknown) => (v === null || v === undefined ? '–' : String(v));
  const lines: string[] = [];
  lines.push('', `Backfill of "Product".price → new_price_cents (PostgreSQL ${(f.machine as { postgres: string }).postgres})`, '');
  lines.push(['rows', '(a) single UPDATE s', '(b) runbook loop s', '(c) stepwise s', 'stepwise/single (median of rounds)', 'batches', 'invocations', 'transitions'].join(' | '));
  for (const rows of sizes) {
    const r = at[rows]!;
    lines.push([rows, r.singleUpdateSeconds, cell(r.seedLoopSeconds), r.stepwiseSeconds, `${r.ratio} (rounds: ${r.ratios.join(', ')})`, r.batches, r.invocations, r.transitions].join(' | '));
  }
  if (f.parallelism) lines.push(`${f.rows} rows, ${cell(f.parallelism)} key ranges in parallel: ${cell(f.stepwiseParallelSeconds)} s, stepwise/single ${cell(f.ratioParallelToSingleUpdate)}, ${cell(f.parallelTransitions)} transitions`);
  lines.push('', `scaling (t at ${f.rows} / t at ${cell(f.scalingRows)}): ${cell(f.scaling)}   detail: ${JSON.stringify(f.scalingDetail)}`);
  lines.push('', '(d) writers            | p50 ms | p99 ms | late >100ms | max stall ms | writes');
  lines.push(`during the backfill    | ${cell(f.writerP50Ms)} | ${cell(f.writerP99Ms)} | ${cell(f.lateWrites)} | ${cell(f.maxWriteStallMs)} | ${cell(f.writes)}`);
  const whole = f.wholeRunWriters as TrafficStats | null;
  if (whole) lines.push(`whole run (gate→gate)  | ${whole.p50Ms} | ${whole.p99Ms} | ${whole.lateWrites} | ${whole.maxMs} | ${whole.writes}`);
  lines.push(`idle table             | ${cell(f.idleWriterP50Ms)} | ${cell(f.idleWriterP99Ms)} | ${cell(f.idleLateWrites)} | ${cell(f.idleMaxWriteStallMs)} |`);
  const t = f.triggerOverhead;
  lines.push('', `(e) sync trigger: mean write ${t.meanWriteMsWithout} → ${t.meanWriteMsWith} ms (×${t.perWriteRatio}), p99 ${t.p99MsWithout} → ${t.p99MsWith} ms; bulk UPDATE ${t.bulkUpdateSecondsWithout} → ${t.bulkUpdateSecondsWith} s (×${t.bulkUpdateRatio})`);
  lines.push('', `bench took ${cell(f.benchSeconds)} s`);
  console.log(lines.join('\n'));
}

main().catch((err) => {
  console.error(err instanceof Error ? err.stack : err);
  process.exitCode = 1;
});
