import { z } from 'zod';
import { columnExpressions, indexParameters, pgIdentifier, requireForType, sqlText, tableForeignKeyReference } from '../fields';

/**
 * `create_constraint`: the listed columns are duplicated, backfilled through `up`, constrained (NOT VALID, then
 * VALIDATE; unique and primary keys through a concurrent unique index) and swapped at complete.
 */
export const createConstraintSchema = z
  .strictObject({
    table: pgIdentifier,
    name: pgIdentifier,
    type: z.enum(['unique', 'check', 'foreign_key', 'primary_key']),
    columns: z.array(pgIdentifier).optional(),
    check: sqlText.optional(),
    references: tableForeignKeyReference.optional(),
    index_parameters: indexParameters.optional(),
    no_inherit: z.boolean().optional(),
    up: columnExpressions.optional(),
    down: columnExpressions.optional(),
  })
  .superRefine((c, ctx) => requireForType(c, ctx));
export type CreateConstraintOp = z.output<typeof createConstraintSchema>;
