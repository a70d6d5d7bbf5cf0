/**
 * Adaptive batch sizing and the rate limit, as pure functions (no clock, no I/O) so they are unit-tested exactly.
 *
 * The backfill measures each batch's duration and sizes the next one so it takes about `targetMs`: big enough that
 * per-statement overhead (a Data API round trip, planning, the state-table update) is noise, small enough that a
 * writer waiting for one of the batch's row locks waits at most about `targetMs`. Growth is capped (×2 per batch) so
 * one lucky fast batch cannot jump to a huge one; shrinking is fast (down to ÷4 per batch) because a slow batch is a
 * sign of load (lock waits, I/O, a checkpoint) and the point is to get out of the application's way.
 */

export interface BatchBounds {
  /** Duration each batch aims at (ms). */
  readonly targetMs: number;
  readonly minBatchSize: number;
  readonly maxBatchSize: number;
}

export interface BatchObservation {
  /** The batch's LIMIT. */
  readonly size: number;
  /** Rows the batch scanned (< size only on the table's last batch). */
  readonly scanned: number;
  /** Wall time of the batch's statement, round trip included (ms). */
  readonly elapsedMs: number;
}

/** Largest factor the size may grow by from one batch to the next. */
export const MAX_GROWTH = 2;
/** Largest factor the size may shrink by from one batch to the next. */
export const MAX_SHRINK = 4;

export function clampBatchSize(size: number, bounds: Pick<BatchBounds, 'minBatchSize' | 'maxBatchSize'>): number {
  return Math.max(bounds.minBatchSize, Math.min(bounds.maxBatchSize, Math.round(size)));
}

/**
 * The next batch's size after observing one batch: `scanned / elapsedMs × targetMs` (the size that would have taken
 * the target at the rate just seen), at most ×2 and at least ÷4 of the batch just run, within [min, max].
 * A short final batch (scanned < size) says nothing about the rate: the size is kept.
 *
 * @example nextBatchSize({ size: 1000, scanned: 1000, elapsedMs: 15 }, { targetMs: 150, minBatchSize: 100, maxBatchSize: 100000 }) // 2000 (capped ×2)
 */
export function nextBatchSize(observed: BatchObservation, bounds: BatchBounds): number {
  const { size, scanned, elapsedMs } = observed;
  if (scanned < size || scanned <= 0) return clampBatchSize(size, bounds);
  const ideal = elapsedMs > 0 ? (scanned / elapsedMs) * bounds.targetMs : size * MAX_GROWTH;
  const bounded = Math.min(size * MAX_GROWTH, Math.max(size / MAX_SHRINK, ideal));
  return clampBatchSize(bounded, bounds);
}

/**
 * How long to wait before the next batch so that `rowsDone` rows over `elapsedMs` stay at or under
 * `maxRowsPerSecond`; never less than `pauseMs`.
 *
 * @example throttleDelayMs({ rowsDone: 5000, elapsedMs: 200, maxRowsPerSecond: 10000, pauseMs: 0 }) // 300
 */
export function throttleDelayMs(input: { rowsDone: number; elapsedMs: number; maxRowsPerSecond?: number | undefined; pauseMs: number }): number {
  const { rowsDone, elapsedMs, maxRowsPerSecond, pauseMs } = input;
  const rateDelay = maxRowsPerSecond ? Math.ceil((rowsDone / maxRowsPerSecond) * 1000 - elapsedMs) : 0;
  return Math.max(pauseMs, rateDelay, 0);
}

/**
 * Under a rate limit, a batch never holds more rows than the limit allows in one target duration (so the limit is
 * met by many small batches spread out, not by one big batch and a long sleep).
 */
export function rateCappedSize(size: number, maxRowsPerSecond: number | undefined, targetMs: number, minBatchSize: number): number {
  if (!maxRowsPerSecond) return size;
  return Math.max(minBatchSize, Math.min(size, Math.floor((maxRowsPerSecond * targetMs) / 1000)));
}
