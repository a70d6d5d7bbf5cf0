import { PreflightError } from '../errors';

/**
 * `operation.using` read by the real PostgreSQL parser (libpg_query, compiled to WebAssembly: the `libpg-query`
 * package), not by a lexer: the text must be exactly one expression, and what it calls is listed for the server-side
 * checks of preflight (lib/catalog/expression-checks.ts), which look up every function's volatility in pg_proc and ask
 * the server whether the whole expression, casts and operators included, is immutable.
 *
 * Refused here, without a database: anything that is not one expression (`;`, unbalanced parentheses, a trailing
 * comment that would swallow Stepwise's closing parenthesis), subqueries, parameters, aggregates and window
 * functions, SQL value functions (CURRENT_TIMESTAMP, CURRENT_USER …: they depend on the session or the moment),
 * casts to the search_path dependent reg* types, and the well-known functions with side effects or session-dependent
 * results (pg_sleep, advisory locks, dblink, nextval, set_config, now(), random() …).
 */

/** A function the expression calls, as written (the parser folds unquoted names to lower case). */
export interface CalledFunction {
  readonly schema?: string;
  readonly name: string;
}

export interface UsingAnalysis {
  /** Every function called by name, once each. */
  readonly functions: readonly CalledFunction[];
  /** The column names the expression reads (the last part of each column reference), once each. */
  readonly columns: readonly string[];
  /** True when it reads a whole row (`"Product".*` or the table name alone as a row value). */
  readonly readsWholeRow: boolean;
}

/** Error codes of the expression checks (docs/errors.md). */
export const UsingErrorCode = {
  /** Not exactly one SQL expression. */
  Syntax: 'SW_USING_SYNTAX',
  /** A subquery, parameter, aggregate or window function: not a value computed from one row. */
  NotRowExpression: 'SW_USING_NOT_ROW_EXPRESSION',
  /** The result depends on the session (TimeZone, DateStyle, search_path, the user, the moment). */
  SessionDependent: 'SW_USING_SESSION_DEPENDENT',
  /** Calls something with side effects, or whose result changes from one call to the next. */
  SideEffect: 'SW_USING_SIDE_EFFECT',
} as const;

/** Functions with side effects (or a new result each call) that a READ ONLY transaction still lets run. */
const SIDE_EFFECT_FUNCTIONS = new Set([
  'pg_sleep', 'pg_sleep_for', 'pg_sleep_until',
  'pg_advisory_lock', 'pg_advisory_lock_shared', 'pg_try_advisory_lock', 'pg_try_advisory_lock_shared',
  'pg_advisory_xact_lock', 'pg_advisory_xact_lock_shared', 'pg_try_advisory_xact_lock', 'pg_try_advisory_xact_lock_shared',
  'pg_advisory_unlock', 'pg_advisory_unlock_shared', 'pg_advisory_unlock_all',
  'nextval', 'setval', 'currval', 'lastval', 'set_config', 'setseed', 'random', 'random_normal',
  'gen_random_uuid', 'uuidv4', 'uuidv7', 'uuid_generate_v1', 'uuid_generate_v1mc', 'uuid_generate_v4',
  'clock_timestamp', 'timeofday', 'pg_notify', 'pg_logical_emit_message', 'txid_current', 'pg_current_xact_id',
  'pg_terminate_backend', 'pg_cancel_backend', 'pg_reload_conf', 'pg_rotate_logfile', 'pg_switch_wal',
  'pg_read_file', 'pg_read_binary_file', 'pg_ls_dir', 'pg_stat_file', 'lo_import', 'lo_export', 'lo_create', 'lo_unlink',
]);

/** Functions whose result depends on the session or the moment, not on the row. */
const SESSION_FUNCTIONS = new Set([
  'now', 'statement_timestamp', 'transaction_timestamp', 'current_setting', 'current_database', 'current_schema',
  'current_schemas', 'current_user', 'session_user', 'pg_backend_pid', 'inet_client_addr', 'inet_client_port',
  'pg_my_temp_schema', 'to_regclass', 'to_regproc', 'to_regprocedure', 'to_regoper', 'to_regoperator', 'to_regtype',
  'to_regnamespace', 'to_regrole', 'to_regcollation', 'to_regtypemod',
]);

/** Types whose input and output resolve names through search_path. */
const SEARCH_PATH_TYPES = new Set([
  'regclass', 'regproc', 'regprocedure', 'regoper', 'regoperator', 'regtype', 'regnamespace', 'regrole', 'regconfig',
  'regdictionary', 'regcollation',
]);

interface PgQuery {
  loadModule(): Promise<void>;
  parseSync(sql: string): { stmts?: Array<{ stmt?: Record<string, unknown> }> };
  scanSync(sql: string): { tokens: Array<{ text: string; tokenName: string }> };
}

let parser: Promise<PgQuery> | undefined;

/**
 * The parser, loaded on first use (about 15 ms: a 1.7 MB WebAssembly module read from next to the library's code,
 * which is why the Lambda bundles ship `libpg-query.wasm` beside `index.js`).
 */
function loadParser(): Promise<PgQuery> {
  parser ??= (async () => {
    try {
      // Required lazily: the library starts instantiating its WebAssembly as soon as it is loaded.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const lib = require('libpg-query') as PgQuery;
      await lib.loadModule();
      return lib;
    } catch (err) {
      parser = undefined;
      throw new PreflightError(
        'SW_PARSER_UNAVAILABLE',
        `the Postgres parser that checks operation.using could not be loaded: ${(err as Error).message}`,
        'Ship node_modules/libpg-query/wasm/libpg-query.wasm next to the bundled handler (the stack\'s PhaseFunction does), or install libpg-query.',
        {},
        { cause: err },
      );
    }
  })();
  return parser;
}

/**
 * Parses `using` and refuses what is not one deterministic, side-effect-free expression over a row. Throws a
 * `PreflightError` with one of {@link UsingErrorCode}; returns what the server-side checks need.
 *
 * @example (await analyzeUsing('round(price * 100)')).functions // [{ name: 'round' }]
 */
export async function analyzeUsing(using: string): Promise<UsingAnalysis> {
  const pg = await loadParser();
  const notOne = (why: string) =>
    refusal(UsingErrorCode.Syntax, using, `is not one SQL expression: ${why}`, 'Write one SQL expression over the row\'s columns, e.g. round(price * 100), without ";" or a trailing -- comment.');
  let tokens: Array<{ text: string; tokenName: string }>;
  try {
    tokens = pg.scanSync(using).tokens;
  } catch (err) {
    throw notOne((err as Error).message);
  }
  let depth = 0;
  for (const t of tokens) {
    if (t.text === ';') throw notOne('it contains ";" outside a string');
    if (t.text === '(') depth += 1;
    if (t.text === ')') depth -= 1;
    if (depth < 0) throw notOne('a ")" closes a parenthesis it did not open');
  }
  if (depth !== 0) throw notOne('its parentheses are not balanced');
  let tree: ReturnType<PgQuery['parseSync']>;
  try {
    // Parsed exactly as Stepwise embeds it: `(<using>)`.
    tree = pg.parseSync(`SELECT (${using})`);
  } catch (err) {
    throw notOne((err as Error).message);
  }
  const select = tree.stmts?.length === 1 ? (tree.stmts[0]?.stmt?.['SelectStmt'] as Record<string, unknown> | undefined) : undefined;
  const targets = select?.['targetList'] as Array<Record<string, unknown>> | undefined;
  const extra = select ? Object.keys(select).filter((k) => !['targetList', 'limitOption', 'op'].includes(k)) : [];
  if (!select || select['op'] !== 'SETOP_NONE' || targets?.length !== 1 || extra.length > 0) throw notOne('it reads as more than one expression');
  const target = targets[0]?.['ResTarget'] as Record<string, unknown> | undefined;
  if (!target || target['name'] !== undefined) throw notOne('it reads as more than one expression');
  return walk(target['val'], using);
}

function walk(root: unknown, using: string): UsingAnalysis {
  const functions = new Map<string, CalledFunction>();
  const columns = new Set<string>();
  let readsWholeRow = false;
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(visit);
    if (!node || typeof node !== 'object') return;
    for (const [kind, value] of Object.entries(node as Record<string, unknown>)) {
      const v = (value ?? {}) as Record<string, unknown>;
      switch (kind) {
        case 'SubLink':
          throw refusal(UsingErrorCode.NotRowExpression, using, 'contains a subquery', "Compute the value from the row's own columns only; a subquery can read other rows and tables, which the sync trigger, the backfill and the verification would not see alike.");
        case 'ParamRef':
          throw refusal(UsingErrorCode.NotRowExpression, using, `contains the parameter $${String(v['number'] ?? '')}`, 'Write the value as a literal.');
        case 'SQLValueFunction':
          throw refusal(UsingErrorCode.SessionDependent, using, `uses ${sqlValueName(String(v['op'] ?? ''))}, which depends on the session or the moment, not on the row`, 'Compute the value from the row\'s columns and literals only.');
        case 'FuncCall':
          addFunction(v, functions, using);
          break;
        case 'TypeCast': {
          const type = lastName(((v['typeName'] as Record<string, unknown> | undefined)?.['names'] ?? []) as unknown[]);
          if (type && SEARCH_PATH_TYPES.has(type)) {
            throw refusal(UsingErrorCode.SessionDependent, using, `casts to ${type}, which resolves names through search_path`, 'Compare names as text instead of casting to a reg* type.');
          }
          break;
        }
        case 'ColumnRef': {
          const fields = (v['fields'] ?? []) as Array<Record<string, unknown>>;
          const last = fields[fields.length - 1];
          if (last && 'A_Star' in last) readsWholeRow = true;
          else if (last) {
            const name = stringOf(last);
            if (name !== undefined) columns.add(name);
          }
          break;
        }
        default:
          break;
      }
      visit(value);
    }
  };
  visit(root);
  return { functions: [...functions.values()], columns: [...columns], readsWholeRow };
}

function addFunction(call: Record<string, unknown>, into: Map<string, CalledFunction>, using: string): void {
  const parts = ((call['funcname'] ?? []) as unknown[]).map((p) => stringOf(p)).filter((p): p is string => p !== undefined);
  const name = parts[parts.length - 1] ?? '';
  const schema = parts.length > 1 ? parts[parts.length - 2] : undefined;
  const display = parts.join('.');
  if (call['over'] !== undefined) {
    throw refusal(UsingErrorCode.NotRowExpression, using, `calls ${display}() as a window function`, 'Compute the value from one row; a window function depends on the other rows.');
  }
  if (call['agg_star'] || call['agg_distinct'] || call['agg_order'] || call['agg_filter'] || call['agg_within_group']) {
    throw refusal(UsingErrorCode.NotRowExpression, using, `calls ${display}() as an aggregate`, 'Compute the value from one row; an aggregate depends on the other rows.');
  }
  const builtIn = schema === undefined || schema === 'pg_catalog';
  if ((builtIn && SIDE_EFFECT_FUNCTIONS.has(name)) || name.startsWith('dblink')) {
    throw refusal(UsingErrorCode.SideEffect, using, `calls ${display}(), which has side effects or returns something new on each call (a READ ONLY transaction does not stop it)`, 'Remove the call: the expression runs for every row in the backfill and on every application write through the sync trigger.');
  }
  if (builtIn && SESSION_FUNCTIONS.has(name)) {
    throw refusal(UsingErrorCode.SessionDependent, using, `calls ${display}(), whose result depends on the session or the moment, not on the row`, 'Compute the value from the row\'s columns and literals only (the sync trigger runs in the application\'s session, the backfill in Stepwise\'s).');
  }
  const key = `${schema ?? ''}.${name}`;
  if (!into.has(key)) into.set(key, schema === undefined ? { name } : { schema, name });
}

function sqlValueName(op: string): string {
  return op.replace(/^SVFOP_/, '').replace(/_N$/, '');
}

function stringOf(node: unknown): string | undefined {
  const s = (node as { String?: { sval?: string } } | undefined)?.String?.sval;
  return typeof s === 'string' ? s : undefined;
}

function lastName(names: unknown[]): string | undefined {
  return stringOf(names[names.length - 1]);
}

function refusal(code: string, using: string, why: string, hint: string): PreflightError {
  return new PreflightError(code, `operation.using "${using}" ${why}`, hint, { using });
}
