import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildSync } from 'esbuild';
import type pg from 'pg';
import { Phase } from '../../lib/constants';
import { loadDeployedArtifact } from '../../lib/local/deployed-artifact';
import { PHASE_BUNDLING } from '../../lib/workflow/defaults';
import { StateName } from '../../lib/workflow/state-names';
import { runbookSpec, runOnDatabase, seedProducts } from '../e2e/e2e-helpers';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database';

jest.setTimeout(180_000);

/** Error names the Lambda service and Step Functions produce themselves, whatever the function's code. */
const SERVICE_ERRORS = /^(States\.[A-Za-z]+|Lambda\.(Unknown|TooManyRequestsException|ServiceException|AWSLambdaException|SdkClientException|ClientExecutionTimeoutException)|Sandbox\.Timedout)$/;

interface AslState {
  readonly Type: string;
  readonly Resource?: string;
  readonly Parameters?: { readonly FunctionName?: string };
  readonly Retry?: readonly { readonly ErrorEquals: readonly string[] }[];
  readonly Catch?: readonly { readonly ErrorEquals: readonly string[] }[];
  readonly Iterator?: { readonly States: Record<string, AslState> };
  readonly ItemProcessor?: { readonly States: Record<string, AslState> };
  readonly Branches?: readonly { readonly States: Record<string, AslState> }[];
}

/** Every Lambda task of the definition (nested Map/Parallel states included) with the phase whose function it calls. */
function lambdaTasks(states: Record<string, AslState>, into: { state: string; phase: Phase; errors: string[] }[] = []) {
  for (const [name, state] of Object.entries(states)) {
    for (const nested of [state.Iterator, state.ItemProcessor, ...(state.Branches ?? [])]) if (nested) lambdaTasks(nested.States, into);
    if (state.Type !== 'Task') continue;
    const fn = state.Resource === 'arn:aws:states:::lambda:invoke' ? state.Parameters?.FunctionName : state.Resource;
    const phase = /:function:([a-z]+)$/.exec(fn ?? '')?.[1] as Phase | undefined;
    if (!phase) continue;
    const errors = [...(state.Retry ?? []), ...(state.Catch ?? [])].flatMap((r) => r.ErrorEquals);
    into.push({ state: name, phase, errors });
  }
  return into;
}

/** lib/errors.ts bundled with `options`, its classes instantiated: the `name` each error has in that bundle. */
function errorNamesWhenBundledWith(options: { minify: boolean; keepNames: boolean }): Record<string, string> {
  const { outputFiles } = buildSync({
    entryPoints: [path.join(__dirname, '..', '..', 'lib', 'errors.ts')],
    bundle: true,
    write: false,
    platform: 'node',
    format: 'cjs',
    target: PHASE_BUNDLING.target,
    ...options,
  });
  const module = { exports: {} as Record<string, unknown> };
  new Function('module', 'exports', 'require', outputFiles[0]!.text)(module, module.exports, require);
  const lockTimeout = new (module.exports.LockTimeoutError as new (m: string) => Error)('x');
  const running = new (module.exports.StatementRunningError as new (m: string) => Error)('x');
  const check = new (module.exports.StepCheckFailedError as new (m: string, h: string) => Error)('x', 'y');
  const database = new (module.exports.DatabaseError as new (c: string, m: string, h: string) => Error)('SW_X', 'x', 'y');
  return { LockTimeoutError: lockTimeout.name, StatementRunningError: running.name, StepCheckFailedError: check.name, DatabaseError: database.name };
}

describe('the phase bundles keep the error names the state machine matches', () => {
  it('bundled with the stack options (PHASE_BUNDLING), every error class keeps its name', () => {
    expect(errorNamesWhenBundledWith({ minify: PHASE_BUNDLING.minify, keepNames: PHASE_BUNDLING.keepNames })).toEqual({
      LockTimeoutError: 'LockTimeoutError',
      StatementRunningError: 'StatementRunningError',
      StepCheckFailedError: 'StepCheckFailedError',
      DatabaseError: 'DatabaseError',
    });
  });

  it('(the defect this guards against) minified without keepNames, the names are mangled', () => {
    const names = errorNamesWhenBundledWith({ minify: true, keepNames: false });
    expect(names.LockTimeoutError).not.toBe('LockTimeoutError');
  });

  it('every error name a Retry/Catch of a Lambda task matches is a service error or an error class in the bundle of the function it guards', () => {
    const artifact = loadDeployedArtifact();
    const tasks = lambdaTasks((artifact.definition as { States: Record<string, AslState> }).States);
    expect(tasks.length).toBeGreaterThanOrEqual(Object.keys(artifact.bundles).length);
    const unproducible: string[] = [];
    for (const task of tasks) {
      const source = fs.readFileSync(artifact.bundles[task.phase].file, 'utf8');
      for (const error of task.errors) {
        if (SERVICE_ERRORS.test(error)) continue;
        if (!source.includes(`"${error}"`)) unproducible.push(`${task.state} (${task.phase}): ${error}`);
      }
    }
    expect(unproducible).toEqual([]);
    // And the guarded names are really there: the retried database errors exist in every database phase's bundle.
    for (const phase of [Phase.Expand, Phase.Backfill, Phase.Constrain, Phase.Contract, Phase.Rollback]) {
      const source = fs.readFileSync(artifact.bundles[phase].file, 'utf8');
      expect(source).toContain('"LockTimeoutError"');
      expect(source).toContain('"DatabaseError"');
    }
  });
});

describe('a lock timeout during expand, thrown by the deployed bundle, is retried by the state machine (not rolled back)', () => {
  let db: TestDatabase;
  let blocker: pg.PoolClient | undefined;
  beforeEach(async () => {
    db = await createTestDatabase('bundle_lock_retry');
    await seedProducts(db, 500);
  });
  afterEach(async () => {
    blocker?.release();
    blocker = undefined;
    await db.close();
  });

  it('Expand fails with LockTimeoutError while a reader holds the table, Step Functions retries it, and the migration succeeds', async () => {
    // A long reader (an open transaction that read the table) holds ACCESS SHARE: expand's ALTER TABLE cannot take
    // ACCESS EXCLUSIVE within its lock_timeout. The reader ends once the first LockTimeoutError reached Step Functions.
    const client = await db.pg.connect();
    blocker = client;
    await client.query('BEGIN');
    await client.query('SELECT count(*) FROM "Product"');
    const spec = runbookSpec({ lockTimeoutMs: 50 });
    const { result, history } = await runOnDatabase(db, spec, undefined, {
      onEvent: (event) => {
        if (event.type === 'LambdaFunctionFailed' && blocker) {
          void blocker.query('COMMIT');
        }
      },
    });
    const failures = history.filter((e) => e.type === 'LambdaFunctionFailed' || e.type === 'TaskFailed');
    const expandFailure = failures.map((e) => e.lambdaFunctionFailedEventDetails ?? e.taskFailedEventDetails).find((d) => d?.error === 'LockTimeoutError');
    expect(expandFailure).toBeDefined();
    expect(expandFailure?.cause).toMatch(/SW_LOCK_TIMEOUT/);
    const entered = history.filter((e) => e.type === 'TaskStateEntered').map((e) => e.stateEnteredEventDetails?.name);
    expect(entered.filter((n) => n === StateName.Expand).length).toBe(1);
    expect(entered).not.toContain(StateName.Rollback);
    expect(result.status).toBe('SUCCEEDED');
    const column = await db.pg.query(`SELECT data_type FROM information_schema.columns WHERE table_name = 'Product' AND column_name = 'price_cents'`);
    expect(column.rows[0]?.data_type).toBe('integer');
  });
});
