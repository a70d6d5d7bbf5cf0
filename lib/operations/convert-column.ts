import { quoteIdent, quoteLiteral, quoteTable } from '../sql/quote';
import type { ConvertColumnSpec } from '../spec';
import { STEPWISE_PREFIX } from '../constants';
import { BACKFILL_MARKER_SETTING, isStepwiseName, objectNames } from './names';
import type { AddedObject, DataCheck, Operation, OperationContext, Plan, ValidationIssue } from './operation';
import type { Statement, Step } from './plan';

type Ctx = OperationContext<ConvertColumnSpec>;

/** The dollar-quote tag of the sync function body; `using` may not contain it. */
const BODY_TAG = '$stepwise_body$';

/** Value ranges of the integer types, for the overflow check that runs before any change. */
const INTEGER_RANGES: Readonly<Record<string, readonly [string, string]>> = {
  smallint: ['-32768', '32767'],
  int2: ['-32768', '32767'],
  integer: ['-2147483648', '2147483647'],
  int: ['-2147483648', '2147483647'],
  int4: ['-2147483648', '2147483647'],
  bigint: ['-9223372036854775808', '9223372036854775807'],
  int8: ['-9223372036854775808', '9223372036854775807'],
};

/**
 * convert-column: replace a column by a new one of another type, expand/contract style (the runbook's
 * `"Product".price numeric → price_cents integer`).
 *
 * expand adds the new column (nullable, so no rewrite) and a trigger that keeps it equal to `using` on every write;
 * backfill fills old rows in keyset batches; verify proves every row equals `using`; constrain makes it NOT NULL
 * without a long ACCESS EXCLUSIVE scan; contract drops the trigger and the old column and renames the new one.
 */
export const convertColumn = {
  validate(ctx: Ctx): ValidationIssue[] {
    const { op, table } = ctx;
    const issues: ValidationIssue[] = [];
    const has = (name: string) => table.columns.some((c) => c.name === name);
    if (!has(op.column)) {
      issues.push({
        code: 'SW_COLUMN_NOT_FOUND',
        message: `column "${op.column}" does not exist in ${table.schema}.${table.name} (columns: ${table.columns.map((c) => c.name).join(', ')})`,
        hint: 'Set operation.column to an existing column; names are case-sensitive.',
      });
    }
    if (has(op.newColumn)) {
      issues.push({
        code: 'SW_NEW_COLUMN_EXISTS',
        message: `column "${op.newColumn}" already exists in ${table.schema}.${table.name}`,
        hint: 'Choose another operation.newColumn, or drop the leftover column if an earlier attempt created it and no application version reads or writes it (a rollback that kept it for the application says so in its summary).',
      });
    }
    if (op.newColumn === op.column) {
      issues.push({
        code: 'SW_NEW_COLUMN_EXISTS',
        message: 'operation.newColumn must differ from operation.column',
        hint: 'Give the shadow column its own name; use renameTo to give it the old name at contract.',
      });
    }
    if (op.renameTo !== undefined && op.renameTo !== op.column && op.renameTo !== op.newColumn && has(op.renameTo)) {
      issues.push({
        code: 'SW_RENAME_TARGET_EXISTS',
        message: `operation.renameTo "${op.renameTo}" is already a column of ${table.schema}.${table.name}`,
        hint: 'Choose a name that is free, or the old column\'s name (it is dropped first).',
      });
    }
    if (op.column === table.primaryKey.column) {
      issues.push({
        code: 'SW_PRIMARY_KEY_COLUMN',
        message: `"${op.column}" is the primary key; convert-column cannot replace the key it batches on`,
        hint: 'Convert a non-key column.',
      });
    }
    if (op.index && isStepwiseName(op.index.name)) {
      issues.push({
        code: 'SW_RESERVED_NAME',
        message: `operation.index.name "${op.index.name}" starts with ${STEPWISE_PREFIX}, which Stepwise reserves for its own objects`,
        hint: 'Choose an index name without that prefix.',
      });
    }
    for (const [field, name] of [['newColumn', op.newColumn], ['renameTo', op.renameTo]] as const) {
      if (name !== undefined && isStepwiseName(name)) {
        issues.push({
          code: 'SW_RESERVED_NAME',
          message: `operation.${field} "${name}" starts with ${STEPWISE_PREFIX}, which Stepwise reserves for its own objects`,
          hint: `Choose a ${field} without that prefix.`,
        });
      }
    }
    if (op.using.includes(BODY_TAG)) {
      issues.push({ code: 'SW_USING_INVALID', message: `operation.using contains ${BODY_TAG}`, hint: 'Remove it.' });
    }
    return issues;
  },

  /** NULLs under notNull and integer overflow; preflight uses {@link conversionChecks}, which knows the expression's type. */
  dataChecks(ctx: Ctx): DataCheck[] {
    return conversionChecks(ctx, { category: 'N' }).filter((c) => c.severity !== 'warn');
  },

  expand(ctx: Ctx): Plan {
    const { op } = ctx;
    const t = quoteTable(ctx.table);
    const steps: Step[] = [
      {
        id: 'expand.add-column',
        description: 'Adds the new column, nullable and without default: a catalog-only change, no table rewrite.',
        lock: 'ACCESS EXCLUSIVE',
        transactional: true,
        statements: [{ sql: `ALTER TABLE ${t} ADD COLUMN IF NOT EXISTS ${quoteIdent(op.newColumn)} ${op.newType}` }],
      },
      ...convertColumn.dualWrite(ctx),
    ];
    if (op.index) steps.push(indexStep(ctx, op.index.name));
    return steps;
  },

  dualWrite(ctx: Ctx): Plan {
    if (ctx.spec.dualWrite !== 'trigger') return [];
    const { op } = ctx;
    const names = objectNames(ctx.spec.name);
    const t = quoteTable(ctx.table);
    const fn = `${quoteIdent(ctx.table.schema)}.${quoteIdent(names.syncFunction)}`;
    // The expression is evaluated over `(SELECT NEW.*) AS <table>`, so it reads the row's columns by the same names
    // as in the backfill and verification: the three can never disagree.
    const body = [
      'BEGIN',
      `  NEW.${quoteIdent(op.newColumn)} := (SELECT (${op.using})::${op.newType} FROM (SELECT NEW.*) AS ${quoteIdent(ctx.table.name)});`,
      '  RETURN NEW;',
      'END',
    ].join('\n');
    const existing = (trigger: string) => ({
      sql: 'SELECT NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = (:table)::regclass AND tgname = :trigger) AS skip',
      params: { table: t, trigger },
    });
    return [
      {
        id: 'dual-write.sync-trigger',
        description:
          'Keeps the new column equal to `using` on every INSERT and every UPDATE, whatever the writer put in it; only the ' +
          "backfill's own batches (which compute `using` themselves) skip the function. CREATE TRIGGER takes SHARE ROW " +
          'EXCLUSIVE; replacing a trigger left by an earlier attempt (DROP TRIGGER) takes ACCESS EXCLUSIVE.',
        lock: 'ACCESS EXCLUSIVE',
        transactional: true,
        statements: [
          { sql: `CREATE OR REPLACE FUNCTION ${fn}() RETURNS trigger LANGUAGE plpgsql AS ${BODY_TAG}\n${body}\n${BODY_TAG}` },
          // DROP TRIGGER takes ACCESS EXCLUSIVE even when the trigger is absent: only a re-run, which finds them, drops.
          ...dropSyncTriggers(ctx).map((statement, i) => ({ ...statement, skipWhen: existing(i === 0 ? names.syncTrigger : names.syncUpdateTrigger) })),
          { sql: `CREATE TRIGGER ${quoteIdent(names.syncTrigger)} BEFORE INSERT ON ${t} FOR EACH ROW EXECUTE FUNCTION ${fn}()` },
          // Every UPDATE recomputes the new column (an application that writes it, e.g. with a JS-rounded value, cannot
          // make it differ from `using`), except the backfill's batch statement: it sets the marker for its own
          // transaction and computes the same expression in its SET, so the function would only double its cost
          // (docs/PERFORMANCE.md). The marker is transaction-local: no other statement sees it.
          {
            sql:
              `CREATE TRIGGER ${quoteIdent(names.syncUpdateTrigger)} BEFORE UPDATE ON ${t} FOR EACH ROW ` +
              `WHEN (current_setting(${quoteLiteral(BACKFILL_MARKER_SETTING)}, true) IS DISTINCT FROM 'on') EXECUTE FUNCTION ${fn}()`,
          },
        ],
      },
    ];
  },

  backfill({ op }: Ctx) {
    const value = `(${op.using})::${op.newType}`;
    return {
      assignment: `${quoteIdent(op.newColumn)} = ${value}`,
      // A row still NULL (nearly every row, the first time) is pending without evaluating `using`: the expression then
      // runs once per row, in the SET, instead of twice. A row already set is rewritten only if it differs.
      pending: `(${quoteIdent(op.newColumn)} IS NULL OR ${quoteIdent(op.newColumn)} IS DISTINCT FROM ${value})`,
    };
  },

  verify({ op }: Ctx) {
    return {
      isNull: `${quoteIdent(op.newColumn)} IS NULL`,
      mismatch: `${quoteIdent(op.newColumn)} IS DISTINCT FROM (${op.using})::${op.newType}`,
    };
  },

  constrain(ctx: Ctx): Plan {
    const { op } = ctx;
    if (!op.notNull) return [];
    const t = quoteTable(ctx.table);
    const col = quoteIdent(op.newColumn);
    const check = quoteIdent(objectNames(ctx.spec.name).notNullCheck);
    const alreadyNotNull = columnIsNotNull(ctx, op.newColumn);
    return [
      {
        id: 'constrain.add-check',
        description: 'CHECK … NOT VALID only records the rule for new writes: a brief ACCESS EXCLUSIVE, no scan.',
        lock: 'ACCESS EXCLUSIVE',
        transactional: true,
        statements: [
          {
            sql: `ALTER TABLE ${t} ADD CONSTRAINT ${check} CHECK (${col} IS NOT NULL) NOT VALID`,
            skipWhen: {
              sql: `SELECT EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = (:table)::regclass AND conname = :check) OR (${alreadyNotNull.sql}) AS skip`,
              params: { ...alreadyNotNull.params, check: objectNames(ctx.spec.name).notNullCheck },
            },
          },
        ],
      },
      {
        id: 'constrain.validate-check',
        description: 'VALIDATE scans the table under SHARE UPDATE EXCLUSIVE: reads and writes go on.',
        lock: 'SHARE UPDATE EXCLUSIVE',
        transactional: false,
        statements: [
          {
            sql: `ALTER TABLE ${t} VALIDATE CONSTRAINT ${check}`,
            skipWhen: {
              sql: `SELECT NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = (:table)::regclass AND conname = :check AND NOT convalidated) AS skip`,
              params: { table: t, check: objectNames(ctx.spec.name).notNullCheck },
            },
            // A full scan: on a big table longer than one Data API call.
            long: true,
          },
        ],
        // After a VALIDATE that outlasted its call, this is the only word on how it ended.
        check: {
          sql: `SELECT NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = (:table)::regclass AND conname = :check AND NOT convalidated) AS ok`,
          params: { table: t, check: objectNames(ctx.spec.name).notNullCheck },
          failure: `constraint ${objectNames(ctx.spec.name).notNullCheck} is not validated after VALIDATE CONSTRAINT`,
          hint: 'A row with a NULL new value exists (verify reports it) or the VALIDATE was cancelled; the phase retries.',
        },
      },
      {
        id: 'constrain.set-not-null',
        description: 'SET NOT NULL uses the validated CHECK as proof and skips the scan (PG 12+): a brief ACCESS EXCLUSIVE.',
        lock: 'ACCESS EXCLUSIVE',
        transactional: true,
        statements: [
          { sql: `ALTER TABLE ${t} ALTER COLUMN ${col} SET NOT NULL` },
          { sql: `ALTER TABLE ${t} DROP CONSTRAINT IF EXISTS ${check}` },
        ],
      },
    ];
  },

  contract(ctx: Ctx): Plan {
    const { op } = ctx;
    const names = objectNames(ctx.spec.name);
    const t = quoteTable(ctx.table);
    const statements: Statement[] = [
      ...dropSyncTriggers(ctx),
      { sql: `DROP FUNCTION IF EXISTS ${quoteIdent(ctx.table.schema)}.${quoteIdent(names.syncFunction)}()` },
    ];
    const newExists = columnExists(ctx, op.newColumn);
    if (op.renameTo === op.column) {
      // The new column takes the old one's name: once renamed, a retried contract must not drop it as "the old column".
      statements.push({
        sql: `ALTER TABLE ${t} DROP COLUMN IF EXISTS ${quoteIdent(op.column)}`,
        skipWhen: { sql: `SELECT NOT (${newExists.sql}) AS skip`, params: newExists.params },
      });
    } else {
      statements.push({ sql: `ALTER TABLE ${t} DROP COLUMN IF EXISTS ${quoteIdent(op.column)}` });
    }
    if (op.renameTo !== undefined && op.renameTo !== op.newColumn) {
      const exists = newExists;
      statements.push({
        sql: `ALTER TABLE ${t} RENAME COLUMN ${quoteIdent(op.newColumn)} TO ${quoteIdent(op.renameTo)}`,
        skipWhen: { sql: `SELECT NOT (${exists.sql}) AS skip`, params: exists.params },
      });
    }
    return [
      {
        id: 'contract.drop-old-column',
        description:
          'Drops the trigger and the old column and renames the new one in one short transaction (catalog only). ' +
          'After this commit, automatic rollback is no longer possible: the old column is gone.',
        lock: 'ACCESS EXCLUSIVE',
        transactional: true,
        statements,
        // What "done" announces, read back: the old column gone (unless the new one took its name) and the final one there.
        check: contractCheck(ctx),
      },
    ];
  },

  rollback(ctx: Ctx, present?: ReadonlySet<string>): Plan {
    const { op } = ctx;
    const { t, has } = undoing(ctx, present);
    // One transaction (catalog only, one short ACCESS EXCLUSIVE under lock_timeout): the table is either as expand
    // left it or as before the migration, never half-undone, and a rollback that cannot have its lock changes nothing.
    // Only objects that exist are named: a plan with nothing to drop takes no lock at all.
    const statements: Statement[] = [
      ...syncMachineryDrops(ctx, has),
      ...notNullCheckDrop(ctx, has),
      ...(op.index && has(AddedId.Index) ? [{ sql: `DROP INDEX IF EXISTS ${quoteIdent(ctx.table.schema)}.${quoteIdent(op.index.name)}` }] : []),
      ...(has(AddedId.Column) ? [{ sql: `ALTER TABLE ${t} DROP COLUMN IF EXISTS ${quoteIdent(op.newColumn)}` }] : []),
    ];
    if (statements.length === 0) return [];
    return [
      {
        id: 'rollback.drop-column',
        description:
          'One short transaction (catalog only): the sync triggers, their function, the NOT NULL check, the index and the new ' +
          'column go together, so the table is never left with a NOT NULL column nobody fills. The old column is untouched.',
        lock: 'ACCESS EXCLUSIVE',
        transactional: true,
        statements,
      },
    ];
  },

  release(ctx: Ctx, present?: ReadonlySet<string>): Plan {
    const { op } = ctx;
    const { t, has } = undoing(ctx, present);
    const statements: Statement[] = [
      ...syncMachineryDrops(ctx, has),
      ...notNullCheckDrop(ctx, has),
      // Without the trigger nothing fills the new column on an INSERT that writes only the old one: NOT NULL would
      // make that INSERT fail. Catalog only.
      ...(has(AddedId.NotNull) ? [{ sql: `ALTER TABLE ${t} ALTER COLUMN ${quoteIdent(op.newColumn)} DROP NOT NULL` }] : []),
    ];
    if (statements.length === 0) return [];
    return [
      {
        id: 'rollback.release',
        description:
          'The application reads or writes the new column: one short transaction (catalog only) removes only the sync ' +
          'triggers and their function, and the NOT NULL check and NOT NULL that would fail writes without them. The new ' +
          'column, its index and the old column stay.',
        lock: 'ACCESS EXCLUSIVE',
        transactional: true,
        statements,
      },
    ];
  },

  addedObjects(ctx: Ctx): AddedObject[] {
    const { op } = ctx;
    const names = objectNames(ctx.spec.name);
    const table = quoteTable(ctx.table);
    const where = `${ctx.table.schema}.${quoteIdent(ctx.table.name)}`;
    const trigger = (id: string, name: string): AddedObject => ({
      id,
      label: `trigger "${name}" on ${where}`,
      probe: { sql: `SELECT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = to_regclass(:table) AND tgname = :name) AS present`, params: { table, name } },
    });
    const objects: AddedObject[] = [
      trigger(AddedId.SyncTrigger, names.syncTrigger),
      trigger(AddedId.SyncUpdateTrigger, names.syncUpdateTrigger),
      {
        id: AddedId.SyncFunction,
        label: `function ${ctx.table.schema}."${names.syncFunction}"()`,
        probe: {
          sql: `SELECT EXISTS (SELECT 1 FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = :schema AND p.proname = :name AND p.pronargs = 0) AS present`,
          params: { schema: ctx.table.schema, name: names.syncFunction },
        },
      },
      {
        id: AddedId.NotNullCheck,
        label: `constraint "${names.notNullCheck}" on ${where}`,
        probe: { sql: `SELECT EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = to_regclass(:table) AND conname = :name) AS present`, params: { table, name: names.notNullCheck } },
      },
      {
        id: AddedId.NotNull,
        label: `NOT NULL on column "${op.newColumn}"`,
        probe: { sql: `SELECT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass(:table) AND attname = :column AND attnotnull AND NOT attisdropped) AS present`, params: { table, column: op.newColumn } },
      },
    ];
    if (op.index) {
      objects.push({
        id: AddedId.Index,
        label: `index ${ctx.table.schema}."${op.index.name}"`,
        probe: {
          sql: `SELECT EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = :schema AND c.relname = :name AND c.relkind = 'i') AS present`,
          params: { schema: ctx.table.schema, name: op.index.name },
        },
      });
    }
    objects.push({
      id: AddedId.Column,
      label: `column "${op.newColumn}" of ${where}`,
      probe: { sql: `SELECT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass(:table) AND attname = :column AND NOT attisdropped) AS present`, params: { table, column: op.newColumn } },
    });
    return objects;
  },
} satisfies Operation<ConvertColumnSpec>;

// ── data checks ──────────────────────────────────────────────────────────────────────────────────────────────────

/** What preflight learned about the `using` expression on the live table. */
export interface ExpressionFacts {
  /** `pg_type.typcategory` of the expression's type: `N` numeric, `S` string, … */
  readonly category: string;
  /** `server_version_num`; `pg_input_is_valid` exists from 160000. @default 0 */
  readonly serverVersion?: number;
}

/** A data check; `severity: 'warn'` reports without refusing (precision loss is often intended, e.g. rounding). */
export type ConvertDataCheck = DataCheck & { readonly severity?: 'fail' | 'warn' };

/**
 * Row predicates that find values that will not convert, chosen by the expression's type so that no predicate can
 * itself fail on a row: numeric expressions are range-checked (integer and numeric(p,s) targets) and checked for
 * digits the cast rounds away; string expressions are tried with `pg_input_is_valid` (PostgreSQL 16+).
 */
export function conversionChecks({ op }: Ctx, facts: ExpressionFacts): ConvertDataCheck[] {
  const checks: ConvertDataCheck[] = [];
  const expr = `(${op.using})`;
  if (op.notNull) {
    checks.push({
      code: 'SW_NULLS_UNDER_NOT_NULL',
      predicate: `${expr} IS NULL`,
      message: `rows where ${op.using} is NULL cannot satisfy notNull`,
      hint: `Fix those rows first (e.g. UPDATE … SET ${op.column} = … WHERE ${op.column} IS NULL), or set operation.notNull to false.`,
    });
  }
  const target = op.newType.toLowerCase().trim();
  const range = INTEGER_RANGES[target];
  const decimal = /^(?:numeric|decimal)\s*\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\)$/.exec(target);
  if (facts.category === 'N') {
    if (range) {
      checks.push({
        code: 'SW_VALUE_OVERFLOW',
        predicate: `${expr}::numeric NOT BETWEEN ${range[0]} AND ${range[1]}`,
        message: `rows where ${op.using} does not fit ${op.newType} (${range[0]} … ${range[1]})`,
        hint: 'Use a wider newType (e.g. bigint), or fix those rows before migrating.',
      });
      checks.push({
        code: 'SW_PRECISION_LOST',
        severity: 'warn',
        predicate: `${expr}::numeric <> round(${expr}::numeric)`,
        message: `rows where ${op.using} has a fractional part that the cast to ${op.newType} rounds away`,
        hint: `If rounding is not intended, scale the value in operation.using (e.g. round(${op.column} * 100)) or choose a numeric newType.`,
      });
    } else if (decimal) {
      const precision = Number(decimal[1]);
      const scale = Number(decimal[2] ?? 0);
      checks.push({
        code: 'SW_VALUE_OVERFLOW',
        predicate: `round(abs(${expr}::numeric), ${scale}) >= power(10::numeric, ${precision - scale})`,
        message: `rows where ${op.using} does not fit ${op.newType} (absolute value below 10^${precision - scale})`,
        hint: 'Use a wider precision in newType, or fix those rows before migrating.',
      });
      checks.push({
        code: 'SW_PRECISION_LOST',
        severity: 'warn',
        predicate: `${expr}::numeric <> round(${expr}::numeric, ${scale})`,
        message: `rows where ${op.using} has more than ${scale} decimals, which the cast to ${op.newType} rounds away`,
        hint: 'If rounding is not intended, use a larger scale in newType.',
      });
    }
  } else if (facts.category === 'S' && (facts.serverVersion ?? 0) >= 160000) {
    checks.push({
      code: 'SW_VALUE_NOT_CONVERTIBLE',
      predicate: `${expr} IS NOT NULL AND NOT pg_input_is_valid(${expr}::text, ${quoteLiteral(op.newType)})`,
      message: `rows where ${op.using} is not valid input for ${op.newType}`,
      hint: 'Clean those values first, or write operation.using to map them (e.g. NULLIF(trim(col), \'\')).',
    });
  }
  return checks;
}

/** Ids of {@link convertColumn.addedObjects}. */
export const AddedId = {
  SyncTrigger: 'sync-trigger',
  SyncUpdateTrigger: 'sync-update-trigger',
  SyncFunction: 'sync-function',
  NotNullCheck: 'not-null-check',
  NotNull: 'not-null',
  Index: 'index',
  Column: 'column',
} as const;

/**
 * The sync triggers and their function, when any of them exists (the same trigger list as contract's, so a trigger
 * added to dual-write is dropped here too; inside the one transaction that already holds the table's lock, a
 * `DROP TRIGGER IF EXISTS` of a trigger that is gone costs nothing more).
 */
function syncMachineryDrops(ctx: Ctx, has: (id: string) => boolean): Statement[] {
  const names = objectNames(ctx.spec.name);
  if (![AddedId.SyncTrigger, AddedId.SyncUpdateTrigger, AddedId.SyncFunction].some(has)) return [];
  return [...dropSyncTriggers(ctx), { sql: `DROP FUNCTION IF EXISTS ${quoteIdent(ctx.table.schema)}.${quoteIdent(names.syncFunction)}()` }];
}

/** Drops both sync triggers (idempotent); the function goes separately, after them. */
function dropSyncTriggers(ctx: Ctx): Statement[] {
  const names = objectNames(ctx.spec.name);
  const t = quoteTable(ctx.table);
  return [names.syncTrigger, names.syncUpdateTrigger].map((trigger) => ({ sql: `DROP TRIGGER IF EXISTS ${quoteIdent(trigger)} ON ${t}` }));
}

// ── helpers ────────────────────────────────────────────────────────────────────────────────────────────────────────

function indexStep(ctx: Ctx, indexName: string): Step {
  const t = quoteTable(ctx.table);
  const idx = `${quoteIdent(ctx.table.schema)}.${quoteIdent(indexName)}`;
  const params = { schema: ctx.table.schema, index: indexName };
  const valid = `SELECT EXISTS (SELECT 1 FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = :schema AND c.relname = :index AND i.indisvalid)`;
  return {
    id: 'expand.index',
    description:
      'CREATE INDEX CONCURRENTLY builds without blocking writes; an invalid index left by an interrupted build is dropped and rebuilt.',
    lock: 'SHARE UPDATE EXCLUSIVE',
    transactional: false,
    statements: [
      { sql: `DROP INDEX CONCURRENTLY IF EXISTS ${idx}`, skipWhen: { sql: `${valid} OR NOT EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = :schema AND c.relname = :index) AS skip`, params } },
      { sql: `CREATE INDEX CONCURRENTLY IF NOT EXISTS ${quoteIdent(indexName)} ON ${t} (${quoteIdent(ctx.op.newColumn)})`, long: true },
    ],
    check: {
      sql: `${valid} AS ok`,
      params,
      failure: `index "${indexName}" is invalid after CREATE INDEX CONCURRENTLY`,
      hint: 'The build was interrupted (deadlock, cancel or a unique violation); the phase retries, dropping the invalid index first.',
    },
  };
}

function contractCheck(ctx: Ctx): NonNullable<Step['check']> {
  const { op } = ctx;
  const final = op.renameTo ?? op.newColumn;
  const attribute = (param: string) => `EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass(:table) AND attname = :${param} AND NOT attisdropped)`;
  const oldGone = final === op.column ? 'true' : `NOT ${attribute('old')}`;
  return {
    sql: `SELECT ${oldGone} AND ${attribute('final')} AS ok`,
    params: { table: quoteTable(ctx.table), ...(final === op.column ? {} : { old: op.column }), final },
    failure: `after contract the table does not show the converted column as expected (old "${op.column}" gone, "${final}" present)`,
    hint: 'Read the table (stepwise plan --database-url); if the old column is still there, nothing committed and contract can run again.',
  };
}

function columnExists(ctx: Ctx, column: string) {
  return {
    sql: `EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = (:table)::regclass AND attname = :column AND NOT attisdropped)`,
    params: { table: quoteTable(ctx.table), column },
  };
}

function columnIsNotNull(ctx: Ctx, column: string) {
  return {
    sql: `EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = (:table)::regclass AND attname = :nncolumn AND attnotnull AND NOT attisdropped)`,
    params: { table: quoteTable(ctx.table), nncolumn: column },
  };
}

/** What rollback and release share: the quoted table and whether an added object is still there (all, without a probe). */
function undoing(ctx: Ctx, present: ReadonlySet<string> | undefined): { t: string; has: (id: string) => boolean } {
  return { t: quoteTable(ctx.table), has: (id) => present === undefined || present.has(id) };
}

/** Drops the NOT NULL check constrain added, where it is still there. */
function notNullCheckDrop(ctx: Ctx, has: (id: string) => boolean): Statement[] {
  const check = objectNames(ctx.spec.name).notNullCheck;
  return has(AddedId.NotNullCheck) ? [{ sql: `ALTER TABLE ${quoteTable(ctx.table)} DROP CONSTRAINT IF EXISTS ${quoteIdent(check)}` }] : [];
}
