import { App, type CfnElement } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ConfigError } from '../../lib/errors';
import { StepwiseStack } from '../../lib/stack';
import { clusterRegionProblem } from '../../lib/workflow/validate-props';

const CLUSTER = 'arn:aws:rds:eu-west-1:123456789012:cluster:demo';
const SECRET = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:demo-AbCdEf';

type Statement = { Sid?: string; Action: string | string[]; Resource: unknown; Effect: string };
const list = <T>(v: T | T[]): T[] => (Array.isArray(v) ? v : [v]);

function app(context: Record<string, unknown> = {}): App {
  return new App({ context: { 'aws:cdk:bundling-stacks': [], ...context }, builtinCloudFormationValidation: false });
}

describe('the cluster must be in the stack region (the Data API is regional)', () => {
  it('synth refuses a cluster ARN in another region than the stack, naming both and the fix', () => {
    const build = () => new StepwiseStack(app({ clusterArn: CLUSTER, secretArn: SECRET, database: 'app' }), 'Stepwise', { env: { account: '123456789012', region: 'us-east-1' } });
    expect(build).toThrow(ConfigError);
    expect(build).toThrow(/Invalid CDK context: clusterArn is in eu-west-1 but the stack deploys to us-east-1: the Data API is regional/);
    expect(build).toThrow(/run cdk with AWS_REGION=eu-west-1 or a profile in eu-west-1; when embedding the stack, env: \{ region: 'eu-west-1' \}/);
  });

  it('the same region synthesizes, without a deploy-time rule', () => {
    const stack = new StepwiseStack(app(), 'Stepwise', { clusterArn: CLUSTER, secretArn: SECRET, database: 'app', env: { account: '123456789012', region: 'eu-west-1' } });
    expect(Template.fromStack(stack).toJSON().Rules?.ClusterInStackRegion).toBeUndefined();
  });

  it('an environment-agnostic stack gets a CloudFormation rule that refuses another region at deploy', () => {
    const stack = new StepwiseStack(app(), 'Stepwise', { clusterArn: CLUSTER, secretArn: SECRET, database: 'app' });
    expect(Template.fromStack(stack).toJSON().Rules.ClusterInStackRegion).toEqual({
      Assertions: [{ Assert: { 'Fn::Equals': [{ Ref: 'AWS::Region' }, 'eu-west-1'] }, AssertDescription: expect.stringMatching(/cluster is in eu-west-1.*deploy this stack to eu-west-1/) }],
    });
  });

  it('tokens are left to deploy time', () => {
    expect(clusterRegionProblem(CLUSTER, '${Token[AWS.Region.1]}')).toBeUndefined();
    expect(clusterRegionProblem(CLUSTER, 'eu-west-1')).toBeUndefined();
    expect(clusterRegionProblem(CLUSTER, 'us-west-2')).toMatch(/^clusterArn is in eu-west-1 but the stack deploys to us-west-2/);
  });
});

describe('the operator policy', () => {
  const theApp = app({ slackWorkspaceId: 'T0123ABCDEF', slackChannelId: 'C0123ABCDEF' });
  const stack = new StepwiseStack(theApp, 'Stepwise', { clusterArn: CLUSTER, secretArn: SECRET, database: 'app', env: { account: '123456789012', region: 'eu-west-1' } });
  const template = Template.fromStack(stack);
  const policyId = stack.getLogicalId(stack.operatorPolicy.policy.node.defaultChild as CfnElement);
  const statements = template.toJSON().Resources[policyId].Properties.PolicyDocument.Statement as Statement[];
  const [machineId] = Object.keys(template.findResources('AWS::StepFunctions::StateMachine'));

  it('is a managed policy the stack outputs', () => {
    expect(template.toJSON().Resources[policyId].Type).toBe('AWS::IAM::ManagedPolicy');
    template.hasOutput('OperatorPolicyArn', { Value: { Ref: policyId } });
  });

  it('grants exactly what start/status/approve/reject/abort/pause/resume/tune/history need, each on its own resource', () => {
    const byActions = Object.fromEntries(statements.map((s) => [list(s.Action).sort().join(' '), s.Resource]));
    expect(statements.every((s) => s.Effect === 'Allow')).toBe(true);
    expect(Object.keys(byActions).sort()).toEqual([
      'rds-data:ExecuteStatement',
      'secretsmanager:GetSecretValue',
      'states:DescribeExecution states:GetExecutionHistory states:StopExecution',
      'states:ListExecutions states:StartExecution',
      'states:SendTaskFailure states:SendTaskSuccess',
    ]);
    expect(byActions['states:ListExecutions states:StartExecution']).toEqual({ Ref: machineId });
    expect(JSON.stringify(byActions['states:DescribeExecution states:GetExecutionHistory states:StopExecution'])).toMatch(/:states:eu-west-1:123456789012:execution:.*:\*"/);
    expect(byActions['states:SendTaskFailure states:SendTaskSuccess']).toBe('*');
    expect(byActions['rds-data:ExecuteStatement']).toBe(CLUSTER);
    expect(byActions['secretsmanager:GetSecretValue']).toBe(SECRET);
    // Nothing that would change the stack, the database outside the Data API, or other state machines.
    const actions = statements.flatMap((s) => list(s.Action));
    for (const a of actions) expect(a).toMatch(/^(states:(StartExecution|ListExecutions|DescribeExecution|GetExecutionHistory|StopExecution|SendTaskSuccess|SendTaskFailure)|rds-data:ExecuteStatement|secretsmanager:GetSecretValue)$/);
  });

  it('passes cdk-nag AwsSolutions', () => {
    const violations = new AwsSolutionsChecks().validateScope(theApp).violations.map((v) => `${v.ruleName} at ${v.violatingResources.map((r) => r.constructPath).join(', ')}`);
    expect(violations).toEqual([]);
  });
});

describe('approval links', () => {
  const build = (context: Record<string, unknown>) =>
    Template.fromStack(new StepwiseStack(app(context), 'Stepwise', { clusterArn: CLUSTER, secretArn: SECRET, database: 'app', env: { account: '123456789012', region: 'eu-west-1' } }));

  it('with Slack: a Function URL, a role that may only answer gates, the link in the approval message, and an output', () => {
    const template = build({ slackWorkspaceId: 'T0123ABCDEF', slackChannelId: 'C0123ABCDEF' });
    template.resourceCountIs('AWS::Lambda::Url', 1);
    template.hasResourceProperties('AWS::Lambda::Url', { AuthType: 'NONE' });
    const [urlId] = Object.keys(template.findResources('AWS::Lambda::Url'));
    template.hasOutput('ApprovalLinkUrl', { Value: { 'Fn::GetAtt': [urlId, 'FunctionUrl'] } });
    const fn = Object.entries(template.findResources('AWS::Lambda::Function')).find(([, r]) => String(r.Properties.Description).startsWith('Stepwise approval link'));
    const roleId = (fn![1].Properties.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
    const policies = Object.values(template.findResources('AWS::IAM::Policy')).filter((p) => JSON.stringify(p.Properties.Roles).includes(roleId));
    const actions = policies.flatMap((p) => (p.Properties.PolicyDocument.Statement as Statement[]).flatMap((s) => list(s.Action)));
    expect(actions.filter((a) => !a.startsWith('logs:')).sort()).toEqual(['states:SendTaskFailure', 'states:SendTaskSuccess']);
    const definition = JSON.stringify(Object.values(template.findResources('AWS::StepFunctions::StateMachine'))[0]!.Properties.DefinitionString);
    expect(definition).toContain('[Approve or reject in the browser]({}?execution={}&gate=ApproveStart&token={})');
    expect(definition).toContain(urlId);
  });

  it('off without Slack, or with -c approvalLinks=false; a malformed value is refused', () => {
    build({}).resourceCountIs('AWS::Lambda::Url', 0);
    build({ slackWorkspaceId: 'T0123ABCDEF', slackChannelId: 'C0123ABCDEF', approvalLinks: 'false' }).resourceCountIs('AWS::Lambda::Url', 0);
    build({ approvalLinks: 'true' }).resourceCountIs('AWS::Lambda::Url', 1);
    expect(() => build({ approvalLinks: 'yes' })).toThrow(/approvalLinks must be true or false, got "yes"/);
  });
});
