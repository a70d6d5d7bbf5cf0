import type { Executor } from '../db/executor';
import type { TableFacts } from '../operations/operation';
import type { Spec } from '../spec';
import { quoteIdent, quoteTable } from '../sql/quote';
import type { PreflightCheck } from './preflight-checks';

/** Rows the read-only sample computes (the first rows in key order, as the first batch would). */
export const BACKFILL_SAMPLE_ROWS = 10_000;
/**
 * How much more a backfilled row costs than computing its new value: measured here (PG 18, 500k-row "Product", the
 * runbook's `round(price * 100)`), one plain UPDATE of every row took ×20 the per-row time of the read-only sample,
 * and the whole backfill (sync trigger, batching, a session of its own) is ×1.4–1.6 of that plain UPDATE
 * (docs/PERFORMANCE.md). A rough figure: the progress notifications give the real rate.
 */
export const WRITE_COST_FACTOR = 30;

/** What one read-only sample measured. */
export interface BackfillSample {
  readonly rows: number;
  /** Server-side execution time of the sample (EXPLAIN ANALYZE "Execution Time"), ms. */
  readonly ms: number;
}

/** The backfill knobs that bound its pace (a subset of the resolved backfill settings). */
export interface BackfillPace {
  readonly mode: 'adaptive' | 'fixed';
  readonly batchSize: number;
  readonly pauseMs: number;
  readonly maxRowsPerSecond: number | undefined;
  readonly parallelism: number;
}

/**
 * Times the backfill's computation on a bounded key range without changing anything: `EXPLAIN (ANALYZE)` of the
 * batch's SELECT shape (`(using)::newType` of the first `rows` rows in key order) inside a READ ONLY transaction that
 * is always rolled back. Only the plan's text lines come back; the "Execution Time" line is the measure.
 */
export async function sampleBackfill(db: Executor, spec: Spec, table: TableFacts, rows = BACKFILL_SAMPLE_ROWS): Promise<BackfillSample> {
  const op = spec.operation;
  const key = quoteIdent(table.primaryKey.column);
  const rollback = new Error('rollback');
  let lines: string[] = [];
  try {
    await db.transaction(async (tx) => {
      await tx.query('SET TRANSACTION READ ONLY');
      const plan = await tx.query(
        `EXPLAIN (ANALYZE, TIMING OFF, FORMAT TEXT) SELECT (${op.using})::${op.newType} AS v FROM ${quoteTable(table)} ORDER BY ${key} LIMIT :limit`,
        { limit: rows },
      );
      lines = plan.rows.map((r) => String(Object.values(r)[0] ?? ''));
      throw rollback;
    });
  } catch (err) {
    if (err !== rollback) throw err;
  }
  return parseSample(lines);
}

/** Reads the rows of the top plan node and the "Execution Time" from EXPLAIN ANALYZE text output. */
export function parseSample(lines: readonly string[]): BackfillSample {
  const time = lines.map((l) => /Execution Time: ([\d.]+) ms/.exec(l)).find((m) => m !== null);
  const top = lines.map((l) => /actual rows=([\d.]+)/.exec(l)).find((m) => m !== null);
  if (!time) throw new Error(`EXPLAIN ANALYZE gave no execution time: ${lines.join(' / ').slice(0, 200)}`);
  return { rows: top ? Math.round(Number(top[1])) : 0, ms: Number(time[1]) };
}

/**
 * Seconds the backfill of `estimatedRows` rows may take: the sampled per-row time × {@link WRITE_COST_FACTOR}, spread
 * over the parallel ranges, plus the pauses between fixed-size batches; never faster than `maxRowsPerSecond` allows.
 * `undefined` when the sample read no row (an empty table).
 */
export function estimateBackfillSeconds(sample: BackfillSample, estimatedRows: number, pace: BackfillPace): number | undefined {
  if (sample.rows <= 0) return undefined;
  const rows = Math.max(0, estimatedRows);
  const perRowMs = (sample.ms / sample.rows) * WRITE_COST_FACTOR;
  const parallel = Math.max(1, pace.parallelism);
  const work = (rows * perRowMs) / parallel;
  const pauses = pace.mode === 'fixed' ? (Math.ceil(rows / Math.max(1, pace.batchSize)) * pace.pauseMs) / parallel : 0;
  const seconds = (work + pauses) / 1000;
  const floor = pace.maxRowsPerSecond ? rows / pace.maxRowsPerSecond : 0;
  return Math.max(seconds, floor);
}

export function formatSeconds(seconds: number): string {
  if (seconds < 1) return 'under 1 s';
  if (seconds < 120) return `${Math.round(seconds)} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  if (seconds < 172_800) return `${(seconds / 3600).toFixed(1)} h`;
  return `${(seconds / 86_400).toFixed(1)} days`;
}

/** The estimate check: always advice (`pass`), with the sample it comes from. */
export function backfillEstimateCheck(sample: BackfillSample, estimatedRows: number, pace: BackfillPace): PreflightCheck {
  const name = 'backfill estimate';
  // Statistics below what the sample read: the table was never analyzed (reltuples -1 reads as 0) or grew since.
  const stale = estimatedRows < sample.rows;
  const rows = Math.max(estimatedRows, sample.rows);
  const seconds = estimateBackfillSeconds(sample, rows, pace);
  if (seconds === undefined) return { name, status: 'pass', message: 'the table is empty: the backfill has nothing to do', hint: '' };
  const limits = [
    pace.parallelism > 1 ? `${pace.parallelism} key ranges at once` : '',
    pace.maxRowsPerSecond ? `at most ${pace.maxRowsPerSecond} rows/s` : '',
    pace.mode === 'fixed' && pace.pauseMs > 0 ? `${pace.pauseMs} ms between batches of ${pace.batchSize}` : '',
  ].filter((s) => s !== '');
  return {
    name,
    status: 'pass',
    message:
      `about ${formatSeconds(seconds)} for ${stale ? 'at least ' : ''}${rows} rows${limits.length > 0 ? ` (${limits.join(', ')})` : ''}: computing the new value of a ` +
      `read-only sample of ${sample.rows} rows took ${sample.ms.toFixed(1)} ms, and a written row costs about ${WRITE_COST_FACTOR}× that`,
    hint: stale
      ? 'The table\'s statistics count fewer rows than the sample read: run ANALYZE on it for a better estimate (and better batch plans).'
      : 'A rough figure: the progress notifications report the real rate and ETA; stepwise tune changes the pace live.',
  };
}
