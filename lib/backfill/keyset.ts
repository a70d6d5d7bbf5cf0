import { quoteIdent, quoteTable } from '../sql/quote';
import type { TableFacts } from '../operations/operation';

/**
 * Keyset pagination on the primary key: each batch starts strictly after the previous batch's last key, so a batch
 * costs the same at row 1 and at row 100 million (the runbook's `WHERE new IS NULL LIMIT n` rescans from the start:
 * quadratic). The key travels as text and is cast back to the key's own type.
 */
export interface Keyset {
  /** The quoted primary-key column. */
  readonly key: string;
  /** `"schema"."table"`. */
  readonly table: string;
  /** `key > (:after)::type`, or `true` for the first batch. */
  after(first: boolean, column?: string): string;
}

export function keyset(table: TableFacts): Keyset {
  const key = quoteIdent(table.primaryKey.column);
  // The key's type comes from the catalog (format_type), never from the spec.
  const type = table.primaryKey.type;
  return {
    key,
    table: quoteTable(table),
    after: (first, column = key) => (first ? 'true' : `${column} > (:after)::${type}`),
  };
}

/** Parameters of a keyset batch: `after` only when there is a previous key. */
export function keysetParams(after: string | null, limit: number): Record<string, string | number> {
  return after === null ? { limit } : { after, limit };
}
