import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SFNClient } from '@aws-sdk/client-sfn';
import { handleApprovalLink } from '../approvals/approval-link';

/** A local stand-in for the approval link's Lambda Function URL. */
export interface ApprovalLinkServer {
  /** `http://127.0.0.1:<port>/`: what the approval notifications link to (synthesizeDefinition's `approvalLinkUrl`). */
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Serves the approval-link handler over HTTP as a Function URL would: each request becomes a payload-2.0 event
 * (`rawQueryString`, `body` base64-encoded, `requestContext.http.method`) and the handler's result the response.
 * `client()` is the Step Functions client the handler answers gates with (the twin's endpoint).
 */
export async function startApprovalLinkServer(client: () => SFNClient, port = 0): Promise<ApprovalLinkServer> {
  const server = createServer((req, res) => {
    void (async () => {
      try {
        const body = await readBody(req);
        const rawUrl = req.url ?? '/';
        const at = rawUrl.indexOf('?');
        const result = await handleApprovalLink(
          { rawQueryString: at < 0 ? '' : rawUrl.slice(at + 1), body: body.toString('base64'), isBase64Encoded: true, requestContext: { http: { method: req.method ?? 'GET' } } },
          client(),
        );
        res.writeHead(result.statusCode, result.headers).end(result.body);
      } catch (err) {
        res.writeHead(500, { 'content-type': 'text/plain' }).end(`approval link failed: ${(err as Error).message}`);
      }
    })();
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const { port: bound } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${bound}/`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
