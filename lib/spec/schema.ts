import { z } from 'zod';
import { assertTimeZone, parseAwsCron } from '../window/next-window';
import { durationToSeconds, isIsoDuration } from './duration';

/** Defaults the spec fills in; each one documented once, here. */
export const SPEC_DEFAULTS = {
  /** @default 'public' */
  schema: 'public',
  /** Rows per backfill batch, as the runbook wrote it. @default 1000 */
  batchSize: 1000,
  /** Sleep between batches. The runbook slept 100 ms; 0 runs batches back to back. @default 0 */
  pauseMs: 0,
  /** Longest time one backfill invocation runs batches before it returns a cursor. @default 20 */
  maxSecondsPerInvocation: 20,
  /** Time between read-from-new and contract, re-verified after. @default 'P7D' */
  soak: 'P7D',
  /** How long a DDL statement may wait for its lock before giving up and retrying. @default 500 */
  lockTimeoutMs: 500,
  /** Rows per verification batch. @default 10000 */
  verifyBatchSize: 10000,
} as const;

/**
 * A Postgres identifier as a user may name it: 1–63 bytes, no NUL, no leading/trailing whitespace. It is always
 * quoted when it enters SQL, so any other character is safe.
 */
const identifier = z
  .string()
  .min(1, 'must not be empty')
  .refine((s) => Buffer.byteLength(s, 'utf8') <= 63, 'is longer than Postgres allows (63 bytes)')
  .refine((s) => !s.includes('\u0000'), 'must not contain a NUL character')
  .refine((s) => s.trim() === s, 'must not start or end with whitespace');

/** A type name as written in DDL: `integer`, `bigint`, `numeric(12,2)`, `character varying(255)`, `text[]`. */
const typeName = z
  .string()
  .regex(
    /^[A-Za-z_][A-Za-z0-9_]*( [A-Za-z_][A-Za-z0-9_]*)*(\(\s*\d+\s*(,\s*\d+\s*)?\))?(\[\])?$/,
    'must be a Postgres type name such as integer, bigint, numeric(12,2) or text',
  );

/**
 * One SQL expression over the row's columns. Its syntax is checked by the real Postgres parser, which needs a moment
 * to load and so runs asynchronously: `checkSpecExpression` (lib/spec/parse-spec.ts) for the CLI, and preflight
 * (which also proves it deterministic on the server). A lexer here refused valid text (`$$a;b$$`) and accepted
 * statements hidden in escape strings (`E'\\'';DROP TABLE x;--'`).
 */
const sqlExpression = z
  .string()
  .min(1, 'must not be empty')
  .max(2000, 'is longer than 2000 characters')
  .refine((s) => !s.includes('\u0000'), 'must not contain a NUL character');

/**
 * `s` with the contents of "quoted identifiers" and 'string literals' blanked out (an unterminated one runs to the end).
 * @deprecated A lexer misreads escape strings and dollar quotes; lib/spec/expression.ts parses `using` for real.
 */
export function unquoted(s: string): string {
  return s.replace(/"(?:[^"]|"")*"?|'(?:[^']|'')*'?/g, (m) => m[0]!.repeat(2));
}

const migrationName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'must be 1–63 characters of lowercase letters, digits and "-", starting with a letter or digit');

const isoDuration = z.string().refine(isIsoDuration, 'must be an ISO 8601 duration such as P7D, PT2S or PT1H30M');

/** Longest soak: a Step Functions Standard execution lives at most a year, and the gates around the soak wait too. */
export const MAX_SOAK_SECONDS = 180 * 24 * 3600;

export const convertColumnSchema = z.strictObject({
  type: z.literal('convert-column'),
  /** The column being replaced. */
  column: identifier,
  /** The shadow column that expand adds and backfill fills. */
  newColumn: identifier,
  /** Postgres type of the new column. */
  newType: typeName,
  /** One SQL expression over the row's columns; feeds the sync trigger, the backfill and the verification. */
  using: sqlExpression,
  /** Optional index on the new column, created CONCURRENTLY during expand. */
  index: z.strictObject({ name: identifier }).optional(),
  /** Make the new column NOT NULL (without a long ACCESS EXCLUSIVE scan). */
  notNull: z.boolean().default(false),
  /** Name the new column takes at contract, after the old one is dropped. */
  renameTo: identifier.optional(),
});

export const operationSchema = z.discriminatedUnion('type', [convertColumnSchema]);

/**
 * How the backfill sizes its batches.
 * - `adaptive`: each batch is sized so it takes about `targetBatchMs` (within `minBatchSize`..`maxBatchSize`); a slower
 *   batch (a sign of load) shrinks the next one at once. `batchSize` is then only the size of the first batch.
 * - `fixed`: every batch has `batchSize` rows and `pauseMs` between batches, as the runbook wrote it.
 * When `mode` is absent: `fixed` if the spec sets `batchSize`, otherwise `adaptive` (see docs/PERFORMANCE.md).
 */
export const BackfillMode = { Adaptive: 'adaptive', Fixed: 'fixed' } as const;
export type BackfillMode = (typeof BackfillMode)[keyof typeof BackfillMode];

const backfillFields = z.strictObject({
  mode: z.enum([BackfillMode.Adaptive, BackfillMode.Fixed]).optional(),
  batchSize: z.number().int().min(1).max(1_000_000).optional(),
  pauseMs: z.number().int().min(0).max(600_000).default(SPEC_DEFAULTS.pauseMs),
  maxSecondsPerInvocation: z.number().int().min(1).max(40).default(SPEC_DEFAULTS.maxSecondsPerInvocation),
  /** Adaptive mode: the duration each batch aims at (ms). @default 100 */
  targetBatchMs: z.number().int().min(10).max(10_000).optional(),
  /** Adaptive mode: smallest batch. @default 100 */
  minBatchSize: z.number().int().min(1).max(1_000_000).optional(),
  /** Adaptive mode: largest batch. @default 100000 */
  maxBatchSize: z.number().int().min(1).max(1_000_000).optional(),
  /** Upper bound on rows backfilled per second (both modes); absent: no limit. */
  maxRowsPerSecond: z.number().int().min(1).optional(),
  /** Plain `VACUUM` of the table every this many rows (keeps the heap from doubling); absent: never. */
  vacuumEveryRows: z.number().int().min(1000).optional(),
  /**
   * Backfill invocations per Step Functions execution before the migration continues in a new execution (history
   * stays below the 25,000-event limit for any table size); also the verification calls per execution. The state
   * machine caps it at what one execution's history has room for (212 and 40: docs/ARCHITECTURE.md, "History
   * budget"). @default 1000
   */
  maxInvocationsPerExecution: z.number().int().min(1).max(1500).optional(),
  /**
   * Key ranges backfilled at the same time: the primary key split by quantiles, each range its own time-boxed loop in
   * a Map state. More load on the database for a shorter backfill. @default 1
   */
  parallelism: z.number().int().min(1).max(16).optional(),
  /**
   * The application's UPDATE triggers the backfill may fire, by name. The batches skip the application's triggers
   * where the migration role may set `session_replication_role`; every trigger they would still fire (all of them
   * otherwise, and ENABLE ALWAYS / REPLICA ones always) must be listed here, or preflight refuses
   * (`SW_BACKFILL_FIRES_TRIGGERS`). @default []
   */
  fireTriggers: z.array(identifier).max(100).optional(),
});

/**
 * The backfill settings. `mode` is decided here, where "batchSize was written" is still visible: a spec that sets
 * `batchSize` (and no `mode`) gets `mode: "fixed"`; otherwise `mode` stays absent, which means adaptive. The other new
 * fields stay absent unless written; their defaults live in lib/backfill/settings.ts (`resolveBackfillSettings`).
 */
export const backfillSchema = backfillFields
  .refine((b) => b.minBatchSize === undefined || b.maxBatchSize === undefined || b.minBatchSize <= b.maxBatchSize, {
    message: 'minBatchSize must not exceed maxBatchSize',
    path: ['minBatchSize'],
  })
  .transform(({ batchSize, mode, ...rest }) => ({
    batchSize: batchSize ?? SPEC_DEFAULTS.batchSize,
    ...rest,
    ...(mode !== undefined ? { mode } : batchSize !== undefined ? { mode: BackfillMode.Fixed } : {}),
  }));

/** Phases a maintenance window can hold back. */
export const WINDOW_PHASES = ['constrain', 'contract'] as const;

const validWith = (check: (value: string) => void) => (value: string) => {
  try {
    check(value);
    return true;
  } catch {
    return false;
  }
};

/**
 * A maintenance window: the phases listed wait until it is open. The schedule is an EventBridge Scheduler cron (the
 * same string the stack's `windowSchedule` takes), read in `timezone`; a window stays open `durationMinutes`.
 */
export const windowSchema = z.strictObject({
  schedule: z.string().refine(validWith(parseAwsCron), 'must be an EventBridge cron such as cron(0 2 ? * SAT *)'),
  timezone: z.string().refine(validWith(assertTimeZone), 'must be an IANA time zone such as Europe/Berlin or UTC').default('UTC'),
  durationMinutes: z.number().int().min(1).max(24 * 60).default(120),
  phases: z.array(z.enum(WINDOW_PHASES)).min(1).default([...WINDOW_PHASES]),
});

export const specSchema = z.strictObject({
  /** Unique name of this migration; keys its progress row and its execution. */
  name: migrationName,
  table: z.strictObject({
    schema: identifier.default(SPEC_DEFAULTS.schema),
    name: identifier,
  }),
  operation: operationSchema,
  /** `trigger`: Stepwise keeps the new column in sync; `application`: a gate waits for the app's dual-write code. */
  dualWrite: z.enum(['trigger', 'application']).default('trigger'),
  backfill: backfillSchema.default({
    batchSize: SPEC_DEFAULTS.batchSize,
    pauseMs: SPEC_DEFAULTS.pauseMs,
    maxSecondsPerInvocation: SPEC_DEFAULTS.maxSecondsPerInvocation,
  }),
  /** Wait between read-from-new and contract (ISO 8601). */
  soak: isoDuration
    .refine((d) => !isIsoDuration(d) || durationToSeconds(d) <= MAX_SOAK_SECONDS, 'must be at most P180D (an execution lives at most a year)')
    .default(SPEC_DEFAULTS.soak),
  /** lock_timeout for statements that take ACCESS EXCLUSIVE, and for each backfill batch's row locks. */
  lockTimeoutMs: z.number().int().min(10).max(60_000).default(SPEC_DEFAULTS.lockTimeoutMs),
  /** Optional maintenance window for the window-only phases (default: constrain and contract). */
  window: windowSchema.optional(),
  /**
   * Where this migration was tested before production: the ARN of a successful staging execution, or free text. Shown
   * by preflight (check `staging`) and at the ApproveStart gate; when absent, approving the gate acknowledges it.
   */
  testedIn: z.string().trim().min(1).max(2048).optional(),
  /** What Stepwise's messages (SNS, Slack, errors, preflight warnings) may carry. */
  notifications: z
    .strictObject({
      /**
       * Sample primary keys of the rows a check or the verification found ("e.g. id = 17, 42"). They may be personal
       * data (an e-mail address as key): `false` leaves them out; counts are still given. @default true
       */
      sampleKeys: z.boolean().default(true),
    })
    .optional(),
  /**
   * Recovery (set by `stepwise run`/`start`, not written by hand): the execution that owned this migration and no longer
   * runs (killed, aborted, crashed); this run takes the migration over from it and carries on from its state row.
   */
  resumeFrom: z.string().trim().min(1).max(2048).optional(),
  /** Recovery: ask again at the gates an earlier run of this migration passed, and serve the soak again (`--repeat-gates`). */
  repeatGates: z.boolean().optional(),
});

/** Whether messages may name sample keys of rows (`notifications.sampleKeys`, default true). */
export function sampleKeysAllowed(spec: Pick<Spec, 'notifications'>): boolean {
  return spec.notifications?.sampleKeys !== false;
}

/** A spec as written (defaults optional). */
export type SpecInput = z.input<typeof specSchema>;
/** A validated spec with every default filled in. */
export type Spec = z.output<typeof specSchema>;
export type ConvertColumnSpec = z.output<typeof convertColumnSchema>;
export type TableRef = Spec['table'];
