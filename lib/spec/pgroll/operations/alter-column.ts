import { z } from 'zod';
import { checkConstraint, foreignKeyReference, pgIdentifier, rowExpression, sqlText, uniqueConstraint } from '../fields';

/** The changes alter_column can make; at least one is required (a rename alone is `name`, as older pgroll files do). */
export const ALTER_COLUMN_CHANGES = ['type', 'nullable', 'default', 'comment', 'check', 'unique', 'references'] as const;

/**
 * `alter_column`: the column is duplicated with the changes, both copies kept right by `up` (old → new) and `down`
 * (new → old), backfilled, and swapped at complete. `default: null` / `comment: null` drop them.
 */
export const alterColumnSchema = z
  .strictObject({
    table: pgIdentifier,
    column: pgIdentifier,
    name: pgIdentifier.optional(),
    type: sqlText.optional(),
    nullable: z.boolean().optional(),
    default: z.string().nullable().optional(),
    comment: z.string().nullable().optional(),
    check: checkConstraint.optional(),
    unique: uniqueConstraint.optional(),
    references: foreignKeyReference.optional(),
    up: rowExpression.optional(),
    down: rowExpression.optional(),
  })
  .superRefine((op, ctx) => {
    const changes = ALTER_COLUMN_CHANGES.filter((k) => op[k] !== undefined);
    if (changes.length === 0 && op.name === undefined) {
      ctx.addIssue({ code: 'custom', path: [], message: `must change something: one or more of ${ALTER_COLUMN_CHANGES.join(', ')} (or name)` });
    }
    if (op.name !== undefined && changes.length > 0) {
      ctx.addIssue({ code: 'custom', path: ['name'], message: 'a rename cannot be combined with other changes: use rename_column, then alter_column' });
    }
    if (op.name !== undefined && (op.up !== undefined || op.down !== undefined)) {
      ctx.addIssue({ code: 'custom', path: ['name'], message: 'a rename takes no "up"/"down"' });
    }
  });
export type AlterColumnOp = z.output<typeof alterColumnSchema>;
