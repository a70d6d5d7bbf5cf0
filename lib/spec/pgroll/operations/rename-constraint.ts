import { z } from 'zod';
import { pgIdentifier } from '../fields';

/** `rename_constraint`: renamed at complete. */
export const renameConstraintSchema = z
  .strictObject({ table: pgIdentifier, from: pgIdentifier, to: pgIdentifier })
  .refine((r) => r.from !== r.to, { message: '"from" and "to" are the same name', path: ['to'] });
export type RenameConstraintOp = z.output<typeof renameConstraintSchema>;
