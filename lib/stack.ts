import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { ConfigError } from './errors';
import { MigrationWorkflow, type MigrationWorkflowProps } from './workflow/migration-workflow';
import { StepwiseTopic } from './workflow/stepwise-topic';
import { EXAMPLE, validateWorkflowProps } from './workflow/validate-props';

/** The database a deployment targets: the three workflow inputs that have no default. */
export interface DatabaseTarget {
  readonly clusterArn: string;
  readonly secretArn: string;
  readonly database: string;
}

/** Props of {@link StepwiseStack}: the workflow inputs; the database target falls back to CDK context. */
export interface StepwiseStackProps
  extends StackProps,
    Partial<DatabaseTarget>,
    Omit<MigrationWorkflowProps, keyof DatabaseTarget | 'topic'> {}

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
  const malformed = validateWorkflowProps(target).filter((problem) => !missing.some((key) => problem.startsWith(`${key} is required`)));
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

  constructor(scope: Construct, id: string, props: StepwiseStackProps = {}) {
    super(scope, id, props);
    const target = stackPropsFromContext(this, props);
    this.notifications = new StepwiseTopic(this, 'Notifications');
    this.workflow = new MigrationWorkflow(this, 'Workflow', {
      ...target,
      topic: this.notifications.topic,
      lambdaEntryDir: props.lambdaEntryDir,
      backfillMaxSeconds: props.backfillMaxSeconds,
      approvalTimeout: props.approvalTimeout,
      executionTimeout: props.executionTimeout,
      functionFactory: props.functionFactory,
    });
    new CfnOutput(this, 'StateMachineArn', {
      value: this.workflow.stateMachine.stateMachineArn,
      description: 'Start a migration here (stepwise start); its input is the spec.',
    });
    new CfnOutput(this, 'TopicArn', {
      value: this.notifications.topic.topicArn,
      description: 'Migration notifications and approval requests (AWS Chatbot custom format).',
    });
  }
}
