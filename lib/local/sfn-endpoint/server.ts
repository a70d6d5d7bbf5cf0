/**
 * A Step Functions-compatible HTTP endpoint (AWS JSON 1.0): `POST /` with `X-Amz-Target: AWSStepFunctions.<Operation>`
 * and a JSON body; answers `200` with the JSON result, or `400` with `{"__type", "message"}` as AWS does, so the real
 * `SFNClient` works against it with `endpoint`. Requests are not authenticated (any credentials are accepted).
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SfnApiError, type SfnOperation } from './sfn-api';

export const SFN_TARGET_PREFIX = 'AWSStepFunctions.';
export const AMZ_JSON_1_0 = 'application/x-amz-json-1.0';
/** Largest request body accepted (StartExecution input is ≤ 256 KiB on AWS). */
const MAX_BODY_BYTES = 1024 * 1024;

export interface SfnHttpServerOptions {
  readonly operations: Readonly<Record<string, SfnOperation>>;
  /** @default 0 (any free port) */
  readonly port?: number;
  /** @default '127.0.0.1' */
  readonly host?: string;
}

export interface SfnHttpServer {
  /** `http://host:port`, what `--endpoint-url` / `AWS_ENDPOINT_URL` take. */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': AMZ_JSON_1_0,
    'content-length': Buffer.byteLength(text),
    'x-amzn-requestid': randomUUID(),
  });
  res.end(text);
}

function sendError(res: ServerResponse, err: SfnApiError): void {
  send(res, err.status, { __type: `com.amazonaws.sfn#${err.type}`, message: err.message });
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new SfnApiError('ValidationException', 'Request body too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Answers one request: routing by `X-Amz-Target`, JSON in and out, errors in the AWS JSON shape. */
export async function handleRequest(operations: Readonly<Record<string, SfnOperation>>, req: IncomingMessage, res: ServerResponse): Promise<void> {
  try {
    if (req.method !== 'POST') throw new SfnApiError('UnknownOperationException', `Method ${req.method ?? '?'} not allowed: POST / with X-Amz-Target`);
    const target = String(req.headers['x-amz-target'] ?? '');
    if (!target.startsWith(SFN_TARGET_PREFIX)) throw new SfnApiError('UnknownOperationException', `Missing or foreign X-Amz-Target: '${target}'`);
    const name = target.slice(SFN_TARGET_PREFIX.length);
    const operation = Object.hasOwn(operations, name) ? operations[name] : undefined;
    if (!operation) throw new SfnApiError('UnknownOperationException', `Operation ${name} is not supported by the local endpoint`);
    const text = await readBody(req);
    let body: unknown = {};
    if (text.trim() !== '') {
      try {
        body = JSON.parse(text);
      } catch {
        throw new SfnApiError('SerializationException', 'Request body is not valid JSON');
      }
    }
    if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new SfnApiError('SerializationException', 'Request body must be a JSON object');
    send(res, 200, await operation(body as Record<string, unknown>));
  } catch (err) {
    if (err instanceof SfnApiError) return sendError(res, err);
    sendError(res, new SfnApiError('InternalFailure', err instanceof Error ? err.message : String(err), 500));
  }
}

/** Serves `operations` over HTTP until `close()`. */
export async function startSfnHttpServer(options: SfnHttpServerOptions): Promise<SfnHttpServer> {
  const server = createServer((req, res) => void handleRequest(options.operations, req, res));
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const urlHost = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host;
  return {
    url: `http://${urlHost}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
