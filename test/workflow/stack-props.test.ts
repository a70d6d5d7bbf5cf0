import { App } from 'aws-cdk-lib';
import { ConfigError } from '../../lib/errors';
import { StepwiseStack, stackPropsFromContext } from '../../lib/stack';

const CLUSTER = 'arn:aws:rds:us-east-1:123456789012:cluster:demo';
const SECRET = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:demo-AbCdEf';

function appWith(context: Record<string, unknown>): App {
  return new App({ context: { 'aws:cdk:bundling-stacks': [], ...context }, builtinCloudFormationValidation: false });
}

describe('stackPropsFromContext', () => {
  it('reads the database target from -c keys', () => {
    const app = appWith({ clusterArn: CLUSTER, secretArn: SECRET, database: 'app' });
    expect(stackPropsFromContext(app)).toEqual({ clusterArn: CLUSTER, secretArn: SECRET, database: 'app' });
  });

  it('names every missing key and shows an example command', () => {
    const app = appWith({ secretArn: SECRET });
    const act = () => stackPropsFromContext(app);
    expect(act).toThrow(ConfigError);
    expect(act).toThrow(/Missing CDK context: -c clusterArn=\.\.\., -c database=\.\.\./);
    expect(act).toThrow(/Example: npx cdk synth -c clusterArn=arn:aws:rds:.* -c secretArn=.* -c database=app/);
  });

  it('rejects malformed values with what was given', () => {
    const app = appWith({ clusterArn: 'arn:aws:rds:us-east-1:123456789012:db:demo', secretArn: 'demo-secret', database: 'app' });
    const act = () => stackPropsFromContext(app);
    expect(act).toThrow(/Invalid CDK context: clusterArn must be an Aurora cluster ARN .* got "arn:aws:rds:us-east-1:123456789012:db:demo"/);
    expect(act).toThrow(/Invalid CDK context: secretArn must be a Secrets Manager secret ARN .* got "demo-secret"/);
  });

  it('accepts other partitions', () => {
    const app = appWith({
      clusterArn: 'arn:aws-cn:rds:cn-north-1:123456789012:cluster:demo',
      secretArn: 'arn:aws-us-gov:secretsmanager:us-gov-west-1:123456789012:secret:demo-AbCdEf',
      database: 'app',
    });
    expect(() => stackPropsFromContext(app)).not.toThrow();
  });

  it('lets explicit values win over context', () => {
    const app = appWith({ clusterArn: 'not-an-arn', secretArn: SECRET, database: 'app' });
    expect(stackPropsFromContext(app, { clusterArn: CLUSTER }).clusterArn).toBe(CLUSTER);
  });
});

describe('StepwiseStack', () => {
  it('builds from context alone', () => {
    const app = appWith({ clusterArn: CLUSTER, secretArn: SECRET, database: 'app' });
    const stack = new StepwiseStack(app, 'Stepwise');
    expect(stack.workflow.phaseFunctions.preflight).toBeDefined();
  });

  it('fails with the context error when nothing is given', () => {
    expect(() => new StepwiseStack(appWith({}), 'Stepwise')).toThrow(/Missing CDK context: -c clusterArn=\.\.\., -c secretArn=\.\.\., -c database=\.\.\./);
  });
});

describe('backfillReservedConcurrency', () => {
  const base = { clusterArn: CLUSTER, secretArn: SECRET, database: 'app' };

  it('reserves concurrency for the backfill function only', () => {
    const { Template } = require('aws-cdk-lib/assertions') as typeof import('aws-cdk-lib/assertions');
    const stack = new StepwiseStack(appWith({ ...base, backfillReservedConcurrency: '4' }), 'Reserved');
    const functions = Template.fromStack(stack).findResources('AWS::Lambda::Function');
    const reserved = Object.values(functions)
      .filter((f) => f.Properties.ReservedConcurrentExecutions !== undefined)
      .map((f) => [f.Properties.Environment.Variables.STEPWISE_PHASE, f.Properties.ReservedConcurrentExecutions]);
    expect(reserved).toEqual([['backfill', 4]]);
  });

  it('refuses a value that is not a whole number from 1 to 1000', () => {
    expect(() => new StepwiseStack(appWith({ ...base, backfillReservedConcurrency: 'lots' }), 'Bad')).toThrow(
      /backfillReservedConcurrency must be an integer from 1 to 1000, got "lots"/,
    );
  });
});
