import * as path from 'node:path';
import { Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { DEFAULT_LAMBDA_ENTRY_DIR, PHASE_ARCHITECTURE, PHASE_BUNDLE_TARGET, PHASE_LOG_RETENTION, PHASE_RUNTIME, POWERTOOLS_SERVICE_NAME } from './defaults';

const REPO_ROOT = path.join(__dirname, '..', '..');

/** Props of {@link ApprovalLinkFunction}. */
export interface ApprovalLinkFunctionProps {
  /** Folder with `approval-link.ts`. @default the repository's `lambdas/` */
  readonly entryDir?: string;
}

/**
 * The approval-link Lambda (lib/approvals/approval-link.ts) behind a Function URL: the approval notification links
 * to it with the gate's task token; the page it shows answers the gate with SendTaskSuccess/SendTaskFailure. Its role
 * may do exactly that and write its own log group. The URL has no IAM auth (a browser cannot sign requests): the task
 * token in the link is the capability, as it is in the notification itself.
 */
export class ApprovalLinkFunction extends Construct {
  readonly function: nodejs.NodejsFunction;
  readonly url: lambda.FunctionUrl;
  readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: ApprovalLinkFunctionProps = {}) {
    super(scope, id);
    const logGroup = new logs.LogGroup(this, 'LogGroup', { retention: PHASE_LOG_RETENTION });
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'Stepwise approval link: answer an approval gate with its task token, own log group',
    });
    logGroup.grantWrite(this.role);
    // SendTaskSuccess/Failure have no resource-level permissions: the task token is the capability.
    this.role.addToPolicy(new iam.PolicyStatement({ actions: ['states:SendTaskSuccess', 'states:SendTaskFailure'], resources: ['*'] }));
    this.function = new nodejs.NodejsFunction(this, 'Function', {
      entry: path.join(props.entryDir ?? DEFAULT_LAMBDA_ENTRY_DIR, 'approval-link.ts'),
      projectRoot: REPO_ROOT,
      depsLockFilePath: path.join(REPO_ROOT, 'package-lock.json'),
      handler: 'handler',
      runtime: PHASE_RUNTIME,
      architecture: PHASE_ARCHITECTURE,
      memorySize: 128,
      role: this.role,
      logGroup,
      description: 'Stepwise approval link: approve or reject a gate from the notification',
      environment: { POWERTOOLS_SERVICE_NAME, NODE_OPTIONS: '--enable-source-maps' },
      bundling: { minify: true, sourceMap: true, target: PHASE_BUNDLE_TARGET, format: nodejs.OutputFormat.CJS, bundleAwsSDK: true },
    });
    this.url = this.function.addFunctionUrl({ authType: lambda.FunctionUrlAuthType.NONE });
    Validations.of(this.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'states:SendTaskSuccess and states:SendTaskFailure have no resource-level permissions; the task token in the link is the capability.',
    });
    Validations.of(this.function).acknowledge({
      id: 'AwsSolutions-L1',
      reason: 'Pinned to the same runtime as the phase functions (defaults.ts), raised deliberately.',
    });
  }
}
