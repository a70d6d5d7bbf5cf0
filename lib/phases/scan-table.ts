import { keysetParams, scanBatchSql, MAX_SAMPLE_IDS } from '../backfill';
import type { Executor, Row } from '../db/executor';
import type { TableFacts } from '../operations/operation';

export interface ScanTotals {
  done: boolean;
  cursor: string | null;
  rowsChecked: number;
  counts: Record<string, number>;
  samples: Record<string, string[]>;
}

export interface ScanOptions {
  readonly batchSize: number;
  /** Stop after the batch that ends past this time (ms since epoch); the caller continues from `cursor`. */
  readonly deadline: number;
  readonly now: () => number;
  /** Totals to continue from (a previous invocation's). */
  readonly from?: ScanTotals;
}

/** Counts rows matching each predicate in read-only keyset batches until the table ends or the deadline passes. */
export async function scanTable(db: Executor, table: TableFacts, predicates: Record<string, string>, options: ScanOptions): Promise<ScanTotals> {
  const names = Object.keys(predicates);
  const totals: ScanTotals = options.from
    ? structuredClone(options.from)
    : { done: false, cursor: null, rowsChecked: 0, counts: Object.fromEntries(names.map((n) => [n, 0])), samples: Object.fromEntries(names.map((n) => [n, []])) };
  while (!totals.done) {
    const sql = scanBatchSql(table, predicates, totals.cursor === null);
    const row: Row = (await db.query(sql, keysetParams(totals.cursor, options.batchSize))).rows[0] ?? {};
    const checked = Number(row.checked ?? 0);
    totals.rowsChecked += checked;
    for (const n of names) {
      totals.counts[n] = (totals.counts[n] ?? 0) + Number(row[`${n}_count`] ?? 0);
      const sample = row[`${n}_sample`];
      if (typeof sample === 'string') {
        totals.samples[n] = [...(totals.samples[n] ?? []), ...(JSON.parse(sample) as string[])].slice(0, MAX_SAMPLE_IDS);
      }
    }
    if (checked > 0) totals.cursor = String(row.last_key);
    if (checked < options.batchSize) totals.done = true;
    else if (options.now() >= options.deadline) break;
  }
  return totals;
}
