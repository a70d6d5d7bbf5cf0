import { STEPWISE_PREFIX } from '../constants';
import type { Executor } from '../db/executor';
import type { TableFacts } from '../operations/operation';
import { quoteTable } from '../sql/quote';
import type { PreflightCheck } from './preflight-checks';

/**
 * A user trigger that an UPDATE of the new column fires: on UPDATE, without a column list (`UPDATE OF col` lists
 * existing columns, and the backfill sets only the new one), not internal (foreign keys), not Stepwise's own.
 * Triggers of the table's partitions count too (rows are updated there).
 */
export interface UpdateTrigger {
  readonly name: string;
  /** `BEFORE ROW`, `AFTER STATEMENT`, … */
  readonly kind: string;
  /** `pg_trigger.tgenabled`: `O` (ENABLE, the default: origin and local sessions), `A` (ALWAYS), `R` (REPLICA). */
  readonly enabled: 'O' | 'A' | 'R';
}

/** The user triggers an UPDATE of `table` fires, whatever the session's `session_replication_role`. */
export async function readUpdateTriggers(db: Executor, table: TableFacts): Promise<UpdateTrigger[]> {
  const { rows } = await db.query<{ name: string; kind: string; enabled: string }>(
    `SELECT DISTINCT t.tgname::text AS name,
            CASE WHEN t.tgtype & 2 <> 0 THEN 'BEFORE' WHEN t.tgtype & 64 <> 0 THEN 'INSTEAD OF' ELSE 'AFTER' END
              || CASE WHEN t.tgtype & 1 <> 0 THEN ' ROW' ELSE ' STATEMENT' END AS kind,
            t.tgenabled::text AS enabled
       FROM pg_trigger t
      WHERE (t.tgrelid = (:table)::regclass OR t.tgrelid IN (SELECT relid FROM pg_partition_tree((:table)::regclass)))
        AND NOT t.tgisinternal AND t.tgenabled <> 'D' AND t.tgtype & 16 <> 0 AND cardinality(t.tgattr::int2[]) = 0
        AND NOT starts_with(t.tgname::text, :prefix)
      ORDER BY 1`,
    { table: quoteTable(table), prefix: STEPWISE_PREFIX },
  );
  return rows.map((r) => ({ name: r.name, kind: r.kind, enabled: r.enabled === 'A' || r.enabled === 'R' ? r.enabled : 'O' }));
}

/**
 * Whether this role may set `session_replication_role` (superuser, rds_superuser on RDS/Aurora, or PostgreSQL 15's
 * `GRANT SET ON PARAMETER`): one autocommit statement whose `set_config(…, true)` ends with it, so nothing changes.
 */
export async function maySkipUserTriggers(db: Executor): Promise<boolean> {
  return db.query(`SELECT set_config('session_replication_role', 'replica', true) AS role`).then(
    () => true,
    () => false,
  );
}

/**
 * The triggers the backfill's batches fire: with `session_replication_role = replica` (when the role may set it) only
 * ENABLE ALWAYS and ENABLE REPLICA triggers; otherwise every ENABLE (default) and ALWAYS trigger.
 */
export function triggersTheBackfillFires(triggers: readonly UpdateTrigger[], skipUserTriggers: boolean): UpdateTrigger[] {
  return triggers.filter((t) => (skipUserTriggers ? t.enabled !== 'O' : t.enabled !== 'R'));
}

/**
 * Preflight: the backfill writes every row once; a trigger it fires (an `updatedAt` stamp, an audit, outbox or CDC
 * trigger) would run once per row and flood whatever is downstream. Each one the backfill fires must be named in
 * `backfill.fireTriggers`; otherwise preflight refuses (`SW_BACKFILL_FIRES_TRIGGERS`) before anything changes.
 */
export function backfillTriggersCheck(
  triggers: readonly UpdateTrigger[],
  skipUserTriggers: boolean,
  acknowledged: readonly string[],
  table: Pick<TableFacts, 'schema' | 'name'>,
): PreflightCheck {
  const fired = triggersTheBackfillFires(triggers, skipUserTriggers);
  const skipped = triggers.length - fired.length;
  const how = skipUserTriggers
    ? `the batches run with session_replication_role = replica${skipped > 0 ? `, which skips ${triggers.filter((t) => !fired.includes(t)).map((t) => t.name).join(', ')}` : ''}`
    : 'the migration role may not set session_replication_role, so every enabled trigger fires';
  const describe = (list: readonly UpdateTrigger[]) => list.map((t) => `${t.name} (${t.kind}${t.enabled === 'O' ? '' : t.enabled === 'A' ? ', ENABLE ALWAYS' : ', ENABLE REPLICA'})`).join(', ');
  const missing = fired.filter((t) => !acknowledged.includes(t.name));
  if (missing.length > 0) {
    return {
      name: 'backfill triggers',
      status: 'fail',
      code: 'SW_BACKFILL_FIRES_TRIGGERS',
      message: `the backfill would fire ${describe(missing)} on ${table.schema}.${table.name} once per row it writes (${how})`,
      hint: skipUserTriggers
        ? `List them in backfill.fireTriggers to accept that they fire (${JSON.stringify(missing.map((t) => t.name))}), or make them ENABLE (not ALWAYS/REPLICA) for the migration.`
        : `Let the migration role set session_replication_role (PostgreSQL 15+: GRANT SET ON PARAMETER session_replication_role TO <role>; RDS/Aurora: rds_superuser), or list them in backfill.fireTriggers to accept that they fire: ${JSON.stringify(missing.map((t) => t.name))}.`,
    };
  }
  if (fired.length > 0) {
    return { name: 'backfill triggers', status: 'warn', message: `the backfill fires ${describe(fired)} once per row, as backfill.fireTriggers accepts (${how})`, hint: 'Make sure whatever they feed can take one event per row of the table.' };
  }
  return { name: 'backfill triggers', status: 'pass', message: `the backfill fires no trigger of the application (${triggers.length === 0 ? 'the table has no UPDATE trigger' : how})`, hint: '' };
}
