import { BACKFILL_MARKER_SETTING, RANGES_TABLE, STATE_SCHEMA, STATE_TABLE } from '../operations/names';
import type { BackfillTask, TableFacts } from '../operations/operation';
import { quoteIdent, quoteLiteral } from '../sql/quote';
import { keyset } from './keyset';

/**
 * The SQL of one backfill batch: ONE statement in autocommit, so writers wait at most for one batch's row locks.
 *
 * 1. `batch`: the next `:limit` keys after `:after`, in key order (an index range scan on the primary key).
 * 2. `bounds`: the last of those keys (a top-1 sort: `max()` does not exist for every key type, e.g. uuid) and how
 *    many there were.
 * 3. `updated`: UPDATE the rows in (after, last] whose new value still differs (a row the sync trigger already set,
 *    or a batch redone after a crash, costs no write).
 * 4. `progress`: move the migration's cursor in the state table in the same statement, so the cursor and the data
 *    commit together: a crash loses nothing and repeats nothing. It also records the batch size used, so the next
 *    invocation (or a resumed execution) continues with it.
 *
 * A migration whose state row says `paused` does nothing: `bounds` is empty, so no row is updated and the cursor stays.
 * The pause is read in the same statement as the work, so it takes effect at the very next batch. The same holds for a
 * row no longer in the backfill (rollback marks its phase first): key ranges still running when the Map state failed
 * stop at their next batch instead of writing while rollback drops what expand added.
 *
 * Settings for the batch's own transaction (`set_config(…, true)` in `gate`, which every row the UPDATE writes and
 * every trigger it fires comes after; gone at the statement's commit):
 * - the sync trigger's marker (`stepwise.backfill = on`): its `WHEN` skips the function, the SET computes `using`;
 * - `lock_timeout` (`:lock_timeout`, e.g. `1000ms`): a batch that meets a row lock gives up within it (55P03) and
 *   releases every row it had locked, instead of making the application wait behind it;
 * - with `skipUserTriggers`, `session_replication_role = replica`: the application's own triggers (ENABLE, the
 *   default) do not fire for the backfill's writes; ENABLE ALWAYS / ENABLE REPLICA triggers still do.
 *
 * Returns one row: `last_key` (text, NULL when no rows were left or paused), `scanned`, `updated`, `paused`, and
 * `total_rows_done` (the migration's rows done after this batch, all ranges together), and the live settings of the
 * state row (`live_target_batch_ms`, `live_max_rows_per_second`; NULL: the spec's), read in the same statement.
 */
export function backfillBatchSql(table: TableFacts, task: BackfillTask, first: boolean, options: BatchSqlOptions = {}): string {
  const ks = keyset(table);
  const state = `${quoteIdent(STATE_SCHEMA)}.${quoteIdent(STATE_TABLE)}`;
  const ranges = `${quoteIdent(STATE_SCHEMA)}.${quoteIdent(RANGES_TABLE)}`;
  const upper = options.bounded ? ` AND ${ks.key} <= (:upper)::${table.primaryKey.type}` : '';
  const scanned = '(SELECT _sw_scanned FROM bounds)';
  // The cursor moves (and the counters count) only from the key this batch started after: a batch the SDK resent
  // after the first one committed (its response lost) finds the cursor already moved and counts nothing twice.
  const from = first ? 'cursor IS NULL' : 'cursor = (:after)::text';
  const counters = `rows_done = rows_done + ${scanned}, rows_updated = rows_updated + (SELECT count(*) FROM updated), batches = batches + 1, batch_size = :limit, updated_at = now()`;
  // Sequential: the migration row holds the cursor. A key range (parallel backfill): its own row holds the cursor and
  // the migration row the totals, both moved in this statement.
  const progress = options.range
    ? [
        `progress AS (UPDATE ${ranges} SET cursor = (SELECT _sw_last::text FROM bounds), ${counters}`,
        `  WHERE migration = :migration AND range_no = :range AND ${scanned} > 0 AND ${from} RETURNING 1),`,
        `totals AS (UPDATE ${state} SET ${counters} WHERE name = :migration AND EXISTS (SELECT 1 FROM progress) RETURNING rows_done)`,
      ]
    : [
        `progress AS (UPDATE ${state} SET cursor = (SELECT _sw_last::text FROM bounds), ${counters}`,
        `  WHERE name = :migration AND ${scanned} > 0 AND ${from} RETURNING rows_done AS total_rows_done),`,
        `totals AS (SELECT total_rows_done AS rows_done FROM progress)`,
      ];
  return [
    `WITH batch AS (SELECT ${ks.key} AS _sw_key FROM ${ks.table} WHERE ${ks.after(first)}${upper} ORDER BY ${ks.key} LIMIT :limit),`,
    // One read of the state row (always one gate row, also without a state row): stop flag and live settings.
    `gate AS (SELECT coalesce(m.paused OR m.status <> 'running' OR m.phase <> 'backfill', false) AS _sw_paused,`,
    `  m.target_batch_ms AS _sw_target, m.max_rows_per_second AS _sw_rate, ${sessionSettings(options)} AS _sw_settings`,
    `  FROM (SELECT) AS one LEFT JOIN ${state} AS m ON m.name = :migration),`,
    `bounds AS (SELECT (SELECT _sw_key FROM batch ORDER BY _sw_key DESC LIMIT 1) AS _sw_last, (SELECT count(*) FROM batch) AS _sw_scanned`,
    `  FROM gate WHERE NOT gate._sw_paused AND gate._sw_settings IS NOT NULL),`,
    `updated AS (UPDATE ${ks.table} SET ${task.assignment} FROM bounds`,
    `  WHERE ${ks.after(first, `${ks.table}.${ks.key}`)} AND ${ks.table}.${ks.key} <= bounds._sw_last AND ${task.pending} RETURNING 1),`,
    ...progress,
    `SELECT (SELECT _sw_last::text FROM bounds) AS last_key, ${scanned} AS scanned,`,
    `  (SELECT count(*) FROM updated) AS updated, (SELECT count(*) FROM progress) AS progressed, (SELECT _sw_paused FROM gate) AS paused,`,
    `  (SELECT rows_done FROM totals) AS total_rows_done, (SELECT _sw_target FROM gate) AS live_target_batch_ms, (SELECT _sw_rate FROM gate) AS live_max_rows_per_second`,
  ].join('\n');
}

/** The `set_config` calls of the batch's transaction (see {@link backfillBatchSql}); `:lock_timeout` is a parameter. */
function sessionSettings(options: BatchSqlOptions): string {
  const calls = [
    `set_config(${quoteLiteral(BACKFILL_MARKER_SETTING)}, 'on', true)`,
    `set_config('lock_timeout', :lock_timeout, true)`,
    ...(options.skipUserTriggers ? [`set_config('session_replication_role', 'replica', true)`] : []),
  ];
  return `concat_ws(',', ${calls.join(', ')})`;
}

/** Variants of the batch statement. */
export interface BatchSqlOptions {
  /**
   * The application's triggers do not fire for this batch (`session_replication_role = replica` for its
   * transaction); only for a role that may set it (superuser, rds_superuser, or GRANT SET ON PARAMETER).
   */
  readonly skipUserTriggers?: boolean;
  /** The batch stops at `:upper` (inclusive): the end of a key range. */
  readonly bounded?: boolean;
  /** The cursor lives in the key range's row (`:range`) of the ranges table; the migration row keeps the totals. */
  readonly range?: boolean;
}
