import { type IncomingMessage, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EmulatorError, MESSAGES, badRequest } from './emulator-error';
import { type DataApiOperation, FaultInjector, type FaultRule } from './faults';
import {
  type OperationContext,
  batchExecuteStatement,
  beginTransaction,
  commitTransaction,
  executeStatement,
  rollbackTransaction,
} from './operations';
import { PoolRegistry } from './pools';
import { TransactionRegistry } from './transactions';

/** Aurora's limits, enforced by the emulator. */
export const DATA_API_LIMITS = {
  /** @default 45 s, after which the call fails with StatementTimeoutException. */
  statementTimeoutMs: 45_000,
  /** @default 3 min idle, after which a transaction is rolled back. */
  transactionIdleMs: 180_000,
  /** @default 1 MiB of response. */
  maxResponseBytes: 1024 * 1024,
} as const;

export interface DataApiEmulatorOptions {
  /** Postgres to run statements on; a request's `database` replaces the URL's database. */
  readonly databaseUrl: string;
  /** @default a free port on 127.0.0.1 */
  readonly port?: number;
  /** @default 45000 */
  readonly statementTimeoutMs?: number;
  /** @default 180000 */
  readonly transactionIdleMs?: number;
  /** @default a new, empty FaultInjector (see `DataApiEmulator.faults`) */
  readonly faults?: FaultInjector;
}

export interface DataApiEmulator {
  /** Endpoint for `new RDSDataClient({ endpoint })`, e.g. `http://127.0.0.1:41234`. */
  readonly url: string;
  readonly port: number;
  readonly faults: FaultInjector;
  /** Stops accepting requests, rolls back open transactions and ends the pools. */
  close(): Promise<void>;
}

type Handler = (ctx: OperationContext, body: never) => Promise<object>;

const ROUTES: Record<string, { operation: DataApiOperation; handler: Handler }> = {
  '/Execute': { operation: 'Execute', handler: executeStatement },
  '/BatchExecute': { operation: 'BatchExecute', handler: batchExecuteStatement },
  '/BeginTransaction': { operation: 'BeginTransaction', handler: beginTransaction },
  '/CommitTransaction': { operation: 'CommitTransaction', handler: commitTransaction },
  '/RollbackTransaction': { operation: 'RollbackTransaction', handler: rollbackTransaction },
};

/**
 * Starts an RDS Data API emulator: an HTTP server speaking the service's restJson1 protocol, backed by Postgres
 * through `pg`, so the real `RDSDataClient` works against it. It logs nothing.
 *
 * @example
 * const emulator = await startDataApiEmulator({ databaseUrl: 'postgres://postgres:pw@127.0.0.1:5432/app' });
 * const client = new RDSDataClient({ endpoint: emulator.url, region: 'us-east-1', credentials: LOCAL_CREDENTIALS });
 */
export async function startDataApiEmulator(options: DataApiEmulatorOptions): Promise<DataApiEmulator> {
  const statementTimeoutMs = options.statementTimeoutMs ?? DATA_API_LIMITS.statementTimeoutMs;
  const faults = options.faults ?? new FaultInjector();
  const ctx: OperationContext = {
    pools: new PoolRegistry(options.databaseUrl, { statementTimeoutMs }),
    transactions: new TransactionRegistry(options.transactionIdleMs ?? DATA_API_LIMITS.transactionIdleMs),
    statementTimeoutMs,
    typeNames: new Map(),
  };
  const server = createServer((req, res) => {
    handle(ctx, faults, req, res).catch((err: unknown) => sendError(res, internalError(err)));
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  let closing: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    faults,
    close: () =>
      (closing ??= (async () => {
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeAllConnections();
        await stopped;
        await ctx.transactions.closeAll();
        await ctx.pools.closeAll();
      })()),
  };
}

async function handle(ctx: OperationContext, faults: FaultInjector, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const raw = await readBody(req);
  const path = (req.url ?? '/').split('?')[0] ?? '/';
  const route = ROUTES[path];
  if (req.method !== 'POST' || !route) {
    return sendError(res, new EmulatorError('BadRequestException', `Unknown operation ${req.method ?? ''} ${path}`, 404));
  }
  let body: Record<string, unknown>;
  try {
    body = raw.length === 0 ? {} : (JSON.parse(raw) as Record<string, unknown>);
  } catch {
    return sendError(res, badRequest('Request body is not valid JSON'));
  }
  const fault = faults.take(route.operation, typeof body.sql === 'string' ? body.sql : undefined);
  if (fault) return injectFault(fault, req, res);
  try {
    const result = await route.handler(ctx, body as never);
    const json = JSON.stringify(result);
    if (Buffer.byteLength(json) > DATA_API_LIMITS.maxResponseBytes) {
      return sendError(res, badRequest(MESSAGES.responseTooLarge));
    }
    send(res, 200, json);
  } catch (err) {
    sendError(res, err instanceof EmulatorError ? err : internalError(err));
  }
}

async function injectFault(fault: FaultRule, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (fault.delayMs) await new Promise((resolve) => setTimeout(resolve, fault.delayMs));
  switch (fault.error) {
    case 'ConnectionReset':
      req.socket.destroy();
      return;
    case 'StatementTimeoutException':
      return sendError(res, new EmulatorError(fault.error, MESSAGES.statementTimeout, undefined, { dbConnectionId: 0 }));
    case 'DatabaseResumingException':
      return sendError(res, new EmulatorError(fault.error, MESSAGES.resuming));
    case 'ServiceUnavailableError':
      return sendError(res, new EmulatorError(fault.error, 'Service unavailable'));
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function internalError(err: unknown): EmulatorError {
  return new EmulatorError('InternalServerErrorException', err instanceof Error ? err.message : String(err));
}

function sendError(res: ServerResponse, err: EmulatorError): void {
  send(res, err.status, JSON.stringify({ message: err.message, ...err.extra }), err.errorType);
}

function send(res: ServerResponse, status: number, json: string, errorType?: string): void {
  if (res.headersSent || res.destroyed) return;
  const headers: Record<string, string | number> = {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(json),
    'x-amzn-requestid': crypto.randomUUID(),
  };
  if (errorType) headers['x-amzn-ErrorType'] = errorType;
  res.writeHead(status, headers);
  res.end(json);
}
