import { z } from 'zod';
import { sqlText } from '../fields';

/**
 * `sql`: raw SQL, run at start (or at complete with `onComplete`), `down` on rollback. It must be the only operation
 * of its migration: Stepwise cannot know what it changes.
 */
export const sqlSchema = z
  .strictObject({
    up: sqlText,
    down: sqlText.optional(),
    onComplete: z.boolean().optional(),
  })
  .refine((s) => !(s.onComplete === true && s.down !== undefined), { message: 'an onComplete sql operation has no "down" (it runs after the point of no return)', path: ['down'] });
export type SqlOp = z.output<typeof sqlSchema>;
