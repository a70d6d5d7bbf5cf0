/** The real CLI process: help lists the operator commands; a bad spec fails `start` before any AWS call, exit 1. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

jest.setTimeout(60_000);
const BIN = join(__dirname, '..', '..', 'bin', 'stepwise.cjs');
const stepwise = (...args: string[]) =>
  spawnSync(process.execPath, [BIN, ...args], {
    encoding: 'utf8',
    // An endpoint that answers nothing: the bad spec must be refused before any call is made.
    env: { ...process.env, AWS_ENDPOINT_URL: 'http://127.0.0.1:9', AWS_REGION: 'us-east-1' },
  });

it('--help lists every command; local up documents its flags', () => {
  const help = stepwise('--help');
  expect(help.status).toBe(0);
  for (const command of ['plan', 'run', 'demo', 'start', 'status', 'approve', 'reject', 'abort', 'history', 'local']) {
    expect(help.stdout).toMatch(new RegExp(`^\\s+${command}\\b`, 'm'));
  }
  const up = stepwise('local', 'up', '--help');
  expect(up.status).toBe(0);
  expect(up.stdout).toMatch(/--port <n>/);
  expect(up.stdout).toMatch(/--database-url <url>/);
  const reject = stepwise('reject', '--help');
  expect(reject.stdout).toMatch(/--reason <text>/);
  expect(reject.stdout).toMatch(/--endpoint-url <url>/);
});

it('start with a bad spec exits 1 with the spec error and its fix', () => {
  const file = join(mkdtempSync(join(tmpdir(), 'stepwise-cli-')), 'bad.json');
  writeFileSync(file, JSON.stringify({ name: 'x', table: { name: 'Product' } }));
  const run = stepwise('start', '--spec', file);
  expect(run.status).toBe(1);
  expect(run.stderr).toMatch(/error SW_SPEC_INVALID/);
  expect(run.stderr).toMatch(/fix:/);
  expect(run.stdout).toBe('');
});
