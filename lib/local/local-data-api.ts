import { RDSDataClient } from '@aws-sdk/client-rds-data';
import { ENV } from '../constants';
import { DataApiExecutor } from '../db/data-api-executor';
import { type DataApiEmulator, type DataApiEmulatorOptions, startDataApiEmulator } from './data-api-emulator';

/** The ARNs and credentials the local twin uses: syntactically valid, pointing at nothing. */
export const LOCAL_AWS = {
  region: 'us-east-1',
  clusterArn: 'arn:aws:rds:us-east-1:000000000000:cluster:local',
  secretArn: 'arn:aws:secretsmanager:us-east-1:000000000000:secret:local',
  credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
} as const;

/** A Data API emulator on one database, and everything needed to reach it. */
export interface LocalDataApi {
  readonly emulator: DataApiEmulator;
  /**
   * Environment for code that calls `executorFromEnv()` (phase handlers): the Stepwise variables, the SDK's
   * `AWS_ENDPOINT_URL_RDS_DATA`, and dummy credentials and region.
   */
  readonly env: Record<string, string>;
  /** A real `RDSDataClient` pointed at the emulator. */
  readonly client: RDSDataClient;
  /** A `DataApiExecutor` on `client`, for the database of the URL. */
  readonly executor: DataApiExecutor;
  /** Closes the client and the emulator. */
  close(): Promise<void>;
}

/**
 * Starts the Data API emulator on `databaseUrl` and wires a client, an executor and handler environment to it: the
 * same wiring the local runner, the CLI and the tests use.
 *
 * @example
 * const local = await startLocalDataApi('postgres://postgres:pw@127.0.0.1:5432/shop');
 * Object.assign(process.env, local.env); // handlers' executorFromEnv() now reach the emulator
 */
export async function startLocalDataApi(
  databaseUrl: string,
  options: Omit<DataApiEmulatorOptions, 'databaseUrl'> = {},
): Promise<LocalDataApi> {
  const emulator = await startDataApiEmulator({ ...options, databaseUrl });
  const database = decodeURIComponent(new URL(databaseUrl).pathname.slice(1)) || 'postgres';
  const client = new RDSDataClient({ endpoint: emulator.url, region: LOCAL_AWS.region, credentials: LOCAL_AWS.credentials });
  const executor = new DataApiExecutor({ client, resourceArn: LOCAL_AWS.clusterArn, secretArn: LOCAL_AWS.secretArn, database });
  const env: Record<string, string> = {
    [ENV.clusterArn]: LOCAL_AWS.clusterArn,
    [ENV.secretArn]: LOCAL_AWS.secretArn,
    [ENV.database]: database,
    [ENV.dataApiEndpoint]: emulator.url,
    AWS_REGION: LOCAL_AWS.region,
    AWS_ACCESS_KEY_ID: LOCAL_AWS.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_AWS.credentials.secretAccessKey,
  };
  return {
    emulator,
    env,
    client,
    executor,
    close: async () => {
      client.destroy();
      await emulator.close();
    },
  };
}
