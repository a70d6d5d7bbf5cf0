#!/usr/bin/env node
// Entry point for `npx stepwise`: runs the TypeScript CLI through tsx, so there is no build step.
// Node 20 is supported here; the SDK's notice about future Node 22 requirements is noise for CLI users.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
// The phase handlers log and emit metrics as on Lambda (Powertools); on a terminal the CLI prints its own summary.
// STEPWISE_VERBOSE=1 keeps the handlers' JSON logs.
if (!process.env.STEPWISE_VERBOSE) {
  process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
  process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
}
require('tsx/cjs');
require('./stepwise.ts');
