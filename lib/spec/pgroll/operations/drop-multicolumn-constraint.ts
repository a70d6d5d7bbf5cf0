import { z } from 'zod';
import { columnExpressions, pgIdentifier } from '../fields';

/** `drop_multicolumn_constraint`: the constrained columns are duplicated without the constraint and swapped at complete. */
export const dropMulticolumnConstraintSchema = z.strictObject({
  table: pgIdentifier,
  name: pgIdentifier,
  up: columnExpressions.optional(),
  down: columnExpressions.optional(),
});
export type DropMulticolumnConstraintOp = z.output<typeof dropMulticolumnConstraintSchema>;
