/** Models of what pgroll's column and constraint definitions add to a table. */
import type { ColumnModel, ConstraintModel } from '../../catalog/schema-facts';
import type { z } from 'zod';
import type { columnDefinition } from '../../spec/pgroll';

type ColumnDefinition = z.output<typeof columnDefinition>;

/** A column as pgroll defines it: `nullable` absent means NOT NULL; a primary-key column is NOT NULL. */
export function columnModel(c: ColumnDefinition): ColumnModel {
  return {
    name: c.name,
    physical: c.name,
    type: c.type,
    nullable: c.pk === true ? false : (c.nullable ?? false),
    ...(c.default !== undefined ? { default: c.default } : {}),
    ...(c.generated !== undefined ? { generated: true } : {}),
    ...(c.comment !== undefined ? { comment: c.comment } : {}),
  };
}

/** The constraints a column definition carries: UNIQUE (named as Postgres names it), CHECK, FOREIGN KEY. */
export function columnConstraints(table: string, c: ColumnDefinition): ConstraintModel[] {
  const out: ConstraintModel[] = [];
  if (c.unique) out.push({ name: `${table}_${c.name}_key`, kind: 'u', columns: [c.name] });
  if (c.check) out.push({ name: c.check.name, kind: 'c', columns: [c.name] });
  if (c.references) out.push({ name: c.references.name, kind: 'f', columns: [c.name], references: { table: c.references.table, columns: [c.references.column] } });
  return out;
}

/** pg_constraint.contype of a pgroll constraint type. */
export const CONSTRAINT_KIND = { primary_key: 'p', unique: 'u', check: 'c', foreign_key: 'f', exclude: 'x' } as const;
