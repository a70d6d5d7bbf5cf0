import type { Executor } from '../db/executor';
import { PreflightError, StepwiseError } from '../errors';
import type { TableFacts } from '../operations/operation';
import type { Spec } from '../spec';
import { UsingErrorCode, type CalledFunction, type UsingAnalysis } from '../spec/expression';
import { quoteIdent, quoteTable } from '../sql/quote';
import type { PreflightCheck } from './preflight-checks';

/**
 * Preflight checks that keep the application's writes working from expand to contract (issue 14 items 4 and 6):
 * `using` is deterministic and side-effect free (pg_proc volatility of what it calls, then the server's own
 * immutability test of the whole expression), it reads no generated column, the new type's ADD COLUMN rewrites
 * nothing, every value the old column admits converts (or the exact bound is named), a NULL the application may still
 * write does not break `notNull`, and what logical replication and the WAL will see of the backfill. Each `read…`
 * gathers facts read-only and selects only text, booleans and counts; each `…Check` is pure.
 */

// ── what `using` calls: pg_proc ────────────────────────────────────────────────────────────────────────────────────

export interface FunctionVolatility {
  readonly name: string;
  readonly schema?: string;
  /** Overloads visible under that name (0: unknown function; evaluation reports it). */
  readonly overloads: number;
  /** Some overload is IMMUTABLE (the server then picks by argument types; the immutability probe decides). */
  readonly someImmutable: boolean;
  /** Some overload is VOLATILE. */
  readonly someVolatile: boolean;
}

export async function readFunctionVolatility(db: Executor, functions: readonly CalledFunction[]): Promise<FunctionVolatility[]> {
  if (functions.length === 0) return [];
  const rows = (
    await db.query<{ name: string; schema: string | null; overloads: number; immutable: boolean; volatile: boolean }>(
      `SELECT f.name, f.schema, count(p.oid)::int AS overloads,
              coalesce(bool_or(p.provolatile = 'i'), false) AS immutable, coalesce(bool_or(p.provolatile = 'v'), false) AS volatile
         FROM json_to_recordset(CAST(:functions AS json)) AS f(schema text, name text)
         LEFT JOIN pg_proc p ON p.proname = f.name
              AND CASE WHEN f.schema IS NULL THEN pg_function_is_visible(p.oid) ELSE p.pronamespace = to_regnamespace(quote_ident(f.schema)) END
        GROUP BY f.name, f.schema ORDER BY f.name`,
      { functions: JSON.stringify(functions.map((f) => ({ schema: f.schema ?? null, name: f.name }))) },
    )
  ).rows;
  return rows.map((r) => ({
    name: r.name,
    ...(r.schema ? { schema: r.schema } : {}),
    overloads: Number(r.overloads),
    someImmutable: r.immutable === true || String(r.immutable) === 'true',
    someVolatile: r.volatile === true || String(r.volatile) === 'true',
  }));
}

/** Refuses a function none of whose overloads is IMMUTABLE: volatile ones have side effects, stable ones read the session. */
export function functionVolatilityCheck(spec: Spec, functions: readonly FunctionVolatility[]): PreflightCheck {
  const name = 'expression: functions';
  const display = (f: FunctionVolatility) => `${f.schema ? `${f.schema}.` : ''}${f.name}()`;
  const bad = functions.filter((f) => f.overloads > 0 && !f.someImmutable);
  const volatile = bad.filter((f) => f.someVolatile);
  if (volatile.length > 0) {
    return {
      name,
      status: 'fail',
      code: UsingErrorCode.SideEffect,
      message: `operation.using "${spec.operation.using}" calls ${volatile.map(display).join(', ')}, which pg_proc marks VOLATILE: it may have side effects or return something new on each call, and it would run for every row and on every application write`,
      hint: 'Remove the call, or use an IMMUTABLE function that computes the value from the row alone.',
    };
  }
  if (bad.length > 0) {
    return {
      name,
      status: 'fail',
      code: UsingErrorCode.SessionDependent,
      message: `operation.using "${spec.operation.using}" calls ${bad.map(display).join(', ')}, which pg_proc marks STABLE: the result depends on the session (TimeZone, DateStyle, search_path, locale) or the moment, so the sync trigger in the application's session and the backfill in Stepwise's could disagree`,
      hint: 'Use an IMMUTABLE equivalent that names what the session would decide, e.g. at AT TIME ZONE \'UTC\' instead of at::timestamptz.',
    };
  }
  return { name, status: 'pass', message: functions.length ? `every function called is IMMUTABLE for some argument types: ${functions.map(display).join(', ')}` : 'calls no function', hint: '' };
}

// ── the whole expression: the server's immutability test ───────────────────────────────────────────────────────────

export type ImmutabilityProbe =
  | { readonly outcome: 'immutable' }
  | { readonly outcome: 'mutable' | 'not-row' | 'invalid' | 'unavailable'; readonly reason: string };

/** Name of the probe column; the table cannot have it (the `_stepwise_` prefix is reserved). */
const PROBE_COLUMN = '_stepwise_using_probe';

/**
 * Asks Postgres itself whether `(using)::newType` is immutable, casts and operators included (timestamptz → text reads
 * DateStyle and TimeZone, timestamp → timestamptz reads TimeZone): a temporary copy of the table's columns gets a
 * stored generated column of that expression, which Postgres accepts only for immutable expressions over one row. The
 * transaction is always rolled back and evaluates nothing (the copy is empty): the user's table is not touched.
 */
export async function probeImmutable(db: Executor, spec: Spec): Promise<ImmutabilityProbe> {
  const op = spec.operation;
  const rollback = new Error('rollback');
  const alias = quoteIdent(spec.table.name);
  try {
    await db.transaction(async (tx) => {
      await tx.query(
        `CREATE TEMPORARY TABLE ${alias} (LIKE ${quoteTable(spec.table)}, ${quoteIdent(PROBE_COLUMN)} ${op.newType} GENERATED ALWAYS AS ((${op.using})::${op.newType}) STORED) ON COMMIT DROP`,
      );
      throw rollback;
    });
  } catch (err) {
    if (err === rollback) return { outcome: 'immutable' };
    if (!(err instanceof StepwiseError) || err.code !== 'SW_DB_ERROR') throw err;
    const message = err.message;
    if (/not immutable/i.test(message)) return { outcome: 'mutable', reason: message };
    if (/subquer|aggregate|window function|set-returning|system column/i.test(message)) return { outcome: 'not-row', reason: message };
    if (/permission denied|read-only transaction/i.test(message)) return { outcome: 'unavailable', reason: message };
    return { outcome: 'invalid', reason: message };
  }
  return { outcome: 'immutable' };
}

export function immutabilityCheck(spec: Spec, probe: ImmutabilityProbe): PreflightCheck {
  const name = 'expression: deterministic';
  const op = spec.operation;
  switch (probe.outcome) {
    case 'immutable':
      return { name, status: 'pass', message: `Postgres accepts (${op.using})::${op.newType} as immutable: every function, operator and cast in it depends on the row alone`, hint: '' };
    case 'mutable':
      return {
        name,
        status: 'fail',
        code: UsingErrorCode.SessionDependent,
        message: `operation.using "${op.using}" converted to ${op.newType} is not immutable: a function, operator or cast in it depends on the session (TimeZone, DateStyle, search_path, locale) or has side effects, so the sync trigger (the application's session) and the backfill (Stepwise's) could compute different values`,
        hint: "Name what the session would decide: at AT TIME ZONE 'UTC' instead of at::timestamptz, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS') instead of at::text, and call only IMMUTABLE functions.",
      };
    case 'not-row':
      return {
        name,
        status: 'fail',
        code: UsingErrorCode.NotRowExpression,
        message: `operation.using "${op.using}" is not a value computed from one row: ${probe.reason}`,
        hint: "Write one expression over the row's own columns, without subqueries, aggregates, window or set-returning functions.",
      };
    case 'unavailable':
      return {
        name,
        status: 'warn',
        code: 'SW_USING_NOT_PROVEN',
        message: `could not ask the server whether ${op.using} is immutable (${probe.reason}); only the functions it calls were checked`,
        hint: 'Grant the migration role TEMPORARY on the database (the probe creates an empty temporary table and rolls back), or make sure no cast or operator in the expression depends on the session.',
      };
    case 'invalid':
      // The evaluation that follows reports the real error (unknown column, wrong type) with its own code.
      return { name, status: 'pass', message: `not decided here: ${probe.reason}`, hint: '' };
  }
}

// ── generated columns ──────────────────────────────────────────────────────────────────────────────────────────────

export interface GeneratedColumn {
  readonly name: string;
  /** The generation expression, as pg_get_expr prints it. */
  readonly expression: string;
}

export async function readGeneratedColumns(db: Executor, table: TableFacts): Promise<GeneratedColumn[]> {
  return (
    await db.query<{ name: string; expression: string }>(
      `SELECT a.attname::text AS name, coalesce(pg_get_expr(d.adbin, d.adrelid), '') AS expression
         FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE a.attrelid = (:table)::regclass AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated <> ''
        ORDER BY a.attnum`,
      { table: quoteTable(table) },
    )
  ).rows.map((r) => ({ name: r.name, expression: r.expression }));
}

/**
 * A BEFORE trigger sees a generated column as NULL (Postgres computes it after BEFORE triggers): a `using` that reads
 * one would give NULL in the sync trigger while the backfill saw the real value. Refused, naming the expression to
 * write instead.
 */
export function generatedColumnsCheck(spec: Spec, analysis: UsingAnalysis, generated: readonly GeneratedColumn[]): PreflightCheck {
  const name = 'expression: generated columns';
  const read = generated.filter((g) => analysis.columns.includes(g.name) || analysis.readsWholeRow);
  if (read.length === 0) return { name, status: 'pass', message: 'operation.using reads no generated column', hint: '' };
  return {
    name,
    status: 'fail',
    code: 'SW_USING_READS_GENERATED',
    message: `operation.using "${spec.operation.using}" reads the generated column${read.length > 1 ? 's' : ''} ${read.map((g) => `${g.name} (GENERATED ALWAYS AS ${g.expression})`).join(', ')}: a BEFORE trigger sees it as NULL, so the sync trigger would write NULL for every application write (and every write fails once the column is NOT NULL)`,
    hint: `Write using over the columns it is computed from, replacing ${read.map((g) => `${g.name} by (${g.expression})`).join(' and ')}.`,
  };
}

// ── the new type: ADD COLUMN without a rewrite ─────────────────────────────────────────────────────────────────────

export interface NewTypeFacts {
  readonly isDomain: boolean;
  /** CHECK constraints (and NOT NULL) of the domain or any domain under it. */
  readonly constraints: readonly string[];
  /** The domain's default, if it has one. */
  readonly defaultExpression?: string;
  /** The default calls a VOLATILE function (nextval, random(), clock_timestamp()…). */
  readonly volatileDefault: boolean;
}

export async function readNewTypeFacts(db: Executor, newType: string): Promise<NewTypeFacts> {
  const row = (
    await db.query<{ is_domain: boolean; constraints: string; default_expr: string | null; volatile_default: boolean }>(
      `WITH RECURSIVE chain AS (
         SELECT t.oid, t.typbasetype, t.typtype, t.typnotnull, t.typname, 0 AS depth FROM pg_type t WHERE t.oid = to_regtype(:type)
         UNION ALL
         SELECT b.oid, b.typbasetype, b.typtype, b.typnotnull, b.typname, c.depth + 1 FROM chain c JOIN pg_type b ON b.oid = c.typbasetype WHERE c.typtype = 'd' AND c.depth < 20)
       SELECT coalesce((SELECT typtype = 'd' FROM chain WHERE depth = 0), false) AS is_domain,
              coalesce((SELECT json_agg(x)::text FROM (
                SELECT c.typname::text || ': ' || pg_get_constraintdef(k.oid) AS x FROM chain c JOIN pg_constraint k ON k.contypid = c.oid WHERE c.typtype = 'd'
                UNION ALL SELECT c.typname::text || ': NOT NULL' FROM chain c WHERE c.typtype = 'd' AND c.typnotnull) s), '[]') AS constraints,
              (SELECT t.typdefault FROM chain c JOIN pg_type t ON t.oid = c.oid WHERE c.typtype = 'd' AND t.typdefault IS NOT NULL ORDER BY c.depth LIMIT 1) AS default_expr,
              -- pg_depend records no function of a type's default: read the function ids from the stored expression.
              EXISTS (SELECT 1 FROM chain c JOIN pg_type t ON t.oid = c.oid
                        CROSS JOIN LATERAL regexp_matches(coalesce(t.typdefaultbin::text, ''), ':(?:op)?funcid ([0-9]+)', 'g') AS m(ids)
                        JOIN pg_proc p ON p.oid = m.ids[1]::oid WHERE c.typtype = 'd' AND p.provolatile = 'v') AS volatile_default`,
      { type: newType },
    )
  ).rows[0];
  return {
    isDomain: row?.is_domain === true || String(row?.is_domain) === 'true',
    constraints: row?.constraints ? (JSON.parse(row.constraints) as string[]) : [],
    ...(row?.default_expr ? { defaultExpression: row.default_expr } : {}),
    volatileDefault: row?.volatile_default === true || String(row?.volatile_default) === 'true',
  };
}

/**
 * ADD COLUMN of a domain with constraints, or with a volatile default, rewrites the whole table under ACCESS
 * EXCLUSIVE (measured: the filenode changes): refused, with the rewrite-free way to get the same result.
 */
export function newTypeRewriteCheck(spec: Spec, facts: NewTypeFacts): PreflightCheck {
  const name = 'new type';
  const op = spec.operation;
  if (!facts.isDomain) return { name, status: 'pass', message: `ADD COLUMN ${op.newColumn} ${op.newType} is a catalog-only change`, hint: '' };
  if (facts.constraints.length > 0) {
    return {
      name,
      status: 'fail',
      code: 'SW_NEW_TYPE_REWRITES',
      message: `newType ${op.newType} is a domain with constraints (${facts.constraints.join('; ')}): ADD COLUMN of it rewrites the whole table under ACCESS EXCLUSIVE, blocking every read and write for the length of the rewrite`,
      hint: `Use the domain's base type as newType and add the rule after the migration without a long lock: ALTER TABLE … ADD CONSTRAINT … CHECK (…) NOT VALID, then VALIDATE CONSTRAINT.`,
    };
  }
  if (facts.volatileDefault) {
    return {
      name,
      status: 'fail',
      code: 'SW_NEW_TYPE_REWRITES',
      message: `newType ${op.newType} is a domain whose default (${facts.defaultExpression ?? 'a volatile expression'}) is volatile: ADD COLUMN then computes it for every row, rewriting the whole table under ACCESS EXCLUSIVE`,
      hint: "Use a type without a volatile default (the domain's base type); the sync trigger and the backfill fill the column from using.",
    };
  }
  return { name, status: 'pass', message: `${op.newType} is a domain without constraints or volatile default: ADD COLUMN is a catalog-only change`, hint: '' };
}

// ── every value the old column admits converts ─────────────────────────────────────────────────────────────────────

/** The range of values a column type admits, as exact decimal strings over integer steps of `10^-scale`. */
export interface TypeDomain {
  readonly maxUnits: bigint;
  readonly minUnits: bigint;
  readonly scale: number;
  readonly display: string;
}

const INTEGER_DOMAINS: Readonly<Record<string, readonly [bigint, bigint]>> = {
  smallint: [-32768n, 32767n],
  integer: [-2147483648n, 2147483647n],
  bigint: [-9223372036854775808n, 9223372036854775807n],
};

/** The values `format_type` names (`numeric(10,2)`, `integer`, …) admit; undefined for types without a bounded range. */
export function typeDomain(formatted: string): TypeDomain | undefined {
  const ints = INTEGER_DOMAINS[formatted];
  if (ints) return { minUnits: ints[0], maxUnits: ints[1], scale: 0, display: formatted };
  const m = /^numeric\((\d+),(\d+)\)$/.exec(formatted);
  if (!m) return undefined;
  const precision = Number(m[1]);
  const scale = Number(m[2]);
  if (precision > 38 || scale > precision) return undefined;
  const max = 10n ** BigInt(precision) - 1n;
  return { minUnits: -max, maxUnits: max, scale, display: formatted };
}

/** `units × 10^-scale` as an exact decimal string: unitsToDecimal(2147483647n, 2) === '21474836.47'. */
export function unitsToDecimal(units: bigint, scale: number): string {
  const negative = units < 0n;
  const digits = (negative ? -units : units).toString().padStart(scale + 1, '0');
  const text = scale === 0 ? digits : `${digits.slice(0, digits.length - scale)}.${digits.slice(digits.length - scale)}`;
  return negative ? `-${text}` : text;
}

export interface ConversionBounds {
  readonly column: string;
  readonly domain: TypeDomain;
  /** Largest value that converts when the type's maximum does not (and the next step up, which does not). */
  readonly upper?: { readonly converts: string; readonly fails: string };
  readonly lower?: { readonly converts: string; readonly fails: string };
}

/** Binary-search steps at most per side: 10^38 needs 127. */
const MAX_SEARCH_STEPS = 130;

/**
 * For a `using` that reads only the old column of a bounded numeric type: does `(using)::newType` convert the type's
 * largest and smallest values? If not, the exact last value that converts (binary search: each probe evaluates the
 * expression on one literal, selecting a boolean). Only called after the expression was proven side-effect free.
 */
export async function readConversionBounds(db: Executor, spec: Spec, table: TableFacts, analysis: UsingAnalysis): Promise<ConversionBounds | undefined> {
  const op = spec.operation;
  const column = table.columns.find((c) => c.name === op.column);
  if (!column || analysis.readsWholeRow || analysis.columns.some((c) => c !== op.column)) return undefined;
  const domain = typeDomain(column.type);
  if (!domain) return undefined;
  const sql = `SELECT ((${op.using})::${op.newType} IS NULL) AS v FROM (SELECT CAST(:value AS ${column.type}) AS ${quoteIdent(op.column)}) AS ${quoteIdent(spec.table.name)}`;
  const converts = async (units: bigint) => {
    try {
      await db.query(sql, { value: unitsToDecimal(units, domain.scale) });
      return true;
    } catch (err) {
      if (err instanceof StepwiseError && err.code === 'SW_DB_ERROR') return false;
      throw err;
    }
  };
  if (!(await converts(0n))) return undefined;
  const search = async (bad: bigint): Promise<{ converts: string; fails: string } | undefined> => {
    if (await converts(bad)) return undefined;
    let good = 0n;
    for (let i = 0; i < MAX_SEARCH_STEPS && (bad - good > 1n || good - bad > 1n); i += 1) {
      const mid = (good + bad) / 2n;
      if (await converts(mid)) good = mid;
      else bad = mid;
    }
    return { converts: unitsToDecimal(good, domain.scale), fails: unitsToDecimal(bad, domain.scale) };
  };
  const upper = await search(domain.maxUnits);
  // Most conversions are symmetric (two's complement: -2147483648 … 2147483647): two probes confirm the mirrored bound
  // before a second search.
  const mirrored = upper ? -BigInt(upper.converts.replace('.', '')) - 1n : undefined;
  const lower =
    mirrored !== undefined && mirrored > domain.minUnits && (await converts(mirrored)) && !(await converts(mirrored - 1n))
      ? { converts: unitsToDecimal(mirrored, domain.scale), fails: unitsToDecimal(mirrored - 1n, domain.scale) }
      : await search(domain.minUnits);
  return { column: op.column, domain, ...(upper ? { upper } : {}), ...(lower ? { lower } : {}) };
}

/**
 * Warns (with the exact bound and a fix) when the old column admits values that `using` cannot turn into the new
 * type: an application write of such a value is valid for the old column, but the sync trigger fails it.
 */
export function conversionBoundsCheck(spec: Spec, bounds: ConversionBounds | undefined): PreflightCheck {
  const name = 'new type range';
  const op = spec.operation;
  if (!bounds) return { name, status: 'pass', message: 'not applicable: the old column has no bounded numeric type, or using reads other columns', hint: '' };
  const { upper, lower, domain } = bounds;
  if (!upper && !lower) {
    return { name, status: 'pass', message: `every value ${op.column} ${domain.display} admits converts to ${op.newType} through ${op.using}`, hint: '' };
  }
  const limits = [
    upper ? `above ${upper.converts} (${upper.fails} does not convert)` : '',
    lower ? `below ${lower.converts} (${lower.fails} does not convert)` : '',
  ].filter(Boolean);
  const between = `${lower ? lower.converts : unitsToDecimal(domain.minUnits, domain.scale)} AND ${upper ? upper.converts : unitsToDecimal(domain.maxUnits, domain.scale)}`;
  return {
    name,
    status: 'warn',
    code: 'SW_TYPE_RANGE_NARROWER',
    message:
      `${op.column} ${domain.display} admits values from ${unitsToDecimal(domain.minUnits, domain.scale)} to ${unitsToDecimal(domain.maxUnits, domain.scale)}, but (${op.using})::${op.newType} fails ${limits.join(' and ')}: ` +
      `from expand on, the sync trigger would make the application's write of such a valid ${op.column} fail`,
    hint: `Choose a wider newType (e.g. bigint or numeric), or first limit ${op.column} to what converts: ALTER TABLE … ADD CONSTRAINT … CHECK (${quoteIdent(op.column)} BETWEEN ${between}) NOT VALID, then VALIDATE CONSTRAINT.`,
  };
}

// ── notNull over a nullable old column ─────────────────────────────────────────────────────────────────────────────

/**
 * With `notNull`, an application that still writes NULL to a nullable old column gets NULL in the new column from the
 * sync trigger (when `using` maps NULL to NULL), and after constrain every such write fails. Warned with the fixes.
 */
export function oldColumnNullableCheck(spec: Spec, table: TableFacts, nullGivesNull: boolean): PreflightCheck {
  const name = 'old column nullable';
  const op = spec.operation;
  const old = table.columns.find((c) => c.name === op.column);
  if (!op.notNull || !old?.nullable || !nullGivesNull) {
    return { name, status: 'pass', message: op.notNull ? `a NULL ${op.column} cannot reach the NOT NULL ${op.newColumn}` : 'notNull is not set', hint: '' };
  }
  return {
    name,
    status: 'warn',
    code: 'SW_OLD_COLUMN_NULLABLE',
    message: `${op.column} is nullable and ${op.using} is NULL when it is NULL: an application write of NULL to ${op.column} gives a NULL ${op.newColumn}, and after constrain (NOT NULL) every such write fails`,
    hint: `Make ${op.column} NOT NULL first (ADD CONSTRAINT … CHECK (${quoteIdent(op.column)} IS NOT NULL) NOT VALID, VALIDATE CONSTRAINT, SET NOT NULL), map NULL in using (e.g. coalesce(…, 0)), or set operation.notNull to false.`,
  };
}

/** Whether `using` over a row whose old column is NULL (the other columns too) is NULL. Selects a boolean. */
export async function readNullGivesNull(db: Executor, spec: Spec): Promise<boolean> {
  const op = spec.operation;
  const t = quoteTable(spec.table);
  const row = (
    await db.query<{ v: boolean }>(
      `WITH _sw_nulls AS MATERIALIZED (SELECT (NULL::${t}).*) SELECT ((${op.using})::${op.newType} IS NULL) AS v FROM _sw_nulls AS ${quoteIdent(spec.table.name)}`,
    )
  ).rows[0];
  return row?.v === true || String(row?.v) === 'true';
}

// ── logical replication and WAL ────────────────────────────────────────────────────────────────────────────────────

export interface ReplicationFacts {
  readonly publications: readonly string[];
  readonly logicalSlots: number;
  /** Heap bytes of the table (its leaf partitions when partitioned). */
  readonly heapBytes: number;
  /** Heap, indexes and TOAST. */
  readonly totalBytes: number;
}

export async function readReplication(db: Executor, spec: Spec): Promise<ReplicationFacts> {
  const row = (
    await db.query<{ pubs: string; slots: number; heap: string; total: string }>(
      // pg_partition_tree lists nothing for a table that is not partitioned: `rels` is then the table itself.
      `WITH rels AS (
         SELECT relid AS r FROM pg_partition_tree((:table)::regclass)
         UNION SELECT (:table)::regclass WHERE NOT EXISTS (SELECT 1 FROM pg_partition_tree((:table)::regclass))),
       leaves AS (
         SELECT relid AS r FROM pg_partition_tree((:table)::regclass) WHERE isleaf
         UNION SELECT (:table)::regclass WHERE NOT EXISTS (SELECT 1 FROM pg_partition_tree((:table)::regclass)))
       SELECT coalesce((SELECT json_agg(DISTINCT pt.pubname::text)::text FROM pg_publication_tables pt
                         WHERE (quote_ident(pt.schemaname) || '.' || quote_ident(pt.tablename))::regclass IN (SELECT r FROM rels)), '[]') AS pubs,
              (SELECT count(*) FROM pg_replication_slots WHERE slot_type = 'logical' AND database = current_database())::int AS slots,
              (SELECT coalesce(sum(pg_relation_size(r)), 0) FROM leaves)::text AS heap,
              (SELECT coalesce(sum(pg_total_relation_size(r)), 0) FROM leaves)::text AS total`,
      { table: quoteTable(spec.table) },
    )
  ).rows[0];
  return {
    publications: row?.pubs ? (JSON.parse(row.pubs) as string[]) : [],
    logicalSlots: Number(row?.slots ?? 0),
    heapBytes: Number(row?.heap ?? 0),
    totalBytes: Number(row?.total ?? 0),
  };
}

/**
 * WAL a full backfill writes, estimated from the table's size: every row is rewritten once (a new tuple), the first
 * change to each heap page after a checkpoint logs the whole page, and every index gets an entry per row (the update
 * sets an indexed column, so it is not HOT). About 2 × heap + indexes.
 */
export function estimateBackfillWalBytes(heapBytes: number, totalBytes: number): number {
  return 2 * heapBytes + Math.max(0, totalBytes - heapBytes);
}

/** Above this estimate, the WAL volume is worth a warning (replicas, backups and archives all carry it). */
export const WAL_WARN_BYTES = 1024 ** 3;

export function replicationCheck(facts: Pick<ReplicationFacts, 'publications' | 'logicalSlots'>, walBytes: number, estimatedRows: number, formatBytes: (n: number) => string): PreflightCheck {
  const name = 'replication';
  const wal = `the backfill writes about ${formatBytes(walBytes)} of WAL (estimated from the table's size: every row rewritten once, its pages and index entries logged)`;
  if (facts.publications.length > 0) {
    return {
      name,
      status: 'warn',
      code: 'SW_PUBLICATION_INCLUDES_TABLE',
      message: `the table is in logical-replication publication${facts.publications.length > 1 ? 's' : ''} ${facts.publications.join(', ')}: every one of its ~${estimatedRows} rows is sent to the subscribers as an UPDATE during the backfill, and ${wal}`,
      hint: `Make sure every subscriber has the new column before expand (ALTER TABLE … ADD COLUMN on the subscriber, or apply fails) and can take ${estimatedRows} updates; slow the backfill (backfill.maxRowsPerSecond) if subscribers lag${facts.logicalSlots > 0 ? `; ${facts.logicalSlots} logical slot(s) retain WAL until their consumers catch up` : ''}.`,
    };
  }
  if (walBytes >= WAL_WARN_BYTES) {
    return {
      name,
      status: 'warn',
      code: 'SW_BACKFILL_WAL',
      message: `${wal}; replicas, WAL archiving and backups carry all of it`,
      hint: `Make sure the WAL volume (${formatBytes(walBytes)}) fits the archive and replica lag budget; slow the backfill with backfill.maxRowsPerSecond if replicas fall behind.`,
    };
  }
  return { name, status: 'pass', message: `no publication includes the table; ${wal}`, hint: '' };
}

/** Turns a failing check into the error preflight raises for it. */
export function checkError(check: PreflightCheck, spec: Spec): PreflightError | undefined {
  return check.status === 'fail' ? new PreflightError(check.code ?? 'SW_PREFLIGHT_FAILED', check.message, check.hint, { using: spec.operation.using }) : undefined;
}
