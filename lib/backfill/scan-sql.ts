import type { TableFacts } from '../operations/operation';
import { keyset } from './keyset';

/** Up to this many sample keys are returned per predicate, as the issue asks for verification. */
export const MAX_SAMPLE_IDS = 100;

/**
 * A read-only keyset batch that counts rows matching each named predicate and returns up to 100 sample keys per
 * predicate: used by verification (nulls, mismatches) and by preflight's data checks (NULLs, overflow).
 *
 * Returns one row: `last_key`, `checked`, and for each predicate `<name>_count` and `<name>_sample` (a JSON array).
 */
export function scanBatchSql(table: TableFacts, predicates: Readonly<Record<string, string>>, first: boolean): string {
  const ks = keyset(table);
  const names = Object.keys(predicates);
  names.forEach((n) => {
    if (!/^[a-z_]+$/.test(n)) throw new Error(`predicate name ${n} must be lowercase letters`);
  });
  const flags = names.map((n) => `(${predicates[n]}) IS TRUE AS ${n}`).join(', ');
  const aggregates = names
    .map(
      (n) =>
        `count(*) FILTER (WHERE ${n}) AS ${n}_count, ` +
        `to_json((array_agg(_sw_key::text ORDER BY _sw_key) FILTER (WHERE ${n}))[1:${MAX_SAMPLE_IDS}])::text AS ${n}_sample`,
    )
    .join(',\n  ');
  return [
    `WITH batch AS (SELECT ${ks.key} AS _sw_key${flags ? `, ${flags}` : ''} FROM ${ks.table} WHERE ${ks.after(first)} ORDER BY ${ks.key} LIMIT :limit)`,
    `SELECT (SELECT _sw_key::text FROM batch ORDER BY _sw_key DESC LIMIT 1) AS last_key, count(*) AS checked${aggregates ? `,\n  ${aggregates}` : ''}`,
    `FROM batch`,
  ].join('\n');
}
