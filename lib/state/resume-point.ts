import type { Executor } from '../db/executor';
import { STATE_SCHEMA, STATE_TABLE } from '../operations/names';
import { quoteIdent } from '../sql/quote';

const STATE = `${quoteIdent(STATE_SCHEMA)}.${quoteIdent(STATE_TABLE)}`;

/** The step name the soak is recorded under (the workflow's `Soak` state). */
export const SOAK_STEP = 'Soak';

/**
 * What the current run of a migration has passed, from its state row (columns `gates_passed`, `soak_served_at`): the
 * gates approved and whether the soak was served. A resumed execution skips them (preflight's `resume.skip`).
 */
export interface ResumePoint {
  /** Gate names (`ApproveStart`, …), in no particular order. */
  readonly gatesPassed: readonly string[];
  /** When the soak was served (ISO), or null. */
  readonly soakServedAt: string | null;
}

/** The migration's resume point; undefined without a state table or a row. Reads only, works on an older state table. */
export async function readResumePoint(db: Executor, name: string): Promise<ResumePoint | undefined> {
  const exists = (await db.query<{ exists: boolean }>('SELECT to_regclass(:state) IS NOT NULL AS exists', { state: STATE })).rows[0]?.exists === true;
  if (!exists) return undefined;
  const row = (
    await db.query<{ gates: string | null; soak: string | null }>(
      `SELECT (to_jsonb(m) -> 'gates_passed')::text AS gates, to_jsonb(m) ->> 'soak_served_at' AS soak FROM ${STATE} AS m WHERE name = :name`,
      { name },
    )
  ).rows[0];
  if (!row) return undefined;
  const gates = row.gates ? (JSON.parse(row.gates) as Record<string, unknown> | null) : null;
  return { gatesPassed: Object.keys(gates ?? {}), soakServedAt: row.soak ?? null };
}

/**
 * Records, in the row of a running migration this execution owns (or that nobody owns), the gates the execution's
 * state shows approved and, when `soakServed`, that the soak is behind it. Set-only: nothing is ever removed, a new run
 * of a finished migration starts empty (claimMigration). Call it only once the row exists (after Backup's claim).
 */
export async function recordPassed(db: Executor, name: string, execution: string | undefined, gates: readonly string[], soakServed: boolean): Promise<void> {
  if (gates.length === 0 && !soakServed) return;
  await db.query(
    // The first record of a gate is kept (the right-hand side of || wins); a row already up to date is not written.
    `UPDATE ${STATE} SET gates_passed = (:gates)::jsonb || gates_passed,
       soak_served_at = CASE WHEN :soak THEN COALESCE(soak_served_at, now()) ELSE soak_served_at END
     WHERE name = :name AND status = 'running' AND (execution IS NULL OR (:execution)::text IS NULL OR execution = :execution)
       AND (EXISTS (SELECT 1 FROM jsonb_object_keys((:gates)::jsonb) AS k WHERE NOT jsonb_exists(gates_passed, k)) OR (:soak AND soak_served_at IS NULL))`,
    { name, execution: execution ?? null, gates: JSON.stringify(Object.fromEntries(gates.map((g) => [g, new Date().toISOString()]))), soak: soakServed },
  );
}
