import { z } from 'zod';
import { pgIdentifier } from '../fields';

/** `drop_index`: dropped CONCURRENTLY at complete. */
export const dropIndexSchema = z.strictObject({ name: pgIdentifier });
export type DropIndexOp = z.output<typeof dropIndexSchema>;
