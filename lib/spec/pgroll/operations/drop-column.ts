import { z } from 'zod';
import { pgIdentifier, rowExpression } from '../fields';

/** `drop_column`: hidden from the new version at start, dropped at complete; `down` fills it for new-version writes. */
export const dropColumnSchema = z.strictObject({
  table: pgIdentifier,
  column: pgIdentifier,
  down: rowExpression.optional(),
});
export type DropColumnOp = z.output<typeof dropColumnSchema>;
