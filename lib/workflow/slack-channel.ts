import { Stack, Validations } from 'aws-cdk-lib';
import * as chatbot from 'aws-cdk-lib/aws-chatbot';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { executionArnsOf, flattenArn } from './migration-workflow';

/** Props of {@link StepwiseSlackChannel}. */
export interface StepwiseSlackChannelProps {
  /** Slack workspace (team) id, as AWS Chatbot shows it after the workspace is authorized: `T0123ABCDEF`. */
  readonly slackWorkspaceId: string;
  /** Slack channel id: `C0123ABCDEF` (channel details → bottom of the About tab). */
  readonly slackChannelId: string;
  /** The notification topic the channel subscribes to. */
  readonly topic: sns.ITopic;
  /** The migration state machine: the channel may read its executions, nothing else. */
  readonly stateMachine: sfn.IStateMachine;
}

/** Read-only actions on the migration's executions: what someone in the channel may look at through Chatbot. */
export const SLACK_READ_ACTIONS: readonly string[] = ['states:DescribeExecution', 'states:GetExecutionHistory'];

/**
 * An AWS Chatbot Slack channel subscribed to the notification topic. Least privilege both ways:
 * - the channel role (what Chatbot itself may call) and the guardrail (the ceiling for every user role) allow only
 *   reading this state machine and its executions; the default guardrail when none is set is AdministratorAccess;
 * - approvals stay with `stepwise approve|reject` (the CLI and IAM), not with anyone who can type in the channel.
 */
export class StepwiseSlackChannel extends Construct {
  readonly channel: chatbot.SlackChannelConfiguration;
  /** The guardrail: a customer managed policy with read-only access to the migration executions. */
  readonly guardrail: iam.ManagedPolicy;
  readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: StepwiseSlackChannelProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const executionArns = executionArnsOf(this, props.stateMachine);
    const statements = [
      new iam.PolicyStatement({ sid: 'ReadMigrationExecutions', actions: [...SLACK_READ_ACTIONS], resources: [executionArns] }),
      new iam.PolicyStatement({ sid: 'ReadMigrationStateMachine', actions: ['states:DescribeStateMachine', 'states:ListExecutions'], resources: [props.stateMachine.stateMachineArn] }),
    ];
    this.guardrail = new iam.ManagedPolicy(this, 'Guardrail', {
      description: 'Stepwise Slack channel guardrail: read the migration executions, nothing else.',
      statements,
    });
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('chatbot.amazonaws.com'),
      description: 'Stepwise Slack channel (AWS Chatbot): read the migration executions, nothing else.',
      inlinePolicies: { ReadMigrations: new iam.PolicyDocument({ statements }) },
    });
    this.channel = new chatbot.SlackChannelConfiguration(this, 'Channel', {
      slackChannelConfigurationName: `stepwise-${stack.stackName}`.slice(0, 128),
      slackWorkspaceId: props.slackWorkspaceId,
      slackChannelId: props.slackChannelId,
      notificationTopics: [props.topic],
      role: this.role,
      guardrailPolicies: [this.guardrail],
      userRoleRequired: false,
    });
    for (const target of [this.guardrail, this.role]) {
      Validations.of(target).acknowledge({
        id: `AwsSolutions-IAM5[Resource::${flattenArn(stack.resolve(executionArns))}]`,
        reason: 'DescribeExecution and GetExecutionHistory on the executions of the one migration state machine (execution:<name>:*); execution names are chosen per run.',
      });
    }
  }
}

