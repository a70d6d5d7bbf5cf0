import { z } from 'zod';
import { pgIdentifier, rowExpression } from '../fields';

/** `drop_constraint` (deprecated by pgroll for drop_multicolumn_constraint): one column's constraint removed. */
export const dropConstraintSchema = z.strictObject({
  table: pgIdentifier,
  name: pgIdentifier,
  up: rowExpression.optional(),
  down: rowExpression.optional(),
});
export type DropConstraintOp = z.output<typeof dropConstraintSchema>;
