import { createHash } from 'node:crypto';
import { STEPWISE_PREFIX } from '../constants';

/** Postgres truncates identifiers at 63 bytes; names we build stay under it, made unique by a short hash. */
const MAX_IDENT_BYTES = 63;

/** The schema holding Stepwise's own state table in the target database. */
export const STATE_SCHEMA = '_stepwise';
/** Progress of every migration: cursor, rows, status. One row per migration name. */
export const STATE_TABLE = 'migrations';
/** Parallel backfill: one row per key range of a migration (cursor and counters of that range). */
export const RANGES_TABLE = 'backfill_ranges';
/**
 * A custom setting the backfill's batch statement sets to `on` for its own transaction (`set_config(…, true)`): the
 * sync trigger's `WHEN` skips the function for rows the batch writes, since the batch computes `using` itself. Every
 * other writer's UPDATE goes through the function, whatever it put in the new column.
 */
export const BACKFILL_MARKER_SETTING = 'stepwise.backfill';

function fit(name: string): string {
  if (Buffer.byteLength(name, 'utf8') <= MAX_IDENT_BYTES) return name;
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 8);
  return `${name.slice(0, MAX_IDENT_BYTES - 9)}_${hash}`;
}

/** Objects a migration creates, all under the `_stepwise_` prefix so a cleanup can find every one of them. */
export function objectNames(migration: string) {
  return {
    /** BEFORE INSERT OR UPDATE trigger keeping the new column in sync (dualWrite: trigger). */
    syncTrigger: fit(`${STEPWISE_PREFIX}${migration}_sync`),
    /** BEFORE UPDATE trigger, fired on every UPDATE but the backfill's own (see convert-column dualWrite). */
    syncUpdateTrigger: fit(`${STEPWISE_PREFIX}${migration}_sync_upd`),
    /** The trigger's function, in the table's schema. */
    syncFunction: fit(`${STEPWISE_PREFIX}${migration}_sync`),
    /** CHECK (new IS NOT NULL) NOT VALID, validated, then replaced by SET NOT NULL. */
    notNullCheck: fit(`${STEPWISE_PREFIX}${migration}_nn`),
    /** Local backup of (primary key, old column), in the state schema. */
    backupTable: fit(`${STEPWISE_PREFIX}${migration}_backup`),
  } as const;
}

/** Every name that belongs to Stepwise starts with this prefix; user objects must not. */
export function isStepwiseName(name: string): boolean {
  return name.startsWith(STEPWISE_PREFIX);
}
