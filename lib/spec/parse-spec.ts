import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { SpecError, StepwiseError } from '../errors';
import { analyzeUsing } from './expression';
import { specSchema, type Spec } from './schema';

/** `$.operation.newType` style path for an issue, as users see it in the JSON file. */
function jsonPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((acc, key) => (typeof key === 'number' ? `${acc}[${key}]` : `${acc}.${String(key)}`), '$');
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const where = jsonPath(issue.path);
  if (issue.code === 'unrecognized_keys') {
    return `${where}: unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
  }
  return `${where}: ${issue.message}`;
}

/**
 * Validates a spec object and fills in defaults. Throws one `SpecError` listing every problem with its JSON path.
 *
 * @example parseSpec(JSON.parse(text)).operation.newType // 'integer'
 */
export function parseSpec(input: unknown, source = 'spec'): Spec {
  const result = specSchema.safeParse(input);
  if (result.success) return result.data;
  const problems = result.error.issues.map(describeIssue);
  throw new SpecError(
    `${source} is not a valid migration spec:\n  - ${problems.join('\n  - ')}`,
    'Correct the fields listed above; docs/operations/convert-column.md describes every field.',
    { problems, source },
  );
}

/** Reads, parses and validates a spec file. */
export function loadSpecFile(file: string): Spec {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new SpecError(`cannot read spec file ${file}: ${(err as Error).message}`, 'Check the path given to --spec.', {
      source: file,
    });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new SpecError(`${file} is not valid JSON: ${(err as Error).message}`, 'Fix the JSON syntax (a linter or `jq . FILE` shows where).', {
      source: file,
    });
  }
  return parseSpec(json, file);
}

/**
 * Checks `operation.using` with the real Postgres parser (lib/spec/expression.ts), for the CLI before it starts
 * anything: throws a `SpecError` naming `$.operation.using` and the problem; `details.code` is the SW_USING_* code
 * preflight would raise. Returns the spec unchanged.
 */
export async function checkSpecExpression(spec: Spec, source = 'spec'): Promise<Spec> {
  try {
    await analyzeUsing(spec.operation.using);
  } catch (err) {
    if (!(err instanceof StepwiseError)) throw err;
    const problem = `$.operation.using: ${err.message.replace(/^operation\.using /, '')}`;
    throw new SpecError(`${source} is not a valid migration spec:\n  - ${problem}`, err.hint, { problems: [problem], source, code: err.code });
  }
  return spec;
}
