/**
 * A pgroll migration file, as pgroll's users write it (`{ operations: [ { <op>: {…} } ], version_schema? }`, JSON or
 * YAML), parsed with pgroll's field names and refusals, plus Stepwise's own settings (`backfill`, `soak`, `window`, …)
 * where they stand beside `operations`. The migration's name is the file name without its extension
 * (`03_add_column`), unless the file names itself (`name`).
 */
import { readFileSync } from 'node:fs';
import { basename, extname } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { SpecError } from '../../errors';
import { specSchema } from '../schema';
import { isPgrollOperationType, PGROLL_OPERATION_SCHEMAS, PGROLL_OPERATION_TYPES, type PgrollOperation } from './operation-registry';

/** A migration name: it keys the progress row and starts the execution names, so it must fit both. */
export const PGROLL_MIGRATION_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/;

/** Stepwise's settings that may stand beside `operations`: every spec field but the single-operation ones. */
const STEPWISE_SETTINGS = Object.fromEntries(
  Object.entries(specSchema.shape).filter(([key]) => !['name', 'table', 'operation'].includes(key)),
) as Omit<typeof specSchema.shape, 'name' | 'table' | 'operation'>;

const fileSchema = z.strictObject({
  name: z.string().optional(),
  version_schema: z.string().min(1).max(63).optional(),
  operations: z.array(z.unknown()).min(1, 'must list at least one operation'),
  ...STEPWISE_SETTINGS,
});

/** A parsed pgroll migration. */
export interface PgrollMigration {
  readonly name: string;
  readonly versionSchema?: string;
  readonly operations: readonly PgrollOperation[];
  /** Stepwise's settings with their defaults. */
  readonly settings: z.output<z.ZodObject<typeof STEPWISE_SETTINGS>>;
}

/** True when a parsed document is a pgroll migration (it has `operations`), not a Stepwise single-operation spec. */
export function isPgrollDocument(doc: unknown): boolean {
  return doc !== null && typeof doc === 'object' && !Array.isArray(doc) && 'operations' in doc;
}

function jsonPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((acc, key) => (typeof key === 'number' ? `${acc}[${key}]` : `${acc}.${String(key)}`), '$');
}

function describe(issue: z.core.$ZodIssue, prefix: readonly PropertyKey[] = []): string {
  const where = jsonPath([...prefix, ...issue.path]);
  if (issue.code === 'unrecognized_keys') return `${where}: unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
  return `${where}: ${issue.message}`;
}

/**
 * Validates a pgroll migration document. Throws one `SpecError` listing every problem with its path.
 *
 * @example parsePgrollMigration(yaml.parse(text), '03_add_column').operations[0].type // 'add_column'
 */
export function parsePgrollMigration(doc: unknown, fileName: string, source = fileName): PgrollMigration {
  const problems: string[] = [];
  const file = fileSchema.safeParse(doc);
  if (!file.success) problems.push(...file.error.issues.map((i) => describe(i)));
  const items = isPgrollDocument(doc) && Array.isArray((doc as { operations: unknown }).operations) ? ((doc as { operations: unknown[] }).operations) : [];
  const operations: PgrollOperation[] = [];
  items.forEach((item, index) => {
    const at = ['operations', index];
    if (item === null || typeof item !== 'object' || Array.isArray(item) || Object.keys(item).length !== 1) {
      problems.push(`${jsonPath(at)}: must be an object with exactly one key, the operation (${PGROLL_OPERATION_TYPES.join(', ')})`);
      return;
    }
    const [type, fields] = Object.entries(item)[0]!;
    if (!isPgrollOperationType(type)) {
      problems.push(`${jsonPath(at)}: unknown operation "${type}" (pgroll's operations: ${PGROLL_OPERATION_TYPES.join(', ')})`);
      return;
    }
    const parsed = PGROLL_OPERATION_SCHEMAS[type].safeParse(fields);
    if (parsed.success) operations.push({ type, op: parsed.data } as PgrollOperation);
    else problems.push(...parsed.error.issues.map((i) => describe(i, [...at, type])));
  });
  if (operations.some((o) => o.type === 'sql') && items.length > 1) {
    problems.push('$.operations: a sql operation must be the only operation of its migration (Stepwise cannot know what it changes)');
  }
  const name = (file.success ? file.data.name : undefined) ?? fileName;
  if (!PGROLL_MIGRATION_NAME.test(name)) {
    problems.push(`migration name "${name}": must be 1–63 letters, digits, "_" or "-", starting with a letter or digit (rename the file or set "name")`);
  }
  if (problems.length > 0 || !file.success) {
    throw new SpecError(`${source} is not a valid pgroll migration:\n  - ${problems.join('\n  - ')}`, "Correct the fields listed above; pgroll's format and Stepwise's operations are described in docs/operations/.", {
      problems,
      source,
    });
  }
  const { name: _name, version_schema, operations: _ops, ...settings } = file.data;
  return { name, ...(version_schema !== undefined ? { versionSchema: version_schema } : {}), operations, settings };
}

/** Reads a migration document, JSON or YAML by its extension (`.json`, `.yaml`, `.yml`). */
export function readMigrationDocument(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new SpecError(`cannot read spec file ${file}: ${(err as Error).message}`, 'Check the path given to --spec.', { source: file });
  }
  const yaml = /^\.ya?ml$/i.test(extname(file));
  try {
    return yaml ? (parseYaml(text, { prettyErrors: true }) as unknown) : (JSON.parse(text) as unknown);
  } catch (err) {
    throw new SpecError(`${file} is not valid ${yaml ? 'YAML' : 'JSON'}: ${(err as Error).message}`, `Fix the ${yaml ? 'YAML' : 'JSON'} syntax at the place named.`, { source: file });
  }
}

/** Reads and validates a pgroll migration file; its name is the file name without the extension. */
export function loadPgrollMigrationFile(file: string): PgrollMigration {
  return parsePgrollMigration(readMigrationDocument(file), basename(file, extname(file)), file);
}
