import type { PostgresServer } from '../../lib/local/postgres-server';
import { SERVER_KEY } from './global-setup';

/** Jest globalTeardown: stops the embedded Postgres started by global-setup, if any. */
export default async function globalTeardown(): Promise<void> {
  const server = (globalThis as Record<string, unknown>)[SERVER_KEY] as PostgresServer | undefined;
  delete (globalThis as Record<string, unknown>)[SERVER_KEY];
  await server?.stop();
}
