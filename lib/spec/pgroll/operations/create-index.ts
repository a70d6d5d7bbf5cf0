import { z } from 'zod';
import { pgIdentifier, sqlText } from '../fields';

/** One element of an index: a column with its collation, order, NULLs placement and operator class. */
export const indexField = z.strictObject({
  column: pgIdentifier,
  collate: z.string().optional(),
  sort: z.enum(['ASC', 'DESC']).optional(),
  nulls: z.enum(['FIRST', 'LAST']).optional(),
  opclass: z.strictObject({ name: pgIdentifier, params: z.array(z.string()).optional() }).optional(),
});

/** `create_index`: built CONCURRENTLY at start, dropped CONCURRENTLY on rollback. */
export const createIndexSchema = z.strictObject({
  name: pgIdentifier,
  table: pgIdentifier,
  columns: z.array(indexField).min(1, 'must list at least one column'),
  method: z.enum(['btree', 'hash', 'gist', 'spgist', 'gin', 'brin']).optional(),
  predicate: sqlText.optional(),
  storage_parameters: z.string().optional(),
  unique: z.boolean().optional(),
});
export type CreateIndexOp = z.output<typeof createIndexSchema>;
