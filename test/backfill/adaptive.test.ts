import { clampBatchSize, MAX_GROWTH, MAX_SHRINK, nextBatchSize, rateCappedSize, resolveBackfillSettings, throttleDelayMs } from '../../lib/backfill';
import { parseSpec } from '../../lib/spec';

const bounds = { targetMs: 150, minBatchSize: 100, maxBatchSize: 100_000 };
const spec = (backfill?: Record<string, unknown>) =>
  parseSpec({ name: 'm', table: { name: 'T' }, operation: { type: 'convert-column', column: 'a', newColumn: 'b', newType: 'integer', using: 'a' }, ...(backfill ? { backfill } : {}) });

describe('nextBatchSize', () => {
  it('sizes the next batch so it takes about the target at the rate just seen', () => {
    // 10,000 rows in 100 ms = 100 rows/ms → 15,000 rows take 150 ms.
    expect(nextBatchSize({ size: 10_000, scanned: 10_000, elapsedMs: 100 }, bounds)).toBe(15_000);
    // 10,000 rows in 300 ms → 5,000.
    expect(nextBatchSize({ size: 10_000, scanned: 10_000, elapsedMs: 300 }, bounds)).toBe(5_000);
  });

  it('grows at most ×2 per batch, however fast the batch was', () => {
    expect(nextBatchSize({ size: 1000, scanned: 1000, elapsedMs: 1 }, bounds)).toBe(1000 * MAX_GROWTH);
    expect(nextBatchSize({ size: 1000, scanned: 1000, elapsedMs: 0 }, bounds)).toBe(1000 * MAX_GROWTH);
  });

  it('backs off at once when a batch is slow (load), but at most ÷4 per batch', () => {
    expect(nextBatchSize({ size: 40_000, scanned: 40_000, elapsedMs: 10_000 }, bounds)).toBe(40_000 / MAX_SHRINK);
    expect(nextBatchSize({ size: 40_000, scanned: 40_000, elapsedMs: 300 }, bounds)).toBe(20_000);
  });

  it('stays within [minBatchSize, maxBatchSize]', () => {
    expect(nextBatchSize({ size: 90_000, scanned: 90_000, elapsedMs: 10 }, bounds)).toBe(100_000);
    expect(nextBatchSize({ size: 150, scanned: 150, elapsedMs: 5_000 }, bounds)).toBe(100);
    expect(clampBatchSize(5, bounds)).toBe(100);
    expect(clampBatchSize(1e9, bounds)).toBe(100_000);
  });

  it('keeps the size after a short last batch (it says nothing about the rate)', () => {
    expect(nextBatchSize({ size: 8000, scanned: 12, elapsedMs: 1 }, bounds)).toBe(8000);
  });

  it('converges: a steady rate reaches the target size and stays there', () => {
    const rowsPerMs = 200; // 200k rows/s
    let size = 1000;
    const seen: number[] = [];
    for (let i = 0; i < 12; i += 1) {
      size = nextBatchSize({ size, scanned: size, elapsedMs: size / rowsPerMs }, bounds);
      seen.push(size);
    }
    expect(seen.slice(-3)).toEqual([30_000, 30_000, 30_000]);
    expect(seen.indexOf(30_000)).toBeLessThanOrEqual(5);
  });
});

describe('throttleDelayMs and rateCappedSize', () => {
  it('waits so the rows done stay under maxRowsPerSecond', () => {
    expect(throttleDelayMs({ rowsDone: 5000, elapsedMs: 200, maxRowsPerSecond: 10_000, pauseMs: 0 })).toBe(300);
    expect(throttleDelayMs({ rowsDone: 5000, elapsedMs: 800, maxRowsPerSecond: 10_000, pauseMs: 0 })).toBe(0);
  });

  it('never waits less than pauseMs, and not at all without a limit or pause', () => {
    expect(throttleDelayMs({ rowsDone: 5000, elapsedMs: 800, maxRowsPerSecond: 10_000, pauseMs: 100 })).toBe(100);
    expect(throttleDelayMs({ rowsDone: 5_000_000, elapsedMs: 1, pauseMs: 0 })).toBe(0);
  });

  it('caps a batch at what the limit allows in one target duration', () => {
    expect(rateCappedSize(50_000, 10_000, 150, 100)).toBe(1500);
    expect(rateCappedSize(50_000, undefined, 150, 100)).toBe(50_000);
    expect(rateCappedSize(50_000, 10, 150, 100)).toBe(100);
  });
});

describe('resolveBackfillSettings (how explicit and default batch sizes are told apart)', () => {
  it('is adaptive with the documented defaults when the spec says nothing', () => {
    const s = resolveBackfillSettings(spec().backfill);
    expect(s).toMatchObject({ mode: 'adaptive', batchSize: 1000, targetBatchMs: 100, minBatchSize: 100, maxBatchSize: 100_000, pauseMs: 0, maxSecondsPerInvocation: 20 });
    expect(resolveBackfillSettings(spec({ pauseMs: 0 }).backfill).mode).toBe('adaptive');
  });

  it('keeps the runbook\'s fixed batches when the spec writes batchSize', () => {
    const parsed = spec({ batchSize: 1000, pauseMs: 100 });
    expect(parsed.backfill).toMatchObject({ batchSize: 1000, pauseMs: 100, mode: 'fixed' });
    expect(resolveBackfillSettings(parsed.backfill)).toMatchObject({ mode: 'fixed', batchSize: 1000, pauseMs: 100 });
  });

  it('lets mode "adaptive" take an explicit batchSize as the first batch size', () => {
    const s = resolveBackfillSettings(spec({ mode: 'adaptive', batchSize: 5000, targetBatchMs: 80, maxBatchSize: 20_000 }).backfill);
    expect(s).toMatchObject({ mode: 'adaptive', batchSize: 5000, targetBatchMs: 80, maxBatchSize: 20_000, minBatchSize: 100 });
  });

  it('refuses bounds that cross and unknown modes', () => {
    expect(() => spec({ minBatchSize: 5000, maxBatchSize: 1000 })).toThrow(/minBatchSize/);
    expect(() => spec({ mode: 'turbo' })).toThrow(/\$\.backfill\.mode/);
  });
});
