// Runs before each test file's modules: the phase handlers build their Powertools logger and metrics at import, as on
// Lambda; in tests they stay quiet.
process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
