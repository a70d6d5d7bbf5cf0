/** Rows per verification / data-check batch: read-only, so larger than write batches. */
export const DEFAULT_SCAN_BATCH_SIZE = 10_000;
/** Seconds the state machine waits between two backfill invocations. @default 0 */
export const DEFAULT_INVOCATION_WAIT_SECONDS = 0;
/** Safety margin kept below the time box so a batch that starts late still ends in time (ms). */
export const TIME_BOX_MARGIN_MS = 1_000;
