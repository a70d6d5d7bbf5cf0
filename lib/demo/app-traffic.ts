import { Client } from 'pg';

/** Latency figures of the simulated application's writes. */
export interface TrafficStats {
  writes: number;
  failed: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Writes slower than `lateMs` (default 100 ms). */
  lateWrites: number;
  lateMs: number;
}

export interface TrafficOptions {
  readonly databaseUrl: string;
  /** Concurrent connections. @default 3 */
  readonly connections?: number;
  /** Highest existing id; updates pick ids in 1..maxId. */
  readonly maxId: number;
  /** Pause between a connection's writes (ms). @default 5 */
  readonly thinkMs?: number;
  /** One write in this many is an INSERT; the others UPDATE a price. @default 10 */
  readonly insertEvery?: number;
  /** @default 100 */
  readonly lateMs?: number;
}

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export function summarize(latencies: readonly number[], failed: number, lateMs: number): TrafficStats {
  const sorted = [...latencies].sort((a, b) => a - b);
  const round = (n: number) => Math.round(n * 100) / 100;
  return {
    writes: sorted.length,
    failed,
    p50Ms: round(percentile(sorted, 50)),
    p99Ms: round(percentile(sorted, 99)),
    maxMs: round(sorted[sorted.length - 1] ?? 0),
    lateWrites: sorted.filter((l) => l > lateMs).length,
    lateMs,
  };
}

/**
 * Simulated application traffic on `"Product"`: a few connections updating prices and inserting products, as the
 * application keeps doing while the migration runs. Every write's latency is recorded; `stop()` returns the figures.
 * Writes go to `price` only (the app of the runbook before read-from-new); the sync trigger fills the new column.
 */
/**
 * `mark()` is the number of writes timed so far and `between(a, b)` the figures of the writes timed between two marks
 * (e.g. only while the backfill ran).
 */
export function startAppTraffic(options: TrafficOptions): { stop: () => Promise<TrafficStats>; mark: () => number; between: (from: number, to: number) => TrafficStats } {
  const latencies: number[] = [];
  let failed = 0;
  let running = true;
  const insertEvery = options.insertEvery ?? 10;
  const thinkMs = options.thinkMs ?? 5;
  const worker = async (n: number) => {
    const client = new Client({ connectionString: options.databaseUrl, application_name: `stepwise-demo-app-${n}` });
    // A dropped connection (server restart, network) must count as failed writes, not crash the process.
    client.on('error', () => undefined);
    await client.connect();
    let i = 0;
    try {
      while (running) {
        i += 1;
        const price = (Math.floor(Math.random() * 999_999) + 1) / 100;
        const started = performance.now();
        try {
          if (i % insertEvery === 0) {
            await client.query('INSERT INTO "Product" (name, price) VALUES ($1, $2)', [`New product ${n}-${i}`, price]);
          } else {
            await client.query('UPDATE "Product" SET price = $1, "updatedAt" = now() WHERE id = $2', [price, 1 + Math.floor(Math.random() * options.maxId)]);
          }
          latencies.push(performance.now() - started);
        } catch {
          failed += 1;
        }
        if (thinkMs > 0) await new Promise((r) => setTimeout(r, thinkMs));
      }
    } finally {
      await client.end().catch(() => undefined);
    }
  };
  const workers = Array.from({ length: options.connections ?? 3 }, (_, n) => worker(n));
  return {
    stop: async () => {
      running = false;
      await Promise.allSettled(workers);
      return summarize(latencies, failed, options.lateMs ?? 100);
    },
    mark: () => latencies.length,
    between: (from: number, to: number) => summarize(latencies.slice(from, to), 0, options.lateMs ?? 100),
  };
}
