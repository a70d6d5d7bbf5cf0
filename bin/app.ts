#!/usr/bin/env node
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { StepwiseStack } from '../lib/stack';

// Database target from -c clusterArn=... -c secretArn=... -c database=... (see stackPropsFromContext); optional
// -c slackWorkspaceId/slackChannelId/notifyEmails/windowSchedule/windowTimezone/windowSpec (deploymentOptionsFromContext,
// docs/DEPLOY.md).
const app = new App();
new StepwiseStack(app, 'Stepwise', {
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
});
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
