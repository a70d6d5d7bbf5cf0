import type { TableFacts } from '../operations/operation';
import { keyset } from './keyset';

/**
 * Parallel backfill: the key space split into ranges of about equal row counts (quantiles of the primary key).
 *
 * The quantiles come from the planner's statistics (`pg_stats.histogram_bounds` of the key: free, kept by ANALYZE),
 * so splitting a billion-row table costs nothing; a table without statistics (never analyzed, tiny) is split exactly
 * with `ntile` over the key index instead. Keys travel as text and are cast back to the key's type by the batch SQL.
 */

/** The key column's histogram bounds, in key order (no rows without statistics). */
export function histogramBoundsSql(table: TableFacts): string {
  // The type comes from the catalog (format_type), never from the spec; histogram_bounds is anyarray, so via text.
  return [
    `SELECT u.b::text AS key FROM pg_stats s,`,
    `  unnest((s.histogram_bounds::text)::${table.primaryKey.type}[]) WITH ORDINALITY AS u(b, i)`,
    `WHERE s.schemaname = :schema AND s.tablename = :table AND s.attname = :column`,
    `  AND s.inherited = (SELECT c.relkind = 'p' FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = :schema AND c.relname = :table)`,
    `ORDER BY u.i`,
  ].join('\n');
}

/**
 * Exact quantiles: the last key of each of `:parts` equal tiles, in key order (a full scan of the key index). `:parts`
 * is cast: the Data API binds a number as bigint, and `ntile(bigint)` does not exist.
 */
export function ntileBoundsSql(table: TableFacts): string {
  const ks = keyset(table);
  return [
    `SELECT max(_sw_key)::text AS key FROM (SELECT ${ks.key} AS _sw_key, ntile((:parts)::int) OVER (ORDER BY ${ks.key}) AS _sw_tile FROM ${ks.table}) t`,
    `GROUP BY _sw_tile ORDER BY _sw_tile`,
  ].join('\n');
}

/**
 * Picks at most `parts - 1` split keys from histogram bounds (sorted keys; the first is the smallest key seen, the last
 * the largest), evenly spaced, without repeats: ranges `(-∞, k1], (k1, k2], …, (k_last, +∞)`. Few distinct bounds give
 * fewer ranges. (Tile ends from `ntileBoundsSql` are already the split keys: all but the last.)
 *
 * @example pickRangeBounds(['1', '25', '50', '75', '100'], 2) // ['50']
 */
export function pickRangeBounds(sortedKeys: readonly string[], parts: number): string[] {
  if (parts <= 1 || sortedKeys.length < 2) return [];
  const largest = sortedKeys[sortedKeys.length - 1];
  const bounds: string[] = [];
  for (let i = 1; i < parts; i += 1) {
    const key = sortedKeys[Math.round((i * (sortedKeys.length - 1)) / parts)]!;
    if (key !== largest && bounds[bounds.length - 1] !== key) bounds.push(key);
  }
  return bounds;
}
