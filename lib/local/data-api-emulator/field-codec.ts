import type { FieldDef } from 'pg';
import { EmulatorError, MESSAGES } from './emulator-error';
import type { WireArrayValue, WireColumnMetadata, WireField, WireResultSetOptions } from './wire-types';

/** Built-in type OIDs the codec treats specially (`pg_type.oid`, stable across Postgres versions). */
const OID = {
  bool: 16, bytea: 17, int8: 20, int2: 21, int4: 23, oid: 26, float4: 700, float8: 701, numeric: 1700,
  timestamptz: 1184,
} as const;

type ScalarKind = 'bool' | 'long' | 'double' | 'decimal' | 'blob' | 'string';

const SCALAR_KIND = new Map<number, ScalarKind>([
  [OID.bool, 'bool'], [OID.int2, 'long'], [OID.int4, 'long'], [OID.int8, 'long'], [OID.oid, 'long'],
  [OID.float4, 'double'], [OID.float8, 'double'], [OID.numeric, 'decimal'], [OID.bytea, 'blob'],
]);

/** Array type OID → element kind (built-in arrays; others are returned as text). */
const ARRAY_KIND = new Map<number, ScalarKind>([
  [1000, 'bool'], [1005, 'long'], [1007, 'long'], [1016, 'long'], [1028, 'long'], [1021, 'double'], [1022, 'double'],
  [1231, 'string'], [1009, 'string'], [1015, 'string'], [1014, 'string'], [2951, 'string'], [1182, 'string'],
  [1115, 'string'], [1185, 'string'], [199, 'string'], [3807, 'string'], [1183, 'string'],
]);

/** JDBC type codes (java.sql.Types), which the Data API reports in `ColumnMetadata.type`. */
const JDBC_TYPE = new Map<number, number>([
  [OID.bool, -7], [OID.bytea, -2], [OID.int8, -5], [OID.int2, 5], [OID.int4, 4], [OID.oid, -5], [OID.float4, 7],
  [OID.float8, 8], [OID.numeric, 2], [25, 12], [1043, 12], [1042, 1], [1082, 91], [1083, 92], [1114, 93], [1184, 93],
]);

/**
 * Converts one column value, received from Postgres in text format, into a Data API `Field` as Aurora would:
 * integers as `longValue`, floats as `doubleValue`, `numeric` as `stringValue`, `bytea` as base64 `blobValue`,
 * arrays as `arrayValue`, everything else as its Postgres text.
 */
export function toField(raw: string | null, dataTypeID: number, options: WireResultSetOptions = {}): WireField {
  if (raw === null) return { isNull: true };
  const arrayKind = ARRAY_KIND.get(dataTypeID);
  if (arrayKind) {
    const items = parseArrayLiteral(raw);
    // Aurora refuses a result holding a multidimensional array (UnsupportedResultException), whatever its type.
    if (items.some((x) => Array.isArray(x))) throw new EmulatorError('UnsupportedResultException', MESSAGES.multidimensionalArray);
    return { arrayValue: toArrayValue(items, arrayKind) };
  }
  const kind = SCALAR_KIND.get(dataTypeID) ?? 'string';
  switch (kind) {
    case 'bool':
      return { booleanValue: raw === 't' };
    case 'long':
      return options.longReturnType === 'STRING' ? { stringValue: raw } : { longValue: Number(raw) };
    case 'double': {
      const n = Number(raw);
      return Number.isFinite(n) ? { doubleValue: n } : { stringValue: raw };
    }
    case 'decimal':
      if (options.decimalReturnType === 'DOUBLE_OR_LONG' && /^-?\d+(\.\d+)?$/.test(raw)) {
        return /^-?\d+$/.test(raw) ? { longValue: Number(raw) } : { doubleValue: Number(raw) };
      }
      return { stringValue: raw };
    case 'blob':
      return { blobValue: Buffer.from(raw.startsWith('\\x') ? raw.slice(2) : raw, 'hex').toString('base64') };
    default:
      // Aurora returns timestamptz in UTC without the offset; the emulator's sessions run with TimeZone=UTC.
      return { stringValue: dataTypeID === OID.timestamptz ? raw.replace(/\+00$/, '') : raw };
  }
}

/** The value of a `Field` as it appears in `formattedRecords` (JSON). */
export function toJsonValue(field: WireField): unknown {
  if (field.isNull) return null;
  if (field.arrayValue) return fromArrayValue(field.arrayValue);
  return field.booleanValue ?? field.longValue ?? field.doubleValue ?? field.stringValue ?? field.blobValue ?? null;
}

function fromArrayValue(a: WireArrayValue): unknown[] {
  return a.arrayValues?.map(fromArrayValue) ?? a.booleanValues ?? a.longValues ?? a.doubleValues ?? a.stringValues ?? [];
}

type Nested = (string | null | Nested)[];

function toArrayValue(items: Nested, kind: ScalarKind): WireArrayValue {
  if (items.some((x) => Array.isArray(x))) {
    return { arrayValues: items.map((x) => toArrayValue(Array.isArray(x) ? x : [], kind)) };
  }
  const flat = items as (string | null)[];
  switch (kind) {
    case 'bool':
      return { booleanValues: flat.map((x) => x === 't') };
    case 'long':
      return { longValues: flat.map((x) => Number(x)) };
    case 'double':
      return { doubleValues: flat.map((x) => Number(x)) };
    default:
      return { stringValues: flat.map((x) => x ?? '') };
  }
}

/** Parses a Postgres array literal (`{1,NULL,"a b",{…}}`) into nested arrays of element texts. @internal */
export function parseArrayLiteral(text: string): Nested {
  const src = text.startsWith('[') ? text.slice(text.indexOf('=') + 1) : text;
  let i = 0;
  const parse = (): Nested => {
    const out: Nested = [];
    i += 1; // '{'
    while (i < src.length && src[i] !== '}') {
      if (src[i] === ',') i += 1;
      else if (src[i] === '{') out.push(parse());
      else if (src[i] === '"') {
        let s = '';
        i += 1;
        while (i < src.length && src[i] !== '"') {
          if (src[i] === '\\') i += 1;
          s += src[i] ?? '';
          i += 1;
        }
        i += 1;
        out.push(s);
      } else {
        let j = i;
        while (j < src.length && src[j] !== ',' && src[j] !== '}') j += 1;
        const s = src.slice(i, j);
        out.push(s === 'NULL' ? null : s);
        i = j;
      }
    }
    i += 1; // '}'
    return out;
  };
  return parse();
}

/** Catalog facts about result columns, looked up once per statement (see `describeColumns`). */
export interface ColumnFacts {
  readonly typeNames: ReadonlyMap<number, string>;
  /** `${tableID}:${columnID}` → facts of that table column. */
  readonly columns: ReadonlyMap<string, { tableName: string; schemaName: string; notNull: boolean }>;
}

/** Builds the Data API `columnMetadata` of one result column. */
export function toColumnMetadata(field: FieldDef, facts: ColumnFacts): WireColumnMetadata {
  const typeName = facts.typeNames.get(field.dataTypeID) ?? 'unknown';
  const column = facts.columns.get(`${field.tableID}:${field.columnID}`);
  const isArray = typeName.startsWith('_');
  const mod = field.dataTypeModifier;
  const numericMod = field.dataTypeID === OID.numeric && mod >= 4;
  return {
    name: field.name,
    label: field.name,
    type: isArray ? 2003 : (JDBC_TYPE.get(field.dataTypeID) ?? 1111),
    typeName,
    schemaName: column?.schemaName ?? '',
    tableName: column?.tableName ?? '',
    isAutoIncrement: false,
    isSigned: ['long', 'double', 'decimal'].includes(SCALAR_KIND.get(field.dataTypeID) ?? ''),
    isCurrency: false,
    isCaseSensitive: (SCALAR_KIND.get(field.dataTypeID) ?? 'string') === 'string',
    // java.sql.ResultSetMetaData: 0 columnNoNulls, 1 columnNullable, 2 columnNullableUnknown.
    nullable: column ? (column.notNull ? 0 : 1) : 2,
    precision: numericMod ? ((mod - 4) >> 16) & 0xffff : mod >= 4 ? mod - 4 : field.dataTypeSize,
    scale: numericMod ? (mod - 4) & 0xffff : 0,
    arrayBaseColumnType: 0,
  };
}
