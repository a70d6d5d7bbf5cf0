import { z } from 'zod';
import { pgIdentifier } from '../fields';

/** `rename_table`: the new name is visible to the new version at start; the real RENAME runs at complete. */
export const renameTableSchema = z
  .strictObject({ from: pgIdentifier, to: pgIdentifier })
  .refine((r) => r.from !== r.to, { message: '"from" and "to" are the same name', path: ['to'] });
export type RenameTableOp = z.output<typeof renameTableSchema>;
