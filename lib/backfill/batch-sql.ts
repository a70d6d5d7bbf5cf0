import { STATE_SCHEMA, STATE_TABLE } from '../operations/names';
import type { BackfillTask, TableFacts } from '../operations/operation';
import { quoteIdent } from '../sql/quote';
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
 * The pause is read in the same statement as the work, so it takes effect at the very next batch.
 *
 * Returns one row: `last_key` (text, NULL when no rows were left or paused), `scanned`, `updated`, `paused`.
 */
export function backfillBatchSql(table: TableFacts, task: BackfillTask, first: boolean): string {
  const ks = keyset(table);
  const state = `${quoteIdent(STATE_SCHEMA)}.${quoteIdent(STATE_TABLE)}`;
  return [
    `WITH batch AS (SELECT ${ks.key} AS _sw_key FROM ${ks.table} WHERE ${ks.after(first)} ORDER BY ${ks.key} LIMIT :limit),`,
    `gate AS (SELECT coalesce((SELECT paused FROM ${state} WHERE name = :migration), false) AS _sw_paused),`,
    `bounds AS (SELECT (SELECT _sw_key FROM batch ORDER BY _sw_key DESC LIMIT 1) AS _sw_last, (SELECT count(*) FROM batch) AS _sw_scanned`,
    `  FROM gate WHERE NOT gate._sw_paused),`,
    `updated AS (UPDATE ${ks.table} SET ${task.assignment} FROM bounds`,
    `  WHERE ${ks.after(first, `${ks.table}.${ks.key}`)} AND ${ks.table}.${ks.key} <= bounds._sw_last AND ${task.pending} RETURNING 1),`,
    `progress AS (UPDATE ${state} SET cursor = (SELECT _sw_last::text FROM bounds), rows_done = rows_done + (SELECT _sw_scanned FROM bounds),`,
    `  rows_updated = rows_updated + (SELECT count(*) FROM updated), batches = batches + 1, batch_size = :limit, updated_at = now()`,
    `  WHERE name = :migration AND (SELECT _sw_scanned FROM bounds) > 0 RETURNING 1)`,
    `SELECT (SELECT _sw_last::text FROM bounds) AS last_key, (SELECT _sw_scanned FROM bounds) AS scanned,`,
    `  (SELECT count(*) FROM updated) AS updated, (SELECT count(*) FROM progress) AS progressed, (SELECT _sw_paused FROM gate) AS paused`,
  ].join('\n');
}
