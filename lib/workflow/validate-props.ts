import { Duration, Token } from 'aws-cdk-lib';
import { DEFAULT_APPROVAL_REMINDER, DEFAULT_APPROVAL_TIMEOUT, MAX_EXECUTION_TIMEOUT, MAX_GATES_PER_EXECUTION, MAX_REMINDERS_PER_GATE } from './defaults';

/** Aurora cluster ARN: `arn:aws[-partition]:rds:<region>:<account>:cluster:<cluster-id>`. */
export const CLUSTER_ARN_PATTERN = /^arn:aws[a-z-]*:rds:[a-z]{2}(-[a-z]+)+-\d:\d{12}:cluster:[A-Za-z][A-Za-z0-9-]{0,62}$/;
/** Secrets Manager secret ARN: `arn:aws[-partition]:secretsmanager:<region>:<account>:secret:<name>`. */
export const SECRET_ARN_PATTERN = /^arn:aws[a-z-]*:secretsmanager:[a-z]{2}(-[a-z]+)+-\d:\d{12}:secret:[A-Za-z0-9/_+=.@-]+$/;
/** Database name as the Data API takes it: a Postgres identifier of at most 63 bytes, no quoting needed. */
export const DATABASE_PATTERN = /^[A-Za-z_][A-Za-z0-9_$-]{0,62}$/;

/** Example values, quoted in error messages. */
export const EXAMPLE = {
  clusterArn: 'arn:aws:rds:us-east-1:123456789012:cluster:my-cluster',
  secretArn: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:my-db-secret-AbCdEf',
  database: 'app',
} as const;

/** The props {@link validateWorkflowProps} checks (a subset of `MigrationWorkflowProps`). */
export interface ValidatedProps {
  readonly clusterArn?: string;
  readonly secretArn?: string;
  readonly database?: string;
  readonly backfillMaxSeconds?: number;
  readonly approvalTimeout?: Duration;
  readonly approvalReminderAfter?: Duration;
  readonly executionTimeout?: Duration;
  /** Region the stack deploys to (`Stack.of(scope).region`); an unresolved token is checked at deploy time instead. */
  readonly region?: string;
}

/**
 * Returns every problem with the props, one sentence each (empty when valid). Values that are unresolved CDK tokens
 * (an ARN from another construct) are accepted as they are: they can only be checked at deploy time.
 */
export function validateWorkflowProps(props: ValidatedProps): string[] {
  const problems: string[] = [];
  checkString(problems, 'clusterArn', props.clusterArn, CLUSTER_ARN_PATTERN, 'an Aurora cluster ARN');
  checkString(problems, 'secretArn', props.secretArn, SECRET_ARN_PATTERN, 'a Secrets Manager secret ARN');
  checkString(problems, 'database', props.database, DATABASE_PATTERN, 'a database name (letters, digits, _ $ -; at most 63)');
  const regionProblem = clusterRegionProblem(props.clusterArn, props.region);
  if (regionProblem) problems.push(regionProblem);

  const { backfillMaxSeconds, approvalTimeout, executionTimeout } = props;
  if (backfillMaxSeconds !== undefined && !(Number.isInteger(backfillMaxSeconds) && backfillMaxSeconds >= 1 && backfillMaxSeconds <= 840)) {
    problems.push(`backfillMaxSeconds must be an integer from 1 to 840 (the Lambda limit of 900 s minus 60 s headroom), got ${backfillMaxSeconds}.`);
  }
  if (approvalTimeout !== undefined && !approvalTimeout.isUnresolved() && approvalTimeout.toSeconds() < 60) {
    problems.push(`approvalTimeout must be at least 1 minute, got ${approvalTimeout.toHumanString()}.`);
  }
  problems.push(...reminderProblems(approvalTimeout ?? DEFAULT_APPROVAL_TIMEOUT, props.approvalReminderAfter ?? DEFAULT_APPROVAL_REMINDER));
  if (executionTimeout !== undefined && !executionTimeout.isUnresolved()) {
    if (executionTimeout.toSeconds() > MAX_EXECUTION_TIMEOUT.toSeconds()) {
      problems.push(`executionTimeout must be at most 365 days (Standard workflow limit), got ${executionTimeout.toHumanString()}.`);
    }
    const gates = (approvalTimeout?.toSeconds() ?? 0) * MAX_GATES_PER_EXECUTION;
    if (approvalTimeout !== undefined && executionTimeout.toSeconds() <= gates) {
      problems.push(
        `executionTimeout (${executionTimeout.toHumanString()}) must exceed ${MAX_GATES_PER_EXECUTION} x approvalTimeout ` +
          `(${approvalTimeout.toHumanString()}) plus the soak: an execution timeout skips rollback and notification.`,
      );
    }
  }
  return problems;
}

/**
 * Each unanswered gate publishes a reminder every `approvalReminderAfter` until `approvalTimeout`: every reminder
 * costs history events, so their number per gate is bounded (the history budget, docs/ARCHITECTURE.md).
 */
function reminderProblems(approvalTimeout: Duration, reminderAfter: Duration): string[] {
  if (approvalTimeout.isUnresolved() || reminderAfter.isUnresolved()) return [];
  if (reminderAfter.toSeconds() < 1) return [`approvalReminderAfter must be at least 1 second, got ${reminderAfter.toHumanString()}.`];
  const reminders = Math.ceil(approvalTimeout.toSeconds() / Math.min(reminderAfter.toSeconds(), approvalTimeout.toSeconds()));
  if (reminders <= MAX_REMINDERS_PER_GATE) return [];
  const shortest = Duration.seconds(Math.ceil(approvalTimeout.toSeconds() / MAX_REMINDERS_PER_GATE));
  return [
    `approvalReminderAfter (${reminderAfter.toHumanString()}) makes each gate publish ${reminders} reminders within approvalTimeout ` +
      `(${approvalTimeout.toHumanString()}); at most ${MAX_REMINDERS_PER_GATE} fit the execution's history budget: ` +
      `remind every ${shortest.toHumanString()} or more.`,
  ];
}

/** Throws one Error listing every problem, or returns when there is none. */
export function assertValidWorkflowProps(props: ValidatedProps): void {
  const problems = validateWorkflowProps(props);
  if (problems.length > 0) {
    throw new Error(`Invalid MigrationWorkflow props:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

function checkString(problems: string[], name: keyof typeof EXAMPLE, value: string | undefined, pattern: RegExp, what: string): void {
  if (value === undefined || value === '') {
    problems.push(`${name} is required: ${what}, for example ${EXAMPLE[name]}.`);
  } else if (!Token.isUnresolved(value) && !pattern.test(value)) {
    problems.push(`${name} must be ${what} such as ${EXAMPLE[name]}, got ${JSON.stringify(value)}.`);
  }
}

/** The region of an Aurora cluster ARN (`arn:aws:rds:<region>:…`), or undefined when it is not a resolved cluster ARN. */
export function clusterRegion(clusterArn: string | undefined): string | undefined {
  if (clusterArn === undefined || Token.isUnresolved(clusterArn) || !CLUSTER_ARN_PATTERN.test(clusterArn)) return undefined;
  return clusterArn.split(':')[3];
}

/**
 * The Data API is regional: the phase Lambdas call `rds-data` in the stack's region, which cannot reach a cluster of
 * another region. One sentence naming both regions and the fix, or undefined (same region, or either unresolved).
 */
export function clusterRegionProblem(clusterArn: string | undefined, region: string | undefined): string | undefined {
  const cluster = clusterRegion(clusterArn);
  if (cluster === undefined || region === undefined || Token.isUnresolved(region) || cluster === region) return undefined;
  return (
    `clusterArn is in ${cluster} but the stack deploys to ${region}: the Data API is regional, so the phase Lambdas must run in the cluster's region ` +
    `(run cdk with AWS_REGION=${cluster} or a profile in ${cluster}; when embedding the stack, env: { region: '${cluster}' }; or target a cluster in ${region}).`
  );
}
