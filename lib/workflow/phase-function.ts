import * as path from 'node:path';

import { Duration, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { ENV, Phase } from '../constants';
import {
  DEFAULT_LAMBDA_ENTRY_DIR,
  PHASE_ARCHITECTURE,
  PHASE_BUNDLING,
  PHASE_LOG_RETENTION,
  PHASE_MEMORY_MB,
  PHASE_RUNTIME,
  PHASE_TIMEOUT,
  POWERTOOLS_SERVICE_NAME,
} from './defaults';

/** The repository root: where package.json and package-lock.json are. */
const REPO_ROOT = path.join(__dirname, '..', '..');

/** Props of {@link PhaseFunction}; also what a `functionFactory` receives. */
export interface PhaseFunctionProps {
  /** The phase this function runs; names the entry file `<entryDir>/<phase>.ts` and `STEPWISE_PHASE`. */
  readonly phase: Phase;
  /** ARN of the Aurora cluster the Data API calls target. */
  readonly clusterArn: string;
  /** ARN of the Secrets Manager secret holding the database credentials. */
  readonly secretArn: string;
  /** Database name passed to every Data API call. */
  readonly database: string;
  /**
   * Folder holding the handler entry files.
   * @default DEFAULT_LAMBDA_ENTRY_DIR (the repository's `lambdas/`)
   */
  readonly entryDir?: string;
  /**
   * Lambda timeout.
   * @default PHASE_TIMEOUT (120 seconds)
   */
  readonly timeout?: Duration;
  /**
   * Reserved concurrency: at most this many copies run at once (a cap on the load a phase can put on the database).
   * @default none (accounts with the default 10-concurrency quota cannot reserve any)
   */
  readonly reservedConcurrency?: number;
}

/** Actions a phase needs on the cluster: the Data API, nothing else (no rds:*, no network path to the DB). */
export const DATA_API_ACTIONS: readonly string[] = [
  'rds-data:ExecuteStatement',
  'rds-data:BatchExecuteStatement',
  'rds-data:BeginTransaction',
  'rds-data:CommitTransaction',
  'rds-data:RollbackTransaction',
];

/** Actions the Data API needs on the credentials secret, on behalf of its caller. */
export const SECRET_ACTIONS: readonly string[] = ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'];

/**
 * Grants least-privilege database access: the Data API actions on the cluster ARN only and read access to the
 * credentials secret only. Use it on functions made by a custom `functionFactory`.
 *
 * @example
 * grantDataApiAccess(myFunction, clusterArn, secretArn);
 */
/** Phases whose handler never touches the database. */
export const PHASES_WITHOUT_DATABASE: readonly Phase[] = [Phase.Window];

export function grantDataApiAccess(grantee: iam.IGrantable, clusterArn: string, secretArn: string): void {
  iam.Grant.addToPrincipal({ grantee, actions: [...DATA_API_ACTIONS], resourceArns: [clusterArn] });
  iam.Grant.addToPrincipal({ grantee, actions: [...SECRET_ACTIONS], resourceArns: [secretArn] });
}

/**
 * One phase handler as a Lambda function, with everything pinned: Node 22 on ARM64, active tracing, 256 MiB, a
 * 120-second timeout (backfill passes its own), its own log group kept one month, and a role that can write its logs,
 * send traces and reach the database only through the Data API.
 *
 * @example
 * const expand = new PhaseFunction(this, 'Expand', { phase: Phase.Expand, clusterArn, secretArn, database: 'app' });
 * expand.function; // lambda.IFunction
 */
export class PhaseFunction extends Construct {
  /** The Lambda function. */
  readonly function: nodejs.NodejsFunction;
  /** Its execution role (no managed policies). */
  readonly role: iam.Role;
  /** Its log group. */
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: PhaseFunctionProps) {
    super(scope, id);

    // Logs and role: a dedicated log group and a role without AWSLambdaBasicExecutionRole (which grants logs on '*').
    this.logGroup = new logs.LogGroup(this, 'LogGroup', { retention: PHASE_LOG_RETENTION });
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Stepwise ${props.phase} phase: Data API on one cluster, one secret, own log group`,
    });
    this.logGroup.grantWrite(this.role);

    // The function.
    this.function = new nodejs.NodejsFunction(this, 'Function', {
      entry: path.join(props.entryDir ?? DEFAULT_LAMBDA_ENTRY_DIR, `${props.phase}.ts`),
      // Found from this file, not the working directory, so synth (and the local twin) work from any folder.
      projectRoot: REPO_ROOT,
      depsLockFilePath: path.join(REPO_ROOT, 'package-lock.json'),
      handler: 'handler',
      runtime: PHASE_RUNTIME,
      architecture: PHASE_ARCHITECTURE,
      memorySize: PHASE_MEMORY_MB,
      timeout: props.timeout ?? PHASE_TIMEOUT,
      ...(props.reservedConcurrency !== undefined ? { reservedConcurrentExecutions: props.reservedConcurrency } : {}),
      tracing: lambda.Tracing.ACTIVE,
      role: this.role,
      logGroup: this.logGroup,
      description: `Stepwise migration phase: ${props.phase}`,
      environment: {
        [ENV.phase]: props.phase,
        [ENV.clusterArn]: props.clusterArn,
        [ENV.secretArn]: props.secretArn,
        [ENV.database]: props.database,
        POWERTOOLS_SERVICE_NAME,
        NODE_OPTIONS: '--enable-source-maps',
      },
      bundling: {
        ...PHASE_BUNDLING,
        format: nodejs.OutputFormat.CJS,
        // The Postgres parser that checks `using` (libpg-query) reads its WebAssembly from next to its code, which
        // is the bundle's index.js once bundled: ship the file there.
        commandHooks: {
          beforeBundling: () => [],
          beforeInstall: () => [],
          afterBundling: (inputDir: string, outputDir: string) => [`cp "${inputDir}/node_modules/libpg-query/wasm/libpg-query.wasm" "${outputDir}/"`],
        },
      },
    });
    // Least privilege: a phase that never reads the database (the window calculator) gets no Data API or secret access.
    if (!PHASES_WITHOUT_DATABASE.includes(props.phase)) grantDataApiAccess(this.role, props.clusterArn, props.secretArn);

    // Justified cdk-nag findings.
    Validations.of(this.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'X-Ray PutTraceSegments/PutTelemetryRecords (added by active tracing) have no resource-level permissions.',
    });
    Validations.of(this.function).acknowledge({
      id: 'AwsSolutions-L1',
      reason:
        'Pinned to nodejs22.x (LTS) on purpose: the bundle targets node22 and the local twin runs the same handlers; ' +
        'the runtime is raised deliberately in defaults.ts, not by whatever CDK lists as newest.',
    });
  }
}
