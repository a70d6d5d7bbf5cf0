import type { Executor } from '../db/executor';
import type { Spec } from '../spec';
import { quoteTable } from '../sql/quote';
import type { PreflightCheck } from './preflight-checks';

/** Above this heap size, plan the bloat a full backfill leaves (pg_repack). */
export const REPACK_ADVICE_BYTES = 10 * 1024 ** 3;
/** Largest Aurora PostgreSQL cluster volume (Aurora size limits): the storage grows by itself up to this. */
export const AURORA_VOLUME_LIMIT_BYTES = 128 * 1024 ** 4;
/** Width assumed for a variable-length new column when the old column has no statistics (bytes). */
const DEFAULT_VARLENA_WIDTH = 16;

/**
 * Sizes of the table (all its leaf partitions for a partitioned table), as `pg_relation_size` and friends count them,
 * plus what preflight needs for the headroom: the width of the new column's type and where free space can be read.
 */
export interface SizeFacts {
  /** Main fork of every leaf relation (`pg_relation_size`). */
  readonly heapBytes: number;
  /** TOAST tables with their indexes (`pg_total_relation_size(reltoastrelid)`). */
  readonly toastBytes: number;
  /** Every index of every leaf relation (`pg_indexes_size`). */
  readonly indexBytes: number;
  /** Everything: heap, free-space and visibility maps, TOAST, indexes (`pg_total_relation_size`). */
  readonly totalBytes: number;
  /** Relations counted: 1 for an ordinary table, the number of leaf partitions for a partitioned one. */
  readonly relations: number;
  /** `pg_database_size(current_database())`. */
  readonly databaseBytes: number;
  /** The server is Aurora PostgreSQL (`aurora_version()` exists): its volume grows by itself. */
  readonly aurora: boolean;
  /** Bytes one value of the new type takes in a row (typlen, or the old column's average width for varlena types). */
  readonly newValueBytes: number;
  readonly repackInstalled: boolean;
  readonly repackAvailable: boolean;
}

/**
 * Reads the sizes of the spec's table. An ordinary table is its own leaf (`pg_partition_tree` returns no row for it,
 * which is why preflight once read 0 B); a partitioned table is the sum of its leaf partitions. Every size travels as
 * bigint text, every flag as boolean (what the Data API returns without surprises). Read-only.
 */
export async function readSize(db: Executor, spec: Spec): Promise<SizeFacts> {
  const row = (
    await db.query<Record<'relations' | 'heap' | 'toast' | 'indexes' | 'total' | 'database' | 'typlen' | 'avg_width', string | null> & { aurora: boolean; installed: boolean; available: boolean }>(
      `WITH target AS (SELECT (:table)::regclass AS oid),
            leaves AS (
              SELECT t.relid AS oid FROM target, pg_partition_tree(target.oid) AS t WHERE t.isleaf
              UNION
              SELECT c.oid FROM target JOIN pg_class c ON c.oid = target.oid WHERE c.relkind IN ('r', 'm')
            )
       SELECT count(*)::text AS relations,
              coalesce(sum(pg_relation_size(c.oid)), 0)::bigint::text AS heap,
              coalesce(sum(CASE WHEN c.reltoastrelid <> 0 THEN pg_total_relation_size(c.reltoastrelid) ELSE 0 END), 0)::bigint::text AS toast,
              coalesce(sum(pg_indexes_size(c.oid)), 0)::bigint::text AS indexes,
              coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint::text AS total,
              pg_database_size(current_database())::text AS database,
              (SELECT typlen::text FROM pg_type WHERE oid = to_regtype(:newType)) AS typlen,
              (SELECT max(s.avg_width)::text FROM pg_stats s WHERE s.schemaname = :schema AND s.tablename = :name AND s.attname = :column) AS avg_width,
              EXISTS (SELECT 1 FROM pg_proc WHERE proname = 'aurora_version') AS aurora,
              EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_repack') AS installed,
              EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pg_repack') AS available
         FROM leaves JOIN pg_class c ON c.oid = leaves.oid`,
      { table: quoteTable(spec.table), newType: spec.operation.newType, schema: spec.table.schema, name: spec.table.name, column: spec.operation.column },
    )
  ).rows[0]!;
  const typlen = Number(row.typlen ?? -1);
  const avgWidth = row.avg_width === null ? undefined : Number(row.avg_width);
  return {
    heapBytes: Number(row.heap ?? 0),
    toastBytes: Number(row.toast ?? 0),
    indexBytes: Number(row.indexes ?? 0),
    totalBytes: Number(row.total ?? 0),
    relations: Number(row.relations ?? 0),
    databaseBytes: Number(row.database ?? 0),
    aurora: row.aurora,
    newValueBytes: typlen > 0 ? typlen : (avgWidth ?? DEFAULT_VARLENA_WIDTH),
    repackInstalled: row.installed,
    repackAvailable: row.available,
  };
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u += 1;
  }
  return `${u === 0 ? v : v.toFixed(1)} ${units[u]}`;
}

/** The size check: heap, TOAST, indexes and total; above 10 GB of heap, advice on reclaiming the backfill's bloat. */
export function sizeCheck(size: SizeFacts, estimatedRows: number): PreflightCheck {
  const where = size.relations > 1 ? ` over ${size.relations} partitions` : '';
  const message =
    `about ${estimatedRows} rows${where}; heap ${formatBytes(size.heapBytes)}, TOAST ${formatBytes(size.toastBytes)}, ` +
    `indexes ${formatBytes(size.indexBytes)}, ${formatBytes(size.totalBytes)} in all`;
  if (size.heapBytes <= REPACK_ADVICE_BYTES) return { name: 'size', status: 'pass', message, hint: '' };
  const repack = size.repackInstalled
    ? 'pg_repack is installed: run it after contract to return the space without a long lock.'
    : size.repackAvailable
      ? 'pg_repack is available but not installed: CREATE EXTENSION pg_repack; then run it after contract.'
      : 'pg_repack is not available on this server; plan a VACUUM (space is reused, not returned) or install pg_repack.';
  return {
    name: 'size',
    status: 'warn',
    message: `${message}: above 10 GB, the backfill's dead tuples are worth reclaiming afterwards`,
    hint: repack,
  };
}

/** What the migration may add to the table's storage, in bytes. */
export interface SpaceNeeded {
  /** Every row rewritten once with the new column: the old versions stay until VACUUM reuses them. */
  readonly heapGrowth: number;
  /** The index on the new column (0 without `operation.index`). */
  readonly index: number;
  readonly total: number;
}

/**
 * Space the migration needs on top of the table: a full backfill writes a new version of every row (the heap can
 * grow by its size plus the new column until VACUUM reuses the dead tuples; unchanged TOAST values are shared, not
 * copied), and the index holds one entry per row (8-byte tuple header + the value aligned to 8 + a 4-byte line
 * pointer, at B-tree's 90 % fill).
 */
export function spaceNeeded(size: SizeFacts, estimatedRows: number, index: boolean): SpaceNeeded {
  const rows = Math.max(0, estimatedRows);
  const heapGrowth = size.heapBytes + rows * size.newValueBytes;
  const entry = 8 + Math.ceil(size.newValueBytes / 8) * 8 + 4;
  const indexBytes = index ? Math.ceil((rows * entry) / 0.9) : 0;
  return { heapGrowth, index: indexBytes, total: heapGrowth + indexBytes };
}

/**
 * The headroom check: how much space the migration may need, and how much there is. On Aurora the cluster volume
 * grows by itself up to 128 TiB, so the headroom is that limit minus this database's size (other databases share the
 * volume); anywhere else free disk space cannot be read through SQL, and the check says so. `warn` when the need
 * exceeds the headroom.
 */
export function headroomCheck(size: SizeFacts, estimatedRows: number, index: boolean): PreflightCheck {
  const need = spaceNeeded(size, estimatedRows, index);
  const parts =
    `plan for about ${formatBytes(need.total)} of free space: every backfilled row is rewritten, so the heap can grow by up to ` +
    `${formatBytes(need.heapGrowth)} (its ${formatBytes(size.heapBytes)} plus the new column) until VACUUM reuses the dead tuples` +
    (index ? `, plus about ${formatBytes(need.index)} for the index` : '');
  if (!size.aurora) {
    return {
      name: 'headroom',
      status: 'pass',
      message: `${parts}; this server is not Aurora and its free disk space is not visible through SQL`,
      hint: 'Make sure that much is free on the volume, or slow the backfill (backfill.maxRowsPerSecond, backfill.vacuumEveryRows) so autovacuum keeps up.',
    };
  }
  const headroom = Math.max(0, AURORA_VOLUME_LIMIT_BYTES - size.databaseBytes);
  const enough = need.total <= headroom;
  return {
    name: 'headroom',
    status: enough ? 'pass' : 'warn',
    message: `${parts}; the Aurora volume grows by itself up to 128 TiB and this database uses ${formatBytes(size.databaseBytes)}, leaving ${formatBytes(headroom)}`,
    hint: enough
      ? (index ? 'CREATE INDEX sorts in the writer instance\'s local storage: check its FreeLocalStorage metric is above the index size.' : '')
      : 'The migration may not fit in the volume: free space first (drop unused data, VACUUM FULL or pg_repack a bloated table).',
  };
}
