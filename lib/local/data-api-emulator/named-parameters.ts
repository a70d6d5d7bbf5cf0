import { MESSAGES, badRequest } from './emulator-error';
import type { WireSqlParameter } from './wire-types';

/** A statement ready for pg's extended protocol: `$n` placeholders and their values. */
export interface BoundStatement {
  readonly text: string;
  readonly values: unknown[];
}

/** Postgres type each Data API `typeHint` binds a `stringValue` as (Aurora's behaviour). */
const CAST_BY_TYPE_HINT: Record<string, string> = {
  DECIMAL: 'numeric',
  DATE: 'date',
  TIME: 'time',
  TIMESTAMP: 'timestamp',
  UUID: 'uuid',
  JSON: 'jsonb',
};

/**
 * Rewrites Data API named parameters (`:name`) into pg placeholders and binds their values the way Aurora does:
 * `stringValue` as text (or the `typeHint` type), `longValue` as int8, `doubleValue` as float8, `booleanValue` as bool,
 * `blobValue` as bytea, `isNull` as an untyped NULL. `::casts`, quoted strings and identifiers, dollar-quoted bodies
 * and comments are left alone. Each occurrence of a name is its own placeholder, as the service's JDBC `?` markers
 * are: a NULL used twice must get its type at each use (`:x IS NULL OR col = :x` fails; `(:x)::int IS NULL` does not).
 */
export function bindNamedParameters(sql: string, parameters: readonly WireSqlParameter[] = []): BoundStatement {
  const byName = new Map<string, WireSqlParameter>();
  for (const p of parameters) {
    if (!p.name) throw badRequest('Parameter name must not be empty');
    byName.set(p.name, p);
  }
  const values: unknown[] = [];
  const placeholder = (name: string): string => {
    const param = byName.get(name);
    if (!param) throw badRequest(`No value specified for parameter: ${name}`);
    const { value, cast } = bindValue(param);
    values.push(value);
    return `$${values.length}${cast ? `::${cast}` : ''}`;
  };

  let out = '';
  let i = 0;
  while (i < sql.length) {
    const skip = skipLiteralOrComment(sql, i);
    if (skip > i) {
      out += sql.slice(i, skip);
      i = skip;
      continue;
    }
    const ch = sql[i];
    if (ch === ':' && sql[i + 1] === ':') {
      out += '::';
      i += 2;
      continue;
    }
    if (ch === ':') {
      const match = /^[A-Za-z_][A-Za-z0-9_]*/.exec(sql.slice(i + 1));
      if (match) {
        out += placeholder(match[0]);
        i += 1 + match[0].length;
        continue;
      }
    }
    out += ch;
    i += 1;
  }
  return { text: out, values };
}

/** Index just past a quoted string, quoted identifier, dollar-quoted body or comment starting at `i`, else `i`. */
function skipLiteralOrComment(sql: string, i: number): number {
  const ch = sql[i];
  const next = sql[i + 1];
  if (ch === '-' && next === '-') {
    const end = sql.indexOf('\n', i);
    return end === -1 ? sql.length : end + 1;
  }
  if (ch === '/' && next === '*') {
    let depth = 1;
    let j = i + 2;
    while (j < sql.length && depth > 0) {
      if (sql[j] === '/' && sql[j + 1] === '*') (depth += 1), (j += 2);
      else if (sql[j] === '*' && sql[j + 1] === '/') (depth -= 1), (j += 2);
      else j += 1;
    }
    return j;
  }
  if (ch === "'" || ch === '"') {
    const escapes = ch === "'" && i > 0 && /[eE]/.test(sql[i - 1] ?? '') && !/[A-Za-z0-9_]/.test(sql[i - 2] ?? '');
    let j = i + 1;
    while (j < sql.length) {
      if (escapes && sql[j] === '\\') j += 2;
      else if (sql[j] === ch && sql[j + 1] === ch) j += 2;
      else if (sql[j] === ch) return j + 1;
      else j += 1;
    }
    return sql.length;
  }
  if (ch === '$' && !/[A-Za-z0-9_$]/.test(sql[i - 1] ?? '')) {
    const tag = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(sql.slice(i));
    if (tag) {
      const end = sql.indexOf(tag[0], i + tag[0].length);
      return end === -1 ? sql.length : end + tag[0].length;
    }
  }
  return i;
}

function bindValue(param: WireSqlParameter): { value: unknown; cast?: string } {
  const field = param.value;
  if (!field || field.isNull !== undefined) return { value: null };
  if (field.stringValue !== undefined) {
    const hint = param.typeHint ? CAST_BY_TYPE_HINT[param.typeHint] : undefined;
    if (param.typeHint && !hint) throw badRequest(`Invalid type hint: ${param.typeHint}`);
    return { value: field.stringValue, cast: hint ?? 'text' };
  }
  if (field.longValue !== undefined) return { value: String(field.longValue), cast: 'int8' };
  if (field.doubleValue !== undefined) return { value: String(field.doubleValue), cast: 'float8' };
  if (field.booleanValue !== undefined) return { value: field.booleanValue, cast: 'bool' };
  if (field.blobValue !== undefined) return { value: Buffer.from(field.blobValue, 'base64'), cast: 'bytea' };
  if (field.arrayValue !== undefined) throw badRequest(MESSAGES.arrayParameters);
  return { value: null };
}
