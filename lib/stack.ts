import { readFileSync } from 'node:fs';
import { Aws, CfnOutput, CfnRule, Duration, Fn, Stack, Token, type StackProps } from 'aws-cdk-lib';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type { Construct } from 'constructs';
import { ConfigError, StepwiseError } from './errors';
import { loadSpecFile } from './spec';
import { assertTimeZone, parseAwsCron } from './window';
import { MaintenanceWindowSchedule } from './workflow/maintenance-window';
import { MigrationWorkflow, type MigrationWorkflowProps } from './workflow/migration-workflow';
import { OperatorPolicy } from './workflow/operator-policy';
import { StepwiseSlackChannel } from './workflow/slack-channel';
import { StepwiseTopic } from './workflow/stepwise-topic';
import { clusterRegion, EXAMPLE, validateWorkflowProps } from './workflow/validate-props';
import { WorkflowAlarms } from './workflow/workflow-alarms';

/** The database a deployment targets: the three workflow inputs that have no default. */
export interface DatabaseTarget {
  readonly clusterArn: string;
  readonly secretArn: string;
  readonly database: string;
}

/**
 * Optional deployment inputs, as CDK context (`-c key=value`, all strings) or as props (typed). Props win.
 */
export interface DeploymentOptions {
  /** AWS Chatbot: Slack workspace id (`T...`); with `slackChannelId`, creates a SlackChannelConfiguration. */
  readonly slackWorkspaceId?: string;
  /** AWS Chatbot: Slack channel id (`C...`). */
  readonly slackChannelId?: string;
  /** Email addresses subscribed to the topic; in context a comma-separated list. */
  readonly notifyEmails?: readonly string[];
  /** EventBridge Scheduler cron of the maintenance window, e.g. `cron(0 2 ? * SAT *)`; needs `windowSpec`. */
  readonly windowSchedule?: string;
  /** IANA time zone of `windowSchedule`. @default 'UTC' */
  readonly windowTimezone?: string;
  /** Spec file the schedule starts (read and validated at synth, embedded as the execution input). */
  readonly windowSpec?: string;
  /** Flexible time window of the schedule, in minutes (1–1440). @default 15 */
  readonly windowFlexibleMinutes?: number;
  /** Reserved concurrency of the backfill function (1–1000); needs an account quota above the default 10. @default none */
  readonly backfillReservedConcurrency?: number;
  /**
   * Approval links in the approval notifications (an approval page behind a Lambda Function URL that approves or
   * rejects through Step Functions, recording the approver); in context `true` or `false`.
   * @default true when Slack is configured, false otherwise
   */
  readonly approvalLinks?: boolean;
}

/** Props of {@link StepwiseStack}: the workflow inputs; the database target and options fall back to CDK context. */
export interface StepwiseStackProps
  extends StackProps,
    Partial<DatabaseTarget>,
    DeploymentOptions,
    Omit<MigrationWorkflowProps, keyof DatabaseTarget | 'topic'> {
  /**
   * CloudWatch alarms (execution failed, timed out, backfill stalled) published to the topic.
   * @default true
   */
  readonly alarms?: boolean;
}

/** Optional CDK context keys (`-c key=value`). */
export const OPTION_KEYS: readonly (keyof DeploymentOptions)[] = [
  'slackWorkspaceId',
  'slackChannelId',
  'notifyEmails',
  'windowSchedule',
  'windowTimezone',
  'windowSpec',
  'windowFlexibleMinutes',
  'backfillReservedConcurrency',
  'approvalLinks',
];

/** The options once validated: the spec read from `windowSpec`, the schedule checked. */
export interface ResolvedOptions {
  readonly slack?: { readonly workspaceId: string; readonly channelId: string };
  readonly notifyEmails: readonly string[];
  readonly window?: { readonly schedule: string; readonly timeZone: string; readonly spec: unknown; readonly specFile: string; readonly flexibleMinutes: number };
  readonly backfillReservedConcurrency?: number;
  readonly approvalLinks: boolean;
}

const SLACK_WORKSPACE_ID = /^[0-9A-Z]{1,255}$/;
const SLACK_CHANNEL_ID = /^[A-Za-z0-9]{1,255}$/;
const EMAIL = /^[^\s@,]+@[^\s@,]+\.[^\s@,]+$/;
const OPTION_EXAMPLE =
  "-c slackWorkspaceId=T0123ABCDEF -c slackChannelId=C0123ABCDEF -c notifyEmails=dba@example.com,oncall@example.com " +
  "-c 'windowSchedule=cron(0 2 ? * SAT *)' -c windowTimezone=Europe/Berlin -c windowSpec=examples/product-price-cents.json";

/**
 * Reads and validates the optional inputs (props win over CDK context). Throws one `ConfigError` naming every
 * malformed key: both Slack ids or neither, well-formed ids and emails, a six-field cron with a valid time zone, a
 * readable and valid spec file for the window (read now, with `loadSpecFile`).
 */
export function deploymentOptionsFromContext(scope: Construct, given: DeploymentOptions = {}): ResolvedOptions {
  const read = (key: keyof DeploymentOptions): string | undefined => {
    const value: unknown = given[key] ?? scope.node.tryGetContext(key);
    if (value === undefined || value === null) return undefined;
    const text = Array.isArray(value) ? value.join(',') : String(value);
    return text.trim() === '' ? undefined : text.trim();
  };
  const problems: string[] = [];
  const workspaceId = read('slackWorkspaceId');
  const channelId = read('slackChannelId');
  if ((workspaceId === undefined) !== (channelId === undefined)) {
    problems.push('slackWorkspaceId and slackChannelId go together: give both (Slack through AWS Chatbot) or neither.');
  }
  if (workspaceId !== undefined && !SLACK_WORKSPACE_ID.test(workspaceId)) {
    problems.push(`slackWorkspaceId must be the workspace id AWS Chatbot shows (upper-case letters and digits, e.g. T0123ABCDEF), got ${JSON.stringify(workspaceId)}.`);
  }
  if (channelId !== undefined && !SLACK_CHANNEL_ID.test(channelId)) {
    problems.push(`slackChannelId must be a Slack channel id (letters and digits, e.g. C0123ABCDEF), got ${JSON.stringify(channelId)}.`);
  }
  const emails = (read('notifyEmails') ?? '').split(',').map((e) => e.trim()).filter((e) => e !== '');
  for (const email of emails) if (!EMAIL.test(email)) problems.push(`notifyEmails: ${JSON.stringify(email)} is not an email address.`);

  const schedule = read('windowSchedule');
  const timeZone = read('windowTimezone');
  const specFile = read('windowSpec');
  const flexible = read('windowFlexibleMinutes');
  let spec: unknown;
  if (schedule === undefined && (specFile !== undefined || timeZone !== undefined || flexible !== undefined)) {
    problems.push('windowSpec, windowTimezone and windowFlexibleMinutes need windowSchedule (the cron of the maintenance window).');
  }
  if (schedule !== undefined) {
    collect(problems, () => parseAwsCron(schedule));
    if (timeZone !== undefined) collect(problems, () => assertTimeZone(timeZone));
    if (specFile === undefined) problems.push('windowSchedule needs windowSpec: the spec file the schedule starts.');
    else {
      collect(problems, () => {
        loadSpecFile(specFile);
        // The execution input is the spec as written (Init wraps it); loadSpecFile proved it parses and validates.
        spec = JSON.parse(readFileSync(specFile, 'utf8'));
      });
    }
  }
  const flexibleMinutes = flexible === undefined ? 15 : Number(flexible);
  if (!(Number.isInteger(flexibleMinutes) && flexibleMinutes >= 1 && flexibleMinutes <= 1440)) {
    problems.push(`windowFlexibleMinutes must be an integer from 1 to 1440, got ${JSON.stringify(flexible)}.`);
  }

  const reserved = read('backfillReservedConcurrency');
  const backfillReservedConcurrency = reserved === undefined ? undefined : Number(reserved);
  if (backfillReservedConcurrency !== undefined && !(Number.isInteger(backfillReservedConcurrency) && backfillReservedConcurrency >= 1 && backfillReservedConcurrency <= 1000)) {
    problems.push(`backfillReservedConcurrency must be an integer from 1 to 1000, got ${JSON.stringify(reserved)}.`);
  }

  const links = read('approvalLinks');
  if (links !== undefined && links !== 'true' && links !== 'false') problems.push(`approvalLinks must be true or false, got ${JSON.stringify(links)}.`);

  if (problems.length > 0) {
    throw new ConfigError(
      `Invalid CDK context or props:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
      `Fix the keys above; every optional key at once looks like: npx cdk synth ... ${OPTION_EXAMPLE}`,
      { problems, keys: OPTION_KEYS },
    );
  }
  return {
    notifyEmails: emails,
    approvalLinks: links === undefined ? workspaceId !== undefined && channelId !== undefined : links === 'true',
    ...(backfillReservedConcurrency !== undefined ? { backfillReservedConcurrency } : {}),
    ...(workspaceId !== undefined && channelId !== undefined ? { slack: { workspaceId, channelId } } : {}),
    ...(schedule !== undefined && specFile !== undefined
      ? { window: { schedule, timeZone: timeZone ?? 'UTC', spec, specFile, flexibleMinutes } }
      : {}),
  };
}

/** Runs a check and records its error message (a `StepwiseError` with its hint) instead of throwing. */
function collect(problems: string[], check: () => void): void {
  try {
    check();
  } catch (err) {
    if (err instanceof StepwiseError) problems.push(`${err.message} (${err.hint})`);
    else throw err;
  }
}

/** CDK context keys (`-c key=value`) holding the database target. */
export const CONTEXT_KEYS: readonly (keyof DatabaseTarget)[] = ['clusterArn', 'secretArn', 'database'];

/**
 * Reads the database target from CDK context (`-c clusterArn=... -c secretArn=... -c database=...`); values in `given`
 * win. Throws one `ConfigError` naming every missing or malformed key, with an example command.
 *
 * @example
 * // npx cdk synth -c clusterArn=arn:aws:rds:us-east-1:123456789012:cluster:demo -c secretArn=... -c database=app
 * const target = stackPropsFromContext(app);
 */
export function stackPropsFromContext(scope: Construct, given: Partial<DatabaseTarget> = {}): DatabaseTarget {
  const read = (key: keyof DatabaseTarget): string | undefined => {
    const value: unknown = given[key] ?? scope.node.tryGetContext(key);
    return value === undefined || value === null ? undefined : String(value);
  };
  const target = { clusterArn: read('clusterArn'), secretArn: read('secretArn'), database: read('database') };
  const missing = CONTEXT_KEYS.filter((key) => target[key] === undefined || target[key] === '');
  const malformed = validateWorkflowProps({ ...target, region: stackRegion(scope) }).filter((problem) => !missing.some((key) => problem.startsWith(`${key} is required`)));
  if (missing.length > 0 || malformed.length > 0) {
    const example = `npx cdk synth ${CONTEXT_KEYS.map((key) => `-c ${key}=${EXAMPLE[key]}`).join(' ')}`;
    const lines = [
      ...(missing.length > 0 ? [`Missing CDK context: ${missing.map((key) => `-c ${key}=...`).join(', ')}.`] : []),
      ...malformed.map((problem) => `Invalid CDK context: ${problem}`),
      `Example: ${example}`,
    ];
    throw new ConfigError(lines.join('\n'), `Pass the database target as CDK context, for example: ${example}`, {
      missing,
      keys: CONTEXT_KEYS,
    });
  }
  return target as DatabaseTarget;
}

/** The region of the stack `scope` belongs to (a token for an environment-agnostic stack), or undefined outside a stack. */
function stackRegion(scope: Construct): string | undefined {
  const stack = scope.node.scopes.find((s): s is Stack => Stack.isStack(s));
  return stack?.region;
}

/**
 * The Stepwise deployment: an encrypted notification topic and the migration workflow, with the state machine and
 * topic ARNs as outputs (the CLI reads them).
 *
 * @example
 * new StepwiseStack(app, 'Stepwise', { clusterArn, secretArn, database: 'app' });
 */
export class StepwiseStack extends Stack {
  /** The migration workflow. */
  readonly workflow: MigrationWorkflow;
  /** The notification topic and its key. */
  readonly notifications: StepwiseTopic;
  /** The validated optional inputs. */
  readonly options: ResolvedOptions;
  /** Alarms on the workflow (absent with `alarms: false`). */
  readonly alarms?: WorkflowAlarms;
  /** The AWS Chatbot Slack channel (when both Slack ids are given). */
  readonly slack?: StepwiseSlackChannel;
  /** The maintenance-window schedule (when `windowSchedule` is given). */
  readonly window?: MaintenanceWindowSchedule;
  /** The managed policy with what the operator commands need (output `OperatorPolicyArn`). */
  readonly operatorPolicy: OperatorPolicy;

  constructor(scope: Construct, id: string, props: StepwiseStackProps = {}) {
    super(scope, id, props);
    const target = stackPropsFromContext(this, props);
    const region = clusterRegion(target.clusterArn);
    if (region !== undefined && Token.isUnresolved(this.region)) {
      // An environment-agnostic stack learns its region at deploy time: CloudFormation refuses another region then.
      new CfnRule(this, 'ClusterInStackRegion', {
        assertions: [
          {
            assert: Fn.conditionEquals(Aws.REGION, region),
            assertDescription: `The database cluster is in ${region}, and the Data API is regional: deploy this stack to ${region}.`,
          },
        ],
      });
    }
    this.options = deploymentOptionsFromContext(this, props);
    this.notifications = new StepwiseTopic(this, 'Notifications');
    this.workflow = new MigrationWorkflow(this, 'Workflow', {
      ...target,
      topic: this.notifications.topic,
      lambdaEntryDir: props.lambdaEntryDir,
      backfillMaxSeconds: props.backfillMaxSeconds,
      ...(this.options.backfillReservedConcurrency !== undefined ? { backfillReservedConcurrency: this.options.backfillReservedConcurrency } : {}),
      approvalTimeout: props.approvalTimeout,
      executionTimeout: props.executionTimeout,
      functionFactory: props.functionFactory,
      clusterSnapshot: props.clusterSnapshot,
      approvalLinks: this.options.approvalLinks,
    });
    const { topic } = this.notifications;
    const { stateMachine, phaseFunctions } = this.workflow;

    for (const email of this.options.notifyEmails) topic.addSubscription(new subscriptions.EmailSubscription(email));
    if (this.options.slack) {
      this.slack = new StepwiseSlackChannel(this, 'Slack', {
        slackWorkspaceId: this.options.slack.workspaceId,
        slackChannelId: this.options.slack.channelId,
        topic,
        stateMachine,
      });
    }
    if (this.options.window) {
      this.window = new MaintenanceWindowSchedule(this, 'MaintenanceWindow', {
        stateMachine,
        schedule: this.options.window.schedule,
        timeZone: this.options.window.timeZone,
        spec: this.options.window.spec,
        flexibleWindow: Duration.minutes(this.options.window.flexibleMinutes),
      });
    }
    if (props.alarms !== false) {
      this.alarms = new WorkflowAlarms(this, 'Alarms', {
        stateMachine,
        backfill: phaseFunctions.backfill,
        after: [phaseFunctions.verify, phaseFunctions.rollback],
        topic,
        topicKey: this.notifications.key,
      });
    }
    new CfnOutput(this, 'StateMachineArn', {
      value: this.workflow.stateMachine.stateMachineArn,
      description: 'Start a migration here (stepwise start); its input is the spec.',
    });
    this.operatorPolicy = new OperatorPolicy(this, 'Operator', { stateMachine, clusterArn: target.clusterArn, secretArn: target.secretArn });
    new CfnOutput(this, 'OperatorPolicyArn', {
      value: this.operatorPolicy.policy.managedPolicyArn,
      description: 'Attach to whoever runs migrations (people or CI/CD): start, status, follow, approve, reject, abort, pause, resume, tune.',
    });
    if (this.workflow.approvalLink) {
      new CfnOutput(this, 'ApprovalLinkUrl', {
        value: this.workflow.approvalLink.url.url,
        description: 'The approval page the approval notifications link to (with the gate\'s task token).',
      });
    }
    new CfnOutput(this, 'TopicArn', {
      value: this.notifications.topic.topicArn,
      description: 'Migration notifications and approval requests (AWS Chatbot custom format).',
    });
  }
}
