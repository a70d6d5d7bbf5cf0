/**
 * Errors say what is wrong, through the real CLI process: a malformed, unreachable or wrong database URL, a missing
 * privilege, `--version`, `cdk synth` without context, and a reader that goes away (`history | head`).
 */
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { historyCommand, startCommand } from '../../lib/cli/operator';
import type { StepwiseError } from '../../lib/errors';
import { parseSpec } from '../../lib/spec';
import { claimMigration } from '../../lib/state/migration-state';
import { startStepwiseEndpoint, type StepwiseEndpoint } from '../../lib/local/sfn-endpoint';
import { NO_RETRY_PAUSES, runbookSpec, seedProducts } from '../e2e/e2e-helpers';
import { tableSchema } from '../harness/assertions';
import { CLI, stepwise } from '../helpers/run-cli';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database';

jest.setTimeout(240_000);

const ROOT = join(__dirname, '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'stepwise-errors-'));
const spec = join(dir, 'spec.json');
writeFileSync(spec, JSON.stringify(runbookSpec()));
const FORM = 'postgres://user:password@host:5432/database';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase('cli_errors');
  await seedProducts(db, 100);
});
afterAll(async () => db.close());

const withUrl = (change: (u: URL) => void) => {
  const u = new URL(db.url);
  change(u);
  return u.toString();
};

it('--version prints the version and exits 0', async () => {
  const result = await stepwise(['--version'], dir);
  expect(result.code).toBe(0);
  expect(result.stdout.trim()).toBe((JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version);
});

it('--database-url that is not a Postgres URL is refused with the expected form, before anything runs', async () => {
  for (const command of [['status', '--spec', spec], ['pause', '--spec', spec], ['run', '--local', '--spec', spec], ['plan', '--spec', spec]]) {
    const result = await stepwise([...command, '--database-url', 'not a url'], dir);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`error: option '--database-url <url>' argument 'not a url' is invalid. "not a url" is not a URL; expected ${FORM}`);
  }
  const mysql = await stepwise(['pause', '--spec', spec, '--database-url', 'mysql://u@h/db'], dir);
  expect(mysql.stderr).toContain(`"mysql:" is not a Postgres URL scheme; expected ${FORM}`);
});

it('an unreachable database names the host and port, not a resuming database', async () => {
  const result = await stepwise(['status', '--spec', spec, '--database-url', 'postgres://someone:secret@127.0.0.1:1/app'], dir);
  expect(result.code).toBe(1);
  expect(result.stderr).toBe(
    'error SW_DB_UNREACHABLE: nothing accepts connections at 127.0.0.1:1 (connection refused)\n  fix: Check the host and port of --database-url, and that Postgres runs there and listens on 1.\n',
  );
  expect(result.stderr).not.toMatch(/resuming/);
  expect(result.stderr).not.toContain('secret');
});

it('a database that does not exist, and a role Postgres refuses, are named', async () => {
  const host = `${new URL(db.url).hostname}:${new URL(db.url).port}`;
  const missing = await stepwise(['pause', '--spec', spec, '--database-url', withUrl((u) => (u.pathname = '/no_such_db'))], dir);
  expect(missing.code).toBe(1);
  expect(missing.stderr).toContain(`error SW_DB_NOT_FOUND: database "no_such_db" does not exist on ${host}`);
  const role = await stepwise(['pause', '--spec', spec, '--database-url', withUrl((u) => ((u.username = 'no_such_role'), (u.password = 'x')))], dir);
  expect(role.code).toBe(1);
  expect(role.stderr).toMatch(new RegExp(`error SW_DB_LOGIN_FAILED: Postgres at ${host} refused role "no_such_role" for database "${db.name}": .*no_such_role`));
  expect(role.stderr).toContain('fix: Check the user name and password in --database-url');
});

it('a missing privilege is reported as a permission problem, and changes nothing', async () => {
  const role = `sw_noperm_${db.name.slice(-8)}`;
  await db.pg.query(`CREATE ROLE ${role} LOGIN PASSWORD 'pw'`);
  // The migration has a row (the admin ran it); the role may connect but not read Stepwise's state schema.
  await db.pg.query(`CREATE SCHEMA IF NOT EXISTS _stepwise`);
  await db.pg.query(`CREATE TABLE IF NOT EXISTS _stepwise.migrations (name text PRIMARY KEY)`);
  const before = await tableSchema(db.pg, 'Product');
  const result = await stepwise(['pause', '--spec', spec, '--database-url', withUrl((u) => ((u.username = role), (u.password = 'pw')))], dir);
  expect(result.code).toBe(1);
  expect(result.stderr).toMatch(/^error SW_PERMISSION_DENIED: the database role lacks a privilege: .*permission denied for schema _stepwise/);
  expect(result.stderr).toContain('fix: Run it as the migration role');
  expect(await tableSchema(db.pg, 'Product')).toBe(before);
});

it('the CDK app without its context prints the ConfigError and its fix, without a Node stack trace', () => {
  const result = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'bin', 'app.ts')], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, CDK_CONTEXT_JSON: '{}' } });
  expect(result.status).toBe(1);
  expect(result.stderr).toMatch(/^error SW_CONFIG: Missing CDK context: -c clusterArn=\.\.\., -c secretArn=\.\.\., -c database=\.\.\./);
  expect(result.stderr).toContain('  fix: Pass the database target as CDK context, for example: npx cdk synth -c clusterArn=');
  expect(result.stderr).not.toMatch(/^\s+at /m);
});

it('run --local does not take over a migration an AWS execution owns: refused, nothing changed', async () => {
  const own = await createTestDatabase('aws_owner');
  try {
    await seedProducts(own, 100);
    const arn = 'arn:aws:states:eu-west-1:123456789012:execution:Stepwise:product-price-cents-20261204T100000Z';
    await claimMigration(own.executor, parseSpec(runbookSpec()), 100, arn);
    const before = await tableSchema(own.pg, 'Product');
    const result = await stepwise(['run', '--local', '--spec', spec, '--database-url', own.url, '--auto-approve'], dir);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`error SW_MIGRATION_RUNNING: migration "product-price-cents" is running in execution ${arn}, which is not one of the local twin's: this run cannot know whether it still runs (nothing changed)`);
    expect(result.stderr).toContain(`fix: Check it with \`stepwise status ${arn}\`; once it has ended, resume on AWS with \`stepwise start --spec <file> --resume-from ${arn}\`.`);
    expect(result.stdout).not.toContain('no longer runs');
    expect(await tableSchema(own.pg, 'Product')).toBe(before);
    expect((await own.pg.query(`SELECT execution FROM _stepwise.migrations`)).rows).toEqual([{ execution: arn }]);
  } finally {
    await own.close();
  }
});

describe('history | head', () => {
  let endpoint: StepwiseEndpoint;
  beforeAll(async () => {
    endpoint = await startStepwiseEndpoint({ sns: () => undefined, maxWaitMs: 0, retryIntervalOverrides: NO_RETRY_PAUSES });
  });
  afterAll(async () => endpoint?.close());

  it('stops quietly when the reader goes away (EPIPE), exit 0, nothing on stderr', async () => {
    Object.assign(process.env, db.env);
    // An execution refused by preflight (a missing table): its history carries the spec and the checks in every event.
    const missing = join(dir, 'missing.json');
    writeFileSync(missing, JSON.stringify(runbookSpec({ name: 'missing-table', table: { name: 'Nope' } })));
    expect(await startCommand({ endpointUrl: endpoint.url, spec: missing, name: 'epipe' }, () => undefined)).toBe(0);
    let json = '';
    for (let i = 0; i < 600 && !json.includes('ExecutionFailed'); i++) {
      json = '';
      await historyCommand({ endpointUrl: endpoint.url, execution: 'epipe', json: true }, (line) => (json += line));
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(json).toContain('ExecutionFailed');
    // `head -c 0` exits at once without reading: by the time the CLI writes, its reader is gone (EPIPE on the first write).
    // (Not spawnSync: the endpoint answering the CLI runs in this process.)
    const result = await promisify(execFile)('bash', ['-c', `"${process.execPath}" "${CLI}" history epipe --endpoint-url ${endpoint.url} 2>"${dir}/stderr" | head -c 0; echo "\${PIPESTATUS[0]}"`], { encoding: 'utf8', timeout: 60_000 });
    expect(result.stdout.trim()).toBe('0');
    expect(readFileSync(join(dir, 'stderr'), 'utf8')).toBe('');
  });

  it('start --resume-from refuses an execution that still runs', async () => {
    Object.assign(process.env, db.env);
    const conn = { endpointUrl: endpoint.url };
    let arn = '';
    expect(await startCommand({ ...conn, spec, name: 'alive' }, (line) => (arn = line))).toBe(0);
    expect(endpoint.machine.getExecution('alive')?.describe().status).toBe('RUNNING');
    const refused = await startCommand({ ...conn, spec, name: 'second', resumeFrom: arn }, () => undefined).then(() => undefined, (e: StepwiseError) => e);
    expect(refused).toMatchObject({ code: 'SW_RESUME_FROM_RUNNING' });
    expect(refused!.message).toBe(`execution ${arn} is still running: it keeps migration "product-price-cents" (nothing was started)`);
    expect(endpoint.machine.getExecution('second')).toBeUndefined();
    endpoint.machine.getExecution('alive')!.abort();
  });

  it('start --resume-from an execution that no longer exists (a killed local run) carries its migration on', async () => {
    const own = await createTestDatabase('resume_from_gone');
    try {
      await seedProducts(own, 100);
      Object.assign(process.env, own.env);
      const gone = 'arn:aws:states:us-east-1:000000000000:execution:stepwise-local:killed-run';
      await claimMigration(own.executor, parseSpec(runbookSpec()), 100, gone);
      const refused = await startCommand({ endpointUrl: endpoint.url, spec, name: 'plain' }, () => undefined);
      expect(refused).toBe(0);
      const resumed = await startCommand({ endpointUrl: endpoint.url, spec, name: 'resumed', resumeFrom: gone }, () => undefined);
      expect(resumed).toBe(0);
      const ended = async (name: string) => {
        for (let i = 0; i < 600; i++) {
          const history = endpoint.machine.getExecution(name)!.history();
          if (history.some((e) => e.type === 'ExecutionFailed' || e.stateEnteredEventDetails?.name === 'ApproveStart')) return history;
          await new Promise((r) => setTimeout(r, 50));
        }
        throw new Error(`${name} never reached ApproveStart or failed`);
      };
      // Without --resume-from, preflight refuses (the row is the dead run's); with it, the run passes preflight.
      expect((await ended('plain')).find((e) => e.type === 'ExecutionFailed')?.executionFailedEventDetails?.error).toBe('PreflightFailed');
      expect((await ended('resumed')).some((e) => e.stateEnteredEventDetails?.name === 'ApproveStart')).toBe(true);
      endpoint.machine.getExecution('resumed')!.abort();
    } finally {
      Object.assign(process.env, db.env);
      await own.close();
    }
  });
});
