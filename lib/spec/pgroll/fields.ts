/**
 * The building blocks of pgroll's migration format (github.com/xataio/pgroll `schema.json`), as zod schemas with
 * pgroll's field names. Every object is strict: an unknown field is refused, as pgroll refuses it. Names are
 * Postgres identifiers (1–63 bytes); SQL fragments (`up`, `down`, checks, defaults, predicates) are kept as written
 * and checked by the operations that use them.
 */
import { z } from 'zod';

/** A Postgres identifier as pgroll takes it: unquoted in the file, quoted by Stepwise whenever it reaches SQL. */
export const pgIdentifier = z
  .string()
  .min(1, 'must not be empty')
  .refine((s) => Buffer.byteLength(s, 'utf8') <= 63, 'is longer than Postgres allows (63 bytes)')
  .refine((s) => !s.includes('\u0000'), 'must not contain a NUL character');

/** A SQL fragment from the file (an expression, a type, a default): non-empty, no NUL. */
export const sqlText = z
  .string()
  .min(1, 'must not be empty')
  .refine((s) => !s.includes('\u0000'), 'must not contain a NUL character');

/** `up`/`down` as pgroll writes them: the right-hand side of an assignment, possibly `SELECT CASE … END`. */
export const rowExpression = sqlText;

/** Foreign key actions (`on_delete`, `on_update`). */
export const foreignKeyAction = z.enum(['NO ACTION', 'RESTRICT', 'CASCADE', 'SET NULL', 'SET DEFAULT']);
/** `match_type` of a foreign key. */
export const foreignKeyMatchType = z.enum(['SIMPLE', 'FULL', 'PARTIAL']);

/** A named CHECK constraint on one column. */
export const checkConstraint = z.strictObject({
  name: pgIdentifier,
  constraint: sqlText,
  no_inherit: z.boolean().optional(),
});

/** A named UNIQUE constraint on one column. */
export const uniqueConstraint = z.strictObject({ name: pgIdentifier });

/** A single-column foreign key (`references` of a column or of alter_column). */
export const foreignKeyReference = z.strictObject({
  name: pgIdentifier,
  table: pgIdentifier,
  column: pgIdentifier,
  on_delete: foreignKeyAction.optional(),
  on_update: foreignKeyAction.optional(),
  match_type: foreignKeyMatchType.optional(),
  deferrable: z.boolean().optional(),
  initially_deferred: z.boolean().optional(),
});

/** A multi-column foreign key (`references` of a table constraint or create_constraint). */
export const tableForeignKeyReference = z.strictObject({
  table: pgIdentifier,
  columns: z.array(pgIdentifier).min(1),
  on_delete: foreignKeyAction.optional(),
  on_update: foreignKeyAction.optional(),
  on_delete_set_columns: z.array(pgIdentifier).optional(),
  match_type: foreignKeyMatchType.optional(),
});

/** A generated column: an expression (STORED) or an identity. */
export const generatedColumn = z
  .strictObject({
    expression: sqlText.optional(),
    identity: z
      .strictObject({
        user_specified_values: z.enum(['ALWAYS', 'BY DEFAULT']).optional(),
        sequence_options: z.string().optional(),
      })
      .optional(),
  })
  .refine((g) => (g.expression === undefined) !== (g.identity === undefined), 'must have exactly one of "expression" or "identity"');

/**
 * A column. `nullable` absent means NOT NULL (pgroll's default); `pk` marks primary-key columns (several make a
 * composite key).
 */
export const columnDefinition = z.strictObject({
  name: pgIdentifier,
  type: sqlText,
  nullable: z.boolean().optional(),
  pk: z.boolean().optional(),
  unique: z.boolean().optional(),
  default: z.string().optional(),
  comment: z.string().optional(),
  check: checkConstraint.optional(),
  references: foreignKeyReference.optional(),
  generated: generatedColumn.optional(),
});

/** Index settings of a unique / primary key / exclusion constraint. */
export const indexParameters = z.strictObject({
  tablespace: z.string().optional(),
  storage_parameters: z.string().optional(),
  include_columns: z.array(pgIdentifier).optional(),
});

/** A table constraint of create_table. */
export const tableConstraint = z
  .strictObject({
    name: pgIdentifier,
    type: z.enum(['check', 'unique', 'primary_key', 'foreign_key', 'exclude']),
    columns: z.array(pgIdentifier).optional(),
    check: sqlText.optional(),
    references: tableForeignKeyReference.optional(),
    exclude: z
      .strictObject({ index_method: z.string().optional(), elements: sqlText, predicate: z.string().optional() })
      .optional(),
    index_parameters: indexParameters.optional(),
    deferrable: z.boolean().optional(),
    initially_deferred: z.boolean().optional(),
    nulls_not_distinct: z.boolean().optional(),
    no_inherit: z.boolean().optional(),
  })
  .superRefine((c, ctx) => requireForType(c, ctx));

/** The fields a constraint of each type needs (pgroll refuses the same). */
export function requireForType(
  c: { type: string; columns?: readonly string[] | undefined; check?: string | undefined; references?: unknown; exclude?: unknown },
  ctx: z.RefinementCtx,
): void {
  const need = (field: 'columns' | 'check' | 'references' | 'exclude', ok: boolean): void => {
    if (!ok) ctx.addIssue({ code: 'custom', path: [field], message: `is required for a ${c.type} constraint` });
  };
  if (c.type === 'check') need('check', c.check !== undefined);
  if (c.type === 'unique' || c.type === 'primary_key') need('columns', (c.columns?.length ?? 0) > 0);
  if (c.type === 'foreign_key') {
    need('columns', (c.columns?.length ?? 0) > 0);
    need('references', c.references !== undefined);
  }
  if (c.type === 'exclude') need('exclude', c.exclude !== undefined);
}

/** `up` / `down` of a multi-column operation: one expression per column. */
export const columnExpressions = z.record(pgIdentifier, rowExpression);
