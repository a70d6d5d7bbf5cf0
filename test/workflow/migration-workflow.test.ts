import { App, Duration } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { Phase } from '../../lib/constants';
import { StepwiseStack } from '../../lib/stack';
import { PHASES_WITHOUT_DATABASE } from '../../lib/workflow/phase-function';
import { GATE_REMINDER_STATES } from '../../lib/workflow/state-names';
import { MigrationWorkflow, StateName, synthesizeDefinition } from '../../lib/workflow';

const CLUSTER = 'arn:aws:rds:us-east-1:123456789012:cluster:demo';
const SECRET = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:demo-AbCdEf';

type Statement = { Action: string | string[]; Resource: unknown; Effect: string };
type AslState = { Type: string; Next?: string; Default?: string; Comment?: string; TimeoutSeconds?: number;
  Choices?: { Next: string }[]; Catch?: { ErrorEquals: string[]; Next: string }[] };

function buildStack(): { app: App; stack: StepwiseStack; template: Template } {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new StepwiseStack(app, 'Stepwise', { clusterArn: CLUSTER, secretArn: SECRET, database: 'app' });
  return { app, stack, template: Template.fromStack(stack) };
}

describe('MigrationWorkflow', () => {
  const { app, stack, template } = buildStack();
  const { definition } = synthesizeDefinition();
  const states = definition['States'] as Record<string, AslState>;

  describe('phase functions', () => {
    it('creates one Node 22+ ARM64 traced function per phase', () => {
      template.resourceCountIs('AWS::Lambda::Function', Object.values(Phase).length);
      const functions = template.findResources('AWS::Lambda::Function');
      for (const fn of Object.values(functions)) {
        expect(fn.Properties.Runtime).toMatch(/^nodejs(2[2-9]|[3-9]\d)\.x$/);
        expect(fn.Properties.Architectures).toEqual(['arm64']);
        expect(fn.Properties.TracingConfig).toEqual({ Mode: 'Active' });
        expect(fn.Properties.MemorySize).toBe(256);
        expect(fn.Properties.Environment.Variables).toMatchObject({
          STEPWISE_CLUSTER_ARN: CLUSTER, STEPWISE_SECRET_ARN: SECRET, STEPWISE_DATABASE: 'app', POWERTOOLS_SERVICE_NAME: 'stepwise',
        });
      }
      const phases = Object.values(functions).map((fn) => fn.Properties.Environment.Variables.STEPWISE_PHASE).sort();
      expect(phases).toEqual(['backfill', 'backup', 'constrain', 'contract', 'expand', 'preflight', 'rollback', 'verify', 'window']);
    });

    it('gives backfill its time box plus 30 s and every other phase 120 s (a 45 s Data API call and watching it)', () => {
      template.hasResourceProperties('AWS::Lambda::Function', {
        Timeout: 70, Environment: { Variables: Match.objectLike({ STEPWISE_PHASE: 'backfill' }) },
      });
      template.hasResourceProperties('AWS::Lambda::Function', {
        Timeout: 120, Environment: { Variables: Match.objectLike({ STEPWISE_PHASE: 'expand' }) },
      });
    });

    it('keeps each function log for one month and attaches no managed policy', () => {
      template.resourcePropertiesCountIs('AWS::Logs::LogGroup', { RetentionInDays: 30 }, Object.values(Phase).length);
      for (const role of Object.values(template.findResources('AWS::IAM::Role'))) {
        expect(role.Properties.ManagedPolicyArns).toBeUndefined();
      }
    });
  });

  describe('IAM', () => {
    const statements = Object.values(template.findResources('AWS::IAM::Policy')).flatMap(
      (policy) => policy.Properties.PolicyDocument.Statement as Statement[],
    );
    const actionsOf = (s: Statement): string[] => (Array.isArray(s.Action) ? s.Action : [s.Action]);
    const resourcesOf = (s: Statement): unknown[] => (Array.isArray(s.Resource) ? s.Resource : [s.Resource]);

    it('scopes the Data API to the cluster ARN and the secret to its ARN', () => {
      const dataApi = statements.filter((s) => actionsOf(s).some((a) => a.startsWith('rds-data:')));
      const secret = statements.filter((s) => actionsOf(s).some((a) => a.startsWith('secretsmanager:')));
      expect(dataApi).toHaveLength(Object.values(Phase).length - PHASES_WITHOUT_DATABASE.length);
      expect(secret).toHaveLength(Object.values(Phase).length - PHASES_WITHOUT_DATABASE.length);
      for (const s of dataApi) expect(s.Resource).toBe(CLUSTER);
      for (const s of secret) expect(s.Resource).toBe(SECRET);
      expect(new Set(dataApi.flatMap(actionsOf))).toEqual(new Set([
        'rds-data:ExecuteStatement', 'rds-data:BatchExecuteStatement', 'rds-data:BeginTransaction',
        'rds-data:CommitTransaction', 'rds-data:RollbackTransaction',
      ]));
    });

    it('scopes sns:Publish to the topic and KMS to its key', () => {
      const [topicId] = Object.keys(template.findResources('AWS::SNS::Topic'));
      const [keyId] = Object.keys(template.findResources('AWS::KMS::Key'));
      const publish = statements.filter((s) => actionsOf(s).includes('sns:Publish'));
      expect(publish.map((s) => s.Resource)).toEqual([{ Ref: topicId }]);
      const kms = statements.filter((s) => actionsOf(s).some((a) => a.startsWith('kms:')));
      expect(kms.map((s) => s.Resource)).toEqual([{ 'Fn::GetAtt': [keyId, 'Arn'] }]);
    });

    it("uses '*' only for X-Ray and Step Functions log delivery", () => {
      const wildcard = statements.filter((s) => resourcesOf(s).includes('*'));
      for (const action of wildcard.flatMap(actionsOf)) {
        expect(action).toMatch(/^(xray:|logs:(Create|Get|Update|Delete|List)LogDeliver|logs:(PutResourcePolicy|DescribeResourcePolicies|DescribeLogGroups)$)/);
      }
    });
  });

  describe('topic and state machine', () => {
    it('encrypts the topic with a rotated key and denies non-TLS access', () => {
      template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
      template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
      template.hasResourceProperties('AWS::SNS::TopicPolicy', {
        PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
      });
    });

    it('logs everything except execution data to a vended log group and traces with X-Ray', () => {
      template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
        StateMachineType: 'STANDARD',
        TracingConfiguration: { Enabled: true },
        LoggingConfiguration: Match.objectLike({ Level: 'ALL', IncludeExecutionData: false }),
      });
      template.hasResourceProperties('AWS::Logs::LogGroup', { LogGroupName: Match.stringLikeRegexp('^/aws/vendedlogs/states/') });
    });

    it('outputs the state machine and topic ARNs', () => {
      template.hasOutput('StateMachineArn', {});
      template.hasOutput('TopicArn', {});
    });

    it('passes cdk-nag AwsSolutions with only justified acknowledgements', () => {
      const report = new AwsSolutionsChecks().validateScope(app);
      const violations = report.violations.map((v) => `${v.ruleName} at ${v.violatingResources.map((r) => r.constructPath).join(', ')}`);
      expect(violations).toEqual([]);
      expect(stack.stackName).toBe('Stepwise');
    });
  });

  describe('definition', () => {
    it('has every state the workflow promises, and only those (the Map state\'s included)', () => {
      const rangeStates = (states[StateName.BackfillRanges] as unknown as { ItemProcessor: { States: Record<string, unknown> } }).ItemProcessor.States;
      expect([...Object.keys(states), ...Object.keys(rangeStates)].sort()).toEqual([...Object.values(StateName), ...GATE_REMINDER_STATES].sort());
    });

    it('backfills key ranges in a Map state when spec.backfill.parallelism > 1, one loop per range', () => {
      expect(states[StateName.BackfillMode]).toMatchObject({
        Type: 'Choice',
        Choices: [{ And: [{ Variable: '$.spec.backfill.parallelism', IsPresent: true }, { Variable: '$.spec.backfill.parallelism', NumericGreaterThan: 1 }], Next: StateName.SplitKeyRanges }],
        Default: StateName.Backfill,
      });
      expect(states[StateName.SplitKeyRanges]).toMatchObject({ Next: StateName.BackfillRanges, ResultPath: '$.backfillRanges', Parameters: { action: 'split-ranges' } });
      const map = states[StateName.BackfillRanges] as unknown as Record<string, unknown> & { ItemProcessor: { StartAt: string; States: Record<string, AslState> } };
      expect(map).toMatchObject({
        Type: 'Map',
        ItemsPath: '$.backfillRanges.ranges',
        ItemSelector: { 'spec.$': '$.spec', 'range.$': '$$.Map.Item.Value.range' },
        MaxConcurrency: 16,
        ResultPath: null,
        Next: StateName.SummarizeBackfill,
        Catch: [{ ErrorEquals: ['States.ALL'], Next: StateName.NotifyFailed }],
      });
      expect(map.ItemProcessor.StartAt).toBe(StateName.BackfillRange);
      expect(map.ItemProcessor.States[StateName.BackfillRangeDone]!.Default).toBe(StateName.BackfillRangeWait);
      expect(states[StateName.SummarizeBackfill]).toMatchObject({ Next: StateName.BackfillRangesDone, ResultPath: '$.backfill', Parameters: { action: 'summarize' } });
      expect(states[StateName.BackfillRangesDone]!.Choices!.map((c) => c.Next)).toEqual([StateName.ContinueAsNew, StateName.NotifyBackfillComplete]);
      expect(states[StateName.BackfillRangesDone]!.Default).toBe(StateName.NotifyBackfilled);
    });

    it('starts at IsContinuation, which sends a spec to Init and a continued execution back into the loop that handed over', () => {
      expect(definition['StartAt']).toBe(StateName.IsContinuation);
      expect(states[StateName.IsContinuation]).toMatchObject({
        Type: 'Choice',
        Choices: [{ Variable: '$.stepwiseContinuation', IsPresent: true, Next: StateName.ResumeContinuation }],
        Default: StateName.Init,
      });
      expect(states[StateName.ResumeContinuation]).toMatchObject({ Type: 'Pass', InputPath: '$.stepwiseContinuation.state', Next: StateName.ResumeAt });
      // The later verification first: an earlier loop's continueAsNew may still be in the carried state.
      expect(states[StateName.ResumeAt]!.Choices!.map((c) => c.Next)).toEqual([StateName.VerifyBeforeContract, StateName.VerifyAfterSoak, StateName.Verify]);
      expect(states[StateName.ResumeAt]!.Default).toBe(StateName.BackfillMode);
    });

    it('continues as new from each verification loop, under the name its result chose, into the shared end states', () => {
      for (const [done, start, slot] of [
        [StateName.VerifyDone, StateName.ContinueVerifyAsNew, 'verify'],
        [StateName.VerifyAfterSoakDone, StateName.ContinueVerifyAfterSoakAsNew, 'verifyAfterSoak'],
        [StateName.VerifyBeforeContractDone, StateName.ContinueVerifyBeforeContractAsNew, 'verifyBeforeContract'],
      ] as const) {
        expect(states[done]!.Choices!.map((c) => c.Next)).toContain(start);
        expect(states[start]).toMatchObject({
          Resource: 'arn:aws:states:::states:startExecution',
          Parameters: { 'StateMachineArn.$': '$$.StateMachine.Id', 'Name.$': `$.${slot}.continuation.name` },
          ResultPath: '$.continuedAs',
          Catch: [{ ErrorEquals: ['States.ALL'], Next: StateName.NotifyContinueAsNewFailed }],
        });
      }
      expect(states[StateName.NotifyVerifyContinuedAsNew]!.Next).toBe(StateName.ContinuedAsNew);
      expect(states[StateName.NotifyVerifyAfterSoakContinuedAsNew]!.Next).toBe(StateName.ContinuedAsNew);
    });

    it('continues as new from the backfill loop: starts this state machine again with the whole state', () => {
      expect(states[StateName.BackfillDone]!.Choices!.map((c) => c.Next)).toContain(StateName.ContinueAsNew);
      expect(states[StateName.ContinueAsNew]).toMatchObject({
        Type: 'Task',
        Resource: 'arn:aws:states:::states:startExecution',
        Parameters: {
          'StateMachineArn.$': '$$.StateMachine.Id',
          'Name.$': '$.backfill.continuation.name',
          Input: { stepwiseContinuation: { 'state.$': '$' }, 'AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID.$': '$$.Execution.Id' },
        },
        ResultPath: '$.continuedAs',
        Next: StateName.NotifyContinuedAsNew,
      });
      expect(states[StateName.ContinuedAsNew]).toMatchObject({ Type: 'Succeed' });
      // The state machine may start only itself.
      template.hasResourceProperties('AWS::IAM::Policy', {
        PolicyDocument: { Statement: [{ Action: 'states:StartExecution', Effect: 'Allow', Resource: { Ref: Match.stringLikeRegexp('StateMachine') } }] },
      });
    });

    it('wraps the spec at Init and uses JSONPath only', () => {
      expect(states[StateName.Init]).toMatchObject({ Type: 'Pass', Parameters: {
        'spec.$': '$',
        snapshot: { 'id.$': "States.Format('stepwise-{}', States.Hash($$.Execution.Id, 'SHA-1'))", status: 'not-taken' },
        snapshotPolls: { count: 0 },
      } });
      expect(JSON.stringify(definition)).not.toContain('JSONata');
      expect(definition['TimeoutSeconds']).toBe(Duration.days(90).toSeconds());
    });

    it('retries a phase whose long statement still runs, patiently with a growing pause, only in phase tasks that run one', () => {
      const retriers = (name: string) => (states[name] as unknown as { Retry?: { ErrorEquals: string[] }[] }).Retry ?? [];
      for (const name of [StateName.Backup, StateName.Expand, StateName.Constrain, StateName.Contract, StateName.Rollback]) {
        expect([name, retriers(name).find((r) => r.ErrorEquals.includes('StatementRunningError'))]).toEqual([
          name,
          { ErrorEquals: ['StatementRunningError'], MaxAttempts: 270, IntervalSeconds: 30, BackoffRate: 1.5, MaxDelaySeconds: 600 },
        ]);
      }
      // Loops stay cheap in history: their tasks never wait for a long statement.
      for (const name of [StateName.Preflight, StateName.Backfill, StateName.Verify, StateName.VerifyAfterSoak, StateName.WindowForConstrain]) {
        expect([name, retriers(name).some((r) => r.ErrorEquals.includes('StatementRunningError'))]).toEqual([name, false]);
      }
    });

    it('retries Lambda.Unknown and Lambda.TooManyRequestsException on every phase task (all are idempotent)', () => {
      const phaseTasks = Object.entries(states).filter(([, s]) => s.Type === 'Task' && /:function:/.test(String((s as { Resource?: unknown }).Resource)));
      expect(phaseTasks.length).toBeGreaterThanOrEqual(12);
      for (const [name, state] of phaseTasks) {
        const retry = ((state as unknown as { Retry?: { ErrorEquals: string[] }[] }).Retry ?? []).find((r) => r.ErrorEquals.includes('Lambda.Unknown'));
        expect([name, retry]).toEqual([name, { ErrorEquals: ['Lambda.Unknown', 'Lambda.TooManyRequestsException'], MaxAttempts: 4, IntervalSeconds: 5, BackoffRate: 3, JitterStrategy: 'FULL' }]);
      }
    });

    it('comments every state and times out every task', () => {
      for (const [name, state] of Object.entries(states)) {
        expect([name, typeof state.Comment]).toEqual([name, 'string']);
        if (state.Type === 'Task') expect([name, typeof state.TimeoutSeconds]).toEqual([name, 'number']);
      }
    });

    it('catches failures from ApproveStart through ApproveContract into NotifyFailed, and not contract', () => {
      const guarded = [StateName.ApproveStart, StateName.Backup, StateName.CreateSnapshot, StateName.DescribeSnapshot, StateName.Expand, StateName.ConfirmDualWriteDeployed, StateName.Backfill,
        StateName.Verify, StateName.Constrain, StateName.ConfirmReadFromNewDeployed, StateName.VerifyAfterSoak, StateName.ApproveContract];
      for (const name of guarded) expect([name, states[name]?.Catch?.at(-1)?.Next]).toEqual([name, StateName.NotifyFailed]);
      expect(states[StateName.CreateSnapshot]?.Catch?.[0]).toMatchObject({ ErrorEquals: ['Rds.DbClusterSnapshotAlreadyExistsException'], Next: StateName.SnapshotWait });
      expect(states[StateName.SnapshotFailed]?.Next).toBe(StateName.NotifyFailed);
      expect(states[StateName.Preflight]?.Catch?.[0]?.Next).toBe(StateName.NotifyPreflightFailed);
      expect(states[StateName.Contract]?.Catch?.[0]?.Next).toBe(StateName.NotifyContractFailed);
      expect(states[StateName.Rollback]?.Catch?.[0]?.Next).toBe(StateName.NotifyRollbackFailed);
    });

    it('renders the same flow as the committed snapshot', () => {
      const edges = Object.fromEntries(Object.entries(states).map(([name, s]) => [name, {
        type: s.Type,
        next: s.Next ?? null,
        choices: s.Choices?.map((c) => c.Next),
        default: s.Default,
        catch: s.Catch?.map((c) => `${c.ErrorEquals.join('|')} -> ${c.Next}`),
      }]));
      expect(edges).toMatchSnapshot();
    });
  });

  describe('props', () => {
    it('reports every invalid prop in one error', () => {
      const stack2 = new StepwiseStack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'Ok', { clusterArn: CLUSTER, secretArn: SECRET, database: 'app' });
      const build = () => new MigrationWorkflow(stack2, 'Bad', {
        clusterArn: 'arn:aws:rds:us-east-1:123456789012:db:demo',
        secretArn: 'my-secret',
        database: 'app; drop',
        backfillMaxSeconds: 0,
        approvalTimeout: Duration.days(10),
        executionTimeout: Duration.days(30),
      });
      expect(build).toThrow(/clusterArn must be an Aurora cluster ARN[\s\S]*secretArn[\s\S]*database[\s\S]*backfillMaxSeconds[\s\S]*executionTimeout/);
    });
  });
});
