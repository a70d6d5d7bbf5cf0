import { z } from 'zod';
import { columnDefinition, pgIdentifier, tableConstraint } from '../fields';

/** `create_table`: a new table with its columns and table constraints. */
export const createTableSchema = z
  .strictObject({
    name: pgIdentifier,
    columns: z.array(columnDefinition).min(1, 'must list at least one column'),
    constraints: z.array(tableConstraint).optional(),
    comment: z.string().optional(),
  })
  .superRefine((t, ctx) => {
    const seen = new Set<string>();
    t.columns.forEach((c, i) => {
      if (seen.has(c.name)) ctx.addIssue({ code: 'custom', path: ['columns', i, 'name'], message: `column "${c.name}" is defined twice` });
      seen.add(c.name);
    });
  });
export type CreateTableOp = z.output<typeof createTableSchema>;
