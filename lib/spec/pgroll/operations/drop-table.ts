import { z } from 'zod';
import { pgIdentifier } from '../fields';

/** `drop_table`: renamed away at start, dropped at complete, renamed back on rollback. */
export const dropTableSchema = z.strictObject({ name: pgIdentifier });
export type DropTableOp = z.output<typeof dropTableSchema>;
