#!/usr/bin/env node
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { formatError } from '../lib/cli/output';
import { StepwiseError } from '../lib/errors';
import { StepwiseStack } from '../lib/stack';

// Database target from -c clusterArn=... -c secretArn=... -c database=... (see stackPropsFromContext); optional
// -c slackWorkspaceId/slackChannelId/notifyEmails/windowSchedule/windowTimezone/windowSpec (deploymentOptionsFromContext,
// docs/DEPLOY.md).
const app = new App();
try {
  new StepwiseStack(app, 'Stepwise', {
    env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  });
} catch (err) {
  // Missing or malformed context is the operator's to fix: say what and how, without a Node stack trace.
  if (!(err instanceof StepwiseError)) throw err;
  process.stderr.write(`${formatError(err)}\n`);
  process.exit(1);
}
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
