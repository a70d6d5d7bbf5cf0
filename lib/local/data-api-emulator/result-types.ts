import type { ClientBase, FieldDef } from 'pg';
import { EmulatorError, MESSAGES } from './emulator-error';

/**
 * Result column types the Data API returns for Aurora PostgreSQL, by `pg_type.oid` (built-in OIDs are stable across
 * Postgres versions). The documented scalar list: bool, bytea, date, cidr, numeric, enum (any), float8, inet, int4,
 * int2, int8, jsonb, json, float4, text, char(n), varchar, name, time, timestamp, uuid, vector (an extension type,
 * found by name). `timestamptz` is not in that list but is answered by the service (as UTC text, see field-codec.ts),
 * so the emulator accepts it and its array. Everything else fails the call with UnsupportedResultException.
 */
const SUPPORTED_SCALARS = new Set([
  16, // bool
  17, // bytea
  19, // name
  20, // int8
  21, // int2
  23, // int4
  25, // text
  114, // json
  650, // cidr
  700, // float4
  701, // float8
  869, // inet
  1042, // bpchar (char(n))
  1043, // varchar
  1082, // date
  1083, // time
  1114, // timestamp
  1184, // timestamptz (answered, though not in the documented list)
  1700, // numeric
  2950, // uuid
  3802, // jsonb
]);

/** The documented array types (bool[], bit[], date[], numeric[], float8[], int4[], int2[], int8[], json[], float4[], text[], char(n)[], varchar[], name[], time[], timestamp[], uuid[]), and timestamptz[]. */
const SUPPORTED_ARRAYS = new Set([1000, 1561, 1182, 1231, 1022, 1007, 1005, 1016, 199, 1021, 1009, 1014, 1015, 1003, 1183, 1115, 2951, 1185]);

/** Extension types the Data API supports, by `typname` (their OIDs differ per database). */
const SUPPORTED_EXTENSION_TYPES = new Set(['vector']);

/** `FirstNormalObjectId`: OIDs below are built into Postgres, above are created in the database (enums, domains…). */
const FIRST_USER_OID = 16384;

interface TypeRow {
  oid: string;
  typname: string;
  typtype: string;
}

/**
 * Decides, by the result's type OIDs as Aurora does by the JDBC column types, whether the Data API can return these
 * columns; throws UnsupportedResultException naming the first type it cannot. Postgres describes a column of a domain
 * by the domain's base type, so a domain is judged by its base type. Types created in the database (enums, extension
 * types) are looked up in `pg_type` on `client` every time (OIDs differ per database and a type may be recreated);
 * enums and `vector` are returned as text (the codec's default). Built-in types are never looked up, except to name
 * an unsupported one.
 */
export async function checkResultTypes(client: ClientBase, fields: readonly FieldDef[]): Promise<void> {
  const unsupported: number[] = [];
  const userTypes: number[] = [];
  for (const oid of new Set(fields.map((f) => f.dataTypeID))) {
    if (SUPPORTED_SCALARS.has(oid) || SUPPORTED_ARRAYS.has(oid)) continue;
    if (oid >= FIRST_USER_OID) userTypes.push(oid);
    else unsupported.push(oid);
  }
  if (userTypes.length > 0) {
    const rows = await lookUpTypes(client, userTypes);
    for (const oid of userTypes) {
      const row = rows.get(oid);
      if (!row || (row.typtype !== 'e' && !SUPPORTED_EXTENSION_TYPES.has(row.typname))) unsupported.push(oid);
    }
  }
  if (unsupported.length > 0) {
    const first = fields.find((f) => unsupported.includes(f.dataTypeID))?.dataTypeID ?? unsupported[0] ?? 0;
    const name = (await lookUpTypes(client, [first])).get(first)?.typname ?? `oid ${first}`;
    throw new EmulatorError('UnsupportedResultException', MESSAGES.unsupportedType(name));
  }
}

async function lookUpTypes(client: ClientBase, oids: readonly number[]): Promise<Map<number, TypeRow>> {
  const { rows } = await client.query<TypeRow>(
    'SELECT oid::int8::text AS oid, typname::text AS typname, typtype::text AS typtype FROM pg_type WHERE oid = ANY($1::oid[])',
    [oids],
  );
  return new Map(rows.map((r) => [Number(r.oid), r]));
}

/** Aurora's limit on one result row, as returned by the database. */
export const MAX_ROW_BYTES = 64 * 1024;

/**
 * Size of one result row as the database returns it: the bytes of each value's text (bytea counted as its bytes, not
 * its hex). Throws UnsupportedResultException for a row over `MAX_ROW_BYTES`.
 */
export function checkRowSize(row: readonly (string | null)[], fields: readonly FieldDef[], limit: number = MAX_ROW_BYTES): void {
  let bytes = 0;
  row.forEach((raw, i) => {
    if (raw === null) return;
    const isBytea = fields[i]?.dataTypeID === 17 && raw.startsWith('\\x');
    bytes += isBytea ? (raw.length - 2) / 2 : Buffer.byteLength(raw);
  });
  if (bytes > limit) throw new EmulatorError('UnsupportedResultException', MESSAGES.rowTooLarge(bytes, limit));
}
