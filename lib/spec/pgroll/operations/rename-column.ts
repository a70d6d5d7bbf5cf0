import { z } from 'zod';
import { pgIdentifier } from '../fields';

/** `rename_column`: the new name is visible to the new version at start; the real RENAME runs at complete. */
export const renameColumnSchema = z
  .strictObject({ table: pgIdentifier, from: pgIdentifier, to: pgIdentifier })
  .refine((r) => r.from !== r.to, { message: '"from" and "to" are the same name', path: ['to'] });
export type RenameColumnOp = z.output<typeof renameColumnSchema>;
