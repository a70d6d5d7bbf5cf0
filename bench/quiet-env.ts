// Imported first by run-bench.ts: the handlers' Powertools logger and metrics read these when their modules load.
process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
export {};
