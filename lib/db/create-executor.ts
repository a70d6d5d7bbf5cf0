import { RDSDataClient } from '@aws-sdk/client-rds-data';
import { ENV } from '../constants';
import { ConfigError } from '../errors';
import { DataApiExecutor } from './data-api-executor';

/** Region used when `AWS_REGION` is not set. */
export const DEFAULT_REGION = 'us-east-1';

const cache = new Map<string, DataApiExecutor>();

/**
 * The executor of a phase handler, built from the environment: `STEPWISE_CLUSTER_ARN`, `STEPWISE_SECRET_ARN`,
 * `STEPWISE_DATABASE`, and `AWS_REGION` (default us-east-1). The SDK itself honours `AWS_ENDPOINT_URL_RDS_DATA`,
 * which is how the local twin points handlers at the Data API emulator. Memoized per distinct configuration, so a
 * warm Lambda reuses its client.
 *
 * @throws ConfigError naming the first missing variable.
 * @example
 * const db = executorFromEnv(); // at module scope of lambdas/expand.ts
 */
export function executorFromEnv(env: NodeJS.ProcessEnv = process.env): DataApiExecutor {
  const resourceArn = required(env, ENV.clusterArn);
  const secretArn = required(env, ENV.secretArn);
  const database = required(env, ENV.database);
  const region = env.AWS_REGION || env.AWS_DEFAULT_REGION || DEFAULT_REGION;
  const endpoint = env[ENV.dataApiEndpoint] ?? '';
  const key = JSON.stringify([resourceArn, secretArn, database, region, endpoint]);
  let executor = cache.get(key);
  if (!executor) {
    const client = new RDSDataClient({ region, ...(endpoint ? { endpoint } : {}) });
    executor = new DataApiExecutor({ client, resourceArn, secretArn, database });
    cache.set(key, executor);
  }
  return executor;
}

/** Forgets memoized executors (tests that change the environment). */
export function resetExecutorCache(): void {
  cache.clear();
}

function required(env: NodeJS.ProcessEnv, name: string): string {
  const value = env[name];
  if (!value) {
    throw new ConfigError(`Environment variable ${name} is not set`, `Set ${name} on the phase function (the CDK stack does this).`, {
      variable: name,
    });
  }
  return value;
}
