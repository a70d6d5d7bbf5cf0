import pg from 'pg';
import { seedProduct } from '../../demo/seed-product';
import { DEFAULT_LOCAL_PORT } from '../defaults';
import { ConfigError } from '../../errors';
import { startLocalTwin } from '../../local/local-twin';
import { startStepwiseEndpoint } from '../../local/sfn-endpoint';
import { createSnsSink } from '../../local/sns-sink';
import { redact } from '../run-command';
import { probeDatabase } from '../database-url';

export interface LocalUpOptions {
  /** @default 8083 */
  readonly port?: number;
  /** @default 127.0.0.1 */
  readonly host?: string;
  readonly databaseUrl?: string;
  readonly slackWebhookUrl?: string;
  /** Caps every Wait state (soak, backfill pauses, maintenance windows) at this many ms: demos only. */
  readonly maxWaitMs?: number;
  /** Create and fill the runbook's `"Product"` table with this many rows first (replacing one that exists). */
  readonly seedDemo?: number;
}

/** Default port of `stepwise local up` (Step Functions Local's). */

/**
 * `stepwise local up`: the local twin (Postgres, Data API emulator) and a Step Functions-compatible endpoint in front
 * of the synthesized state machine, until `stopped` resolves (SIGINT/SIGTERM by default). Postgres stops on exit.
 */
export async function localUpCommand(
  options: LocalUpOptions,
  write: (line: string) => void,
  stopped: Promise<unknown> = new Promise((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  }),
): Promise<number> {
  if (options.databaseUrl) await probeDatabase(options.databaseUrl);
  const twin = await startLocalTwin(options.databaseUrl ? { databaseUrl: options.databaseUrl } : {});
  try {
    write(`local twin: Postgres ${twin.embedded ? '(embedded) ' : ''}${redact(twin.databaseUrl)}, Data API emulator ${twin.dataApi.emulator.url}`);
    // The embedded server's credentials are local to this machine: print the URL whole, for psql, status and rollback.
    // A URL the operator gave is theirs and stays redacted (they have it).
    const operatorUrl = twin.embedded ? twin.databaseUrl : redact(twin.databaseUrl);
    write(`  database: export DATABASE_URL='${operatorUrl}'    # psql "$DATABASE_URL"; stepwise status --spec <file> --database-url "$DATABASE_URL"`);
    if (options.seedDemo !== undefined) {
      const pool = new pg.Pool({ connectionString: twin.databaseUrl, max: 1 });
      try {
        await seedProduct(pool, options.seedDemo);
      } finally {
        await pool.end();
      }
      write(`seeded "Product" with ${options.seedDemo} rows (the runbook's table: try examples/product-price-cents.json)`);
    }
    write('synthesizing the state machine…');
    const port = options.port ?? DEFAULT_LOCAL_PORT;
    const endpoint = await startStepwiseEndpoint({
      port,
      ...(options.host ? { host: options.host } : {}),
      sns: createSnsSink({ print: (line) => write(`  » ${line}`), ...(options.slackWebhookUrl ? { slackWebhookUrl: options.slackWebhookUrl } : {}) }),
      ...(options.maxWaitMs !== undefined ? { maxWaitMs: options.maxWaitMs } : {}),
    }).catch((err: unknown) => {
      if ((err as { code?: string }).code === 'EADDRINUSE') {
        throw new ConfigError(`port ${port} is already in use`, 'Pass another --port (0 picks a free one), or stop what listens there (another `stepwise local up`?).', { port });
      }
      throw err;
    });
    try {
      write(`Step Functions endpoint: ${endpoint.url}  (state machine ${endpoint.machine.stateMachineArn})`);
      write(`  export AWS_ENDPOINT_URL=${endpoint.url}    # or pass --endpoint-url ${endpoint.url}`);
      write('  then: stepwise start --spec <file>, stepwise status, stepwise approve <execution>, …   Ctrl-C stops.');
      await stopped;
      write('stopping: running executions are aborted, Postgres stops');
    } finally {
      await endpoint.close();
    }
    return 0;
  } finally {
    await twin.stop();
  }
}

export { DEFAULT_LOCAL_PORT };
