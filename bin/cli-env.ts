/**
 * Imported first by bin/stepwise.ts, before any handler module builds its logger. The phase handlers log and emit
 * metrics as on Lambda (Powertools); on a terminal the CLI prints its own summary instead. STEPWISE_VERBOSE=1 keeps the
 * handlers' JSON logs. Node 20 is supported here, so the SDK's notice about its future Node 22 floor is noise.
 */
if (!process.env.STEPWISE_VERBOSE) {
  process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
  process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
}
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
