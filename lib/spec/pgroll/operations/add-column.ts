import { z } from 'zod';
import { columnDefinition, pgIdentifier, rowExpression } from '../fields';

/** `add_column`: a new column; `up` computes it for existing rows and for writes of the old version. */
export const addColumnSchema = z.strictObject({
  table: pgIdentifier,
  column: columnDefinition,
  up: rowExpression.optional(),
});
export type AddColumnOp = z.output<typeof addColumnSchema>;
