export * from './executor';
export { DataApiExecutor, DEFAULT_LOCK_RETRIES, decodeField, decodeRecords, toSqlParameters } from './data-api-executor';
export type { DataApiExecutorOptions, RetryOptions } from './data-api-executor';
export { DEFAULT_REGION, executorFromEnv, resetExecutorCache } from './create-executor';
export {
  DB_ERROR_CODE,
  LOCK_NOT_AVAILABLE,
  errorName,
  isTransientDataApiError,
  mapDataApiError,
  parseSqlState,
} from './map-data-api-error';
export type { MapErrorContext } from './map-data-api-error';
