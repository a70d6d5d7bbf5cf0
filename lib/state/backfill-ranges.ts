import { sqlNumberOrNull, sqlTrue, type Executor } from '../db/executor';
import { RANGES_TABLE, STATE_SCHEMA, STATE_TABLE } from '../operations/names';
import { quoteIdent } from '../sql/quote';

const RANGES = `${quoteIdent(STATE_SCHEMA)}.${quoteIdent(RANGES_TABLE)}`;
const STATE = `${quoteIdent(STATE_SCHEMA)}.${quoteIdent(STATE_TABLE)}`;

/**
 * Parallel backfill (`backfill.parallelism` > 1): one row per key range, `(lower_key, upper_key]` (NULL: unbounded),
 * with its own cursor and counters; the migration row keeps the totals. Ranges belong to one run of the migration
 * (`run_started_at` = the migration row's `started_at`): a migration started over splits its key space again.
 */
export const RANGES_DDL = `CREATE TABLE IF NOT EXISTS ${RANGES} (
    migration text NOT NULL,
    range_no integer NOT NULL,
    lower_key text,
    upper_key text,
    cursor text,
    rows_done bigint NOT NULL DEFAULT 0,
    rows_updated bigint NOT NULL DEFAULT 0,
    batches bigint NOT NULL DEFAULT 0,
    batch_size integer,
    done boolean NOT NULL DEFAULT false,
    run_started_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (migration, range_no)
  )`;

export interface KeyRangeRow {
  readonly rangeNo: number;
  /** Exclusive lower bound; null for the first range. */
  readonly lowerKey: string | null;
  /** Inclusive upper bound; null for the last range (which also takes keys inserted later). */
  readonly upperKey: string | null;
  readonly cursor: string | null;
  readonly rowsDone: number;
  readonly batches: number;
  readonly batchSize: number | null;
  readonly done: boolean;
}

/** The ranges of the migration's current run, in key order (empty before the split). */
export async function readRanges(db: Executor, migration: string): Promise<KeyRangeRow[]> {
  const rows = await db.query<Record<string, string | number | boolean | null>>(
    `SELECT r.range_no, r.lower_key, r.upper_key, r.cursor, r.rows_done, r.batches, r.batch_size, r.done
       FROM ${RANGES} r JOIN ${STATE} m ON m.name = r.migration AND m.started_at = r.run_started_at
      WHERE r.migration = :migration ORDER BY r.range_no`,
    { migration },
  );
  return rows.rows.map((r) => ({
    rangeNo: Number(r.range_no),
    lowerKey: r.lower_key === null || r.lower_key === undefined ? null : String(r.lower_key),
    upperKey: r.upper_key === null || r.upper_key === undefined ? null : String(r.upper_key),
    cursor: r.cursor === null || r.cursor === undefined ? null : String(r.cursor),
    rowsDone: Number(r.rows_done),
    batches: Number(r.batches),
    batchSize: sqlNumberOrNull(r.batch_size),
    done: sqlTrue(r.done),
  }));
}

/**
 * Replaces the migration's ranges with `bounds.length + 1` ranges split at `bounds` (sorted keys, as text). The bounds
 * travel as one JSON array parameter, never as SQL text. A crash in between leaves no ranges: the split runs again.
 */
export async function createRanges(db: Executor, migration: string, bounds: readonly string[]): Promise<void> {
  await db.query(`DELETE FROM ${RANGES} WHERE migration = :migration`, { migration });
  await db.query(
    `WITH b AS (SELECT value AS key, ordinality AS i FROM jsonb_array_elements_text((:bounds)::jsonb) WITH ORDINALITY)
     INSERT INTO ${RANGES} (migration, range_no, lower_key, upper_key, cursor, run_started_at)
     SELECT :migration, g - 1, lo.key, hi.key, lo.key, m.started_at
       FROM generate_series(1, (SELECT count(*) FROM b) + 1) AS g
       LEFT JOIN b lo ON lo.i = g - 1
       LEFT JOIN b hi ON hi.i = g
       CROSS JOIN ${STATE} m
      WHERE m.name = :migration`,
    { migration, bounds: JSON.stringify(bounds) },
  );
}

/** Records that a range has no rows left. */
export async function markRangeDone(db: Executor, migration: string, rangeNo: number): Promise<void> {
  await db.query(`UPDATE ${RANGES} SET done = true, updated_at = now() WHERE migration = :migration AND range_no = :range`, { migration, range: rangeNo });
}

/** Claims a progress milestone for announcement; true for exactly one caller per milestone. */
export async function claimMilestone(db: Executor, migration: string, milestone: number): Promise<boolean> {
  const rows = await db.query(
    `UPDATE ${STATE} SET milestone_announced = :milestone WHERE name = :migration AND milestone_announced < :milestone RETURNING 1`,
    { migration, milestone },
  );
  return rows.rows.length > 0;
}
