import { Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { executionArnsOf, flattenArn } from './migration-workflow';

/** Props of {@link OperatorPolicy}. */
export interface OperatorPolicyProps {
  /** The migration state machine. */
  readonly stateMachine: sfn.IStateMachine;
  /** The Aurora cluster `stepwise pause|resume|tune` write to (the state row), through the Data API. */
  readonly clusterArn: string;
  /** The credentials secret the Data API reads on the operator's behalf. */
  readonly secretArn: string;
}

/** What each operator command calls, by statement (docs/DEPLOY.md lists the same). */
export const OPERATOR_ACTIONS = {
  /** `start` (StartExecution), `status` without an execution (ListExecutions: the latest). */
  stateMachine: ['states:StartExecution', 'states:ListExecutions'],
  /** `status`, `history`, `follow`, `start --wait`, `approve`/`reject` (find the waiting gate), `abort` (StopExecution). */
  executions: ['states:DescribeExecution', 'states:GetExecutionHistory', 'states:StopExecution'],
  /** `approve` / `reject`: these two actions have no resource-level permissions in IAM (only "*"). */
  taskTokens: ['states:SendTaskSuccess', 'states:SendTaskFailure'],
  /** `pause`, `resume`, `tune`: one statement each on the state row, through the Data API. */
  dataApi: ['rds-data:ExecuteStatement'],
  /** The Data API reads the database credentials with the caller's permissions. */
  secret: ['secretsmanager:GetSecretValue'],
} as const;

/**
 * A customer managed policy with exactly what the operator commands need (`start`, `status`, `history`, `follow`,
 * `approve`, `reject`, `abort`, `pause`, `resume`, `tune`), on this stack's state machine, its executions, its
 * cluster and its secret. Attach it to the role or group of the people (or the CI/CD role) who run migrations.
 * Not included: `states:ListStateMachines` (finding the machine by name needs "*": pass `--state-machine-arn` or set
 * `STEPWISE_STATE_MACHINE_ARN` from the stack output instead) and `kms:Decrypt` for a secret encrypted with a
 * customer managed key (grant it on that key).
 *
 * @example
 * new OperatorPolicy(this, 'OperatorPolicy', { stateMachine, clusterArn, secretArn }).policy.managedPolicyArn;
 */
export class OperatorPolicy extends Construct {
  readonly policy: iam.ManagedPolicy;

  constructor(scope: Construct, id: string, props: OperatorPolicyProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const executionArns = executionArnsOf(this, props.stateMachine);
    this.policy = new iam.ManagedPolicy(this, 'Policy', {
      description: 'Stepwise operator: start, follow, approve/reject, abort migrations of this stack; pause, resume and tune their backfill.',
      statements: [
        new iam.PolicyStatement({ sid: 'StartAndListMigrations', actions: [...OPERATOR_ACTIONS.stateMachine], resources: [props.stateMachine.stateMachineArn] }),
        new iam.PolicyStatement({ sid: 'FollowAndAbortMigrations', actions: [...OPERATOR_ACTIONS.executions], resources: [executionArns] }),
        new iam.PolicyStatement({ sid: 'AnswerApprovalGates', actions: [...OPERATOR_ACTIONS.taskTokens], resources: ['*'] }),
        new iam.PolicyStatement({ sid: 'PauseAndTuneBackfill', actions: [...OPERATOR_ACTIONS.dataApi], resources: [props.clusterArn] }),
        new iam.PolicyStatement({ sid: 'ReadDatabaseSecret', actions: [...OPERATOR_ACTIONS.secret], resources: [props.secretArn] }),
      ],
    });
    Validations.of(this.policy).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'states:SendTaskSuccess and states:SendTaskFailure have no resource-level permissions; the task token itself is the capability.',
    });
    Validations.of(this.policy).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${flattenArn(stack.resolve(executionArns))}]`,
      reason: 'DescribeExecution, GetExecutionHistory and StopExecution on the executions of the one migration state machine (execution:<name>:*); execution names are chosen per run.',
    });
  }
}
