import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ConfigError } from '../../lib/errors';
import { deploymentOptionsFromContext, StepwiseStack, type StepwiseStackProps } from '../../lib/stack';
import { StateName, synthesizeDefinition } from '../../lib/workflow';
import runbook from '../../examples/product-price-cents.json';

const CLUSTER = 'arn:aws:rds:us-east-1:123456789012:cluster:demo';
const SECRET = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:demo-AbCdEf';
const SNAPSHOTS = 'arn:aws:rds:us-east-1:123456789012:cluster-snapshot:stepwise-*';
const SPEC_FILE = path.join(__dirname, '..', '..', 'examples', 'product-price-cents.json');

type Statement = { Sid?: string; Action: string | string[]; Resource: unknown; Effect: string; Principal?: unknown; Condition?: unknown };
const list = <T>(v: T | T[]): T[] => (Array.isArray(v) ? v : [v]);

function build(context: Record<string, unknown> = {}, props: Partial<StepwiseStackProps> = {}) {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [], ...context }, builtinCloudFormationValidation: false });
  const stack = new StepwiseStack(app, 'Stepwise', { clusterArn: CLUSTER, secretArn: SECRET, database: 'app', ...props });
  return { app, stack, template: Template.fromStack(stack) };
}

function statementsOf(template: Template, type = 'AWS::IAM::Policy'): Statement[] {
  return Object.values(template.findResources(type)).flatMap((r) => r.Properties.PolicyDocument.Statement as Statement[]);
}

function nagViolations(app: App): string[] {
  return new AwsSolutionsChecks().validateScope(app).violations.map((v) => `${v.ruleName} at ${v.violatingResources.map((r) => r.constructPath).join(', ')}`);
}

const FULL = {
  slackWorkspaceId: 'T0123ABCDEF',
  slackChannelId: 'C0123ABCDEF',
  notifyEmails: 'dba@example.com, oncall@example.com',
  windowSchedule: 'cron(0 2 ? * SAT *)',
  windowTimezone: 'Europe/Berlin',
  windowSpec: SPEC_FILE,
};

describe('cluster snapshot', () => {
  const { template } = build();
  const statements = statementsOf(template);

  it('creates and polls the snapshot through the aws-sdk:rds integration', () => {
    const { definition } = synthesizeDefinition();
    const states = definition['States'] as Record<string, { Type: string; Resource?: string; Parameters?: Record<string, unknown>; ResultSelector?: unknown; Next?: string; Seconds?: number }>;
    expect(states[StateName.Backup]?.Next).toBe(StateName.CreateSnapshot);
    expect(states[StateName.CreateSnapshot]).toMatchObject({
      Resource: 'arn:aws:states:::aws-sdk:rds:createDBClusterSnapshot',
      Parameters: { DbClusterIdentifier: 'stepwise-local', 'DbClusterSnapshotIdentifier.$': '$.snapshot.id' },
      ResultSelector: { 'id.$': '$.DbClusterSnapshot.DbClusterSnapshotIdentifier', 'status.$': '$.DbClusterSnapshot.Status' },
      Next: StateName.SnapshotReady,
    });
    expect(states[StateName.DescribeSnapshot]).toMatchObject({
      Resource: 'arn:aws:states:::aws-sdk:rds:describeDBClusterSnapshots',
      ResultSelector: { 'status.$': '$.DbClusterSnapshots[0].Status' },
    });
    expect(states[StateName.SnapshotWait]).toMatchObject({ Type: 'Wait', Seconds: 180, Next: StateName.CountSnapshotPoll });
    const ready = states[StateName.SnapshotReady] as unknown as { Default: string; Choices: { Next: string }[] };
    expect(ready.Default).toBe(StateName.Expand);
    expect(ready.Choices.map((c) => c.Next)).toEqual([StateName.SnapshotWait, StateName.SnapshotFailed]);
  });

  it('scopes the snapshot actions to the cluster and the stepwise- snapshots', () => {
    const rds = statements.filter((s) => list(s.Action).some((a) => a.startsWith('rds:')));
    const byAction = Object.fromEntries(rds.flatMap((s) => list(s.Action).map((a) => [a, list(s.Resource)])));
    expect(byAction).toEqual({
      'rds:CreateDBClusterSnapshot': [CLUSTER, SNAPSHOTS],
      'rds:AddTagsToResource': [SNAPSHOTS],
      'rds:DescribeDBClusterSnapshots': [CLUSTER, SNAPSHOTS],
    });
  });

  it('can be turned off', () => {
    const { definition } = synthesizeDefinition({ context: {} });
    expect(Object.keys(definition['States'] as object)).toContain(StateName.CreateSnapshot);
    const off = build({}, { clusterSnapshot: false });
    expect(statementsOf(off.template).some((s) => list(s.Action).some((a) => a.startsWith('rds:')))).toBe(false);
  });
});

describe('alarms', () => {
  const { template } = build();
  const [topicId] = Object.keys(template.findResources('AWS::SNS::Topic'));

  it('alarms on failed and timed-out executions, publishing ALARM and OK to the topic', () => {
    for (const metric of ['ExecutionsFailed', 'ExecutionsTimedOut']) {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'AWS/States', MetricName: metric, Statistic: 'Sum', Period: 300, Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold', TreatMissingData: 'notBreaching',
        AlarmActions: [{ Ref: topicId }], OKActions: [{ Ref: topicId }],
      });
    }
  });

  it('composes the backfill stall from recent activity, 15 minutes of silence and no progress past the loop', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'Invocations', Namespace: 'AWS/Lambda', EvaluationPeriods: 3, DatapointsToAlarm: 3,
      ComparisonOperator: 'LessThanThreshold', TreatMissingData: 'breaching',
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'Invocations', EvaluationPeriods: 12, DatapointsToAlarm: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
    const composite = Object.values(template.findResources('AWS::CloudWatch::CompositeAlarm'));
    expect(composite).toHaveLength(1);
    expect(composite[0]?.Properties.AlarmActions).toEqual([{ Ref: topicId }]);
    const rule = JSON.stringify(composite[0]?.Properties.AlarmRule);
    expect(rule).toMatch(/ALARM\(.*BackfillRecentlyActive.*\) AND ALARM\(.*BackfillSilent.*\) AND \(NOT \(ALARM\(.*BackfillMovedOn/);
  });

  it('lets CloudWatch (this account only) publish to the encrypted topic', () => {
    const topicPolicy = statementsOf(template, 'AWS::SNS::TopicPolicy');
    expect(topicPolicy).toContainEqual(expect.objectContaining({
      Sid: 'AllowCloudWatchAlarmsToPublish', Effect: 'Allow', Action: 'sns:Publish',
      Principal: { Service: 'cloudwatch.amazonaws.com' }, Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
    }));
    const keyPolicy = Object.values(template.findResources('AWS::KMS::Key'))[0]?.Properties.KeyPolicy.Statement as Statement[];
    expect(keyPolicy).toContainEqual(expect.objectContaining({ Sid: 'AllowCloudWatchAlarmsToPublish', Principal: { Service: 'cloudwatch.amazonaws.com' } }));
  });
});

describe('Slack, email and the maintenance window', () => {
  const { app, template } = build(FULL);

  it('creates the Chatbot Slack channel on the topic with a read-only guardrail and role', () => {
    const [topicId] = Object.keys(template.findResources('AWS::SNS::Topic'));
    template.hasResourceProperties('AWS::Chatbot::SlackChannelConfiguration', {
      SlackWorkspaceId: 'T0123ABCDEF', SlackChannelId: 'C0123ABCDEF', SnsTopicArns: [{ Ref: topicId }],
      GuardrailPolicies: [Match.objectLike({ Ref: Match.stringLikeRegexp('Guardrail') })], UserRoleRequired: false,
    });
    const guardrail = Object.values(template.findResources('AWS::IAM::ManagedPolicy'))[0]?.Properties.PolicyDocument.Statement as Statement[];
    expect(guardrail.flatMap((s) => list(s.Action)).sort()).toEqual(['states:DescribeExecution', 'states:DescribeStateMachine', 'states:GetExecutionHistory', 'states:ListExecutions']);
    for (const s of guardrail) expect(list(s.Resource)).not.toContain('*');
    const role = Object.values(template.findResources('AWS::IAM::Role')).find((r) => JSON.stringify(r.Properties.AssumeRolePolicyDocument).includes('chatbot.amazonaws.com'));
    expect(role?.Properties.ManagedPolicyArns).toBeUndefined();
    expect(role?.Properties.Policies[0].PolicyDocument.Statement).toEqual(guardrail);
  });

  it('subscribes each email', () => {
    template.resourceCountIs('AWS::SNS::Subscription', 2);
    template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'oncall@example.com' });
  });

  it('starts the state machine from EventBridge Scheduler with the spec, in the time zone, with a flexible window', () => {
    const [machineId] = Object.keys(template.findResources('AWS::StepFunctions::StateMachine'));
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'cron(0 2 ? * SAT *)',
      ScheduleExpressionTimezone: 'Europe/Berlin',
      FlexibleTimeWindow: { Mode: 'FLEXIBLE', MaximumWindowInMinutes: 15 },
      Target: Match.objectLike({ Arn: { Ref: machineId }, Input: JSON.stringify(runbook) }),
    });
    const schedulerRole = Object.entries(template.findResources('AWS::IAM::Role')).find(([, r]) => JSON.stringify(r.Properties.AssumeRolePolicyDocument).includes('scheduler.amazonaws.com'));
    const policies = Object.values(template.findResources('AWS::IAM::Policy')).filter((p) => JSON.stringify(p.Properties.Roles).includes(schedulerRole![0]));
    const actions = policies.flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[]);
    expect(actions).toEqual([expect.objectContaining({ Action: 'states:StartExecution', Resource: { Ref: machineId } })]);
  });

  it('passes cdk-nag AwsSolutions with every option on', () => {
    expect(nagViolations(app)).toEqual([]);
  });
});

describe('deploymentOptionsFromContext', () => {
  const app = (context: Record<string, unknown>) => new App({ context });

  it('is empty without options', () => {
    expect(deploymentOptionsFromContext(app({}))).toEqual({ notifyEmails: [], approvalLinks: false });
  });

  it('reads every option and the spec the window starts', () => {
    const options = deploymentOptionsFromContext(app(FULL));
    expect(options.slack).toEqual({ workspaceId: 'T0123ABCDEF', channelId: 'C0123ABCDEF' });
    expect(options.notifyEmails).toEqual(['dba@example.com', 'oncall@example.com']);
    expect(options.window).toMatchObject({ schedule: 'cron(0 2 ? * SAT *)', timeZone: 'Europe/Berlin', flexibleMinutes: 15, spec: runbook });
  });

  it('reports every malformed option at once, with a hint', () => {
    const act = () => deploymentOptionsFromContext(app({
      slackWorkspaceId: 't-lower', notifyEmails: 'dba@example.com,not-an-email', windowSchedule: '0 2 * * SAT', windowTimezone: 'Mars/Olympus',
    }));
    expect(act).toThrow(ConfigError);
    expect(act).toThrow(/slackWorkspaceId and slackChannelId go together/);
    expect(act).toThrow(/slackWorkspaceId must be/);
    expect(act).toThrow(/"not-an-email" is not an email address/);
    expect(act).toThrow(/windowSchedule must be an EventBridge Scheduler cron expression/);
    expect(act).toThrow(/windowTimezone "Mars\/Olympus" is not an IANA time zone/);
    expect(act).toThrow(/windowSchedule needs windowSpec/);
    try { act(); } catch (err) { expect((err as ConfigError).hint).toMatch(/windowSchedule=cron\(0 2 \? \* SAT \*\)/); }
  });

  it('validates the window spec file at synth', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stepwise-spec-'));
    const bad = path.join(dir, 'bad.json');
    fs.writeFileSync(bad, JSON.stringify({ ...runbook, name: 'Not Valid' }));
    expect(() => deploymentOptionsFromContext(app({ windowSchedule: 'cron(0 2 ? * SAT *)', windowSpec: bad }))).toThrow(/\$\.name: must be 1–63 characters/);
    expect(() => deploymentOptionsFromContext(app({ windowSchedule: 'cron(0 2 ? * SAT *)', windowSpec: path.join(dir, 'missing.json') }))).toThrow(/cannot read spec file/);
    expect(() => deploymentOptionsFromContext(app({ windowSpec: SPEC_FILE }))).toThrow(/need windowSchedule/);
    expect(() => deploymentOptionsFromContext(app({ windowSchedule: 'cron(0 2 * * SAT *)', windowSpec: SPEC_FILE }))).toThrow(/exactly one of day-of-month and day-of-week must be "\?"/);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('lets props win over context', () => {
    const options = deploymentOptionsFromContext(app({ notifyEmails: 'not-an-email' }), { notifyEmails: ['ok@example.com'] });
    expect(options.notifyEmails).toEqual(['ok@example.com']);
  });
});
