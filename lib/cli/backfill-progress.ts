import { SingleBar, Presets } from 'cli-progress';
import type { Executor } from '../db/executor';
import { readMigration } from '../state/migration-state';

/**
 * Shows backfill progress while it runs: a bar with rows, rows/s and ETA on a terminal, plain lines otherwise.
 * Reads the migration's row in the state table through the same Data API path the phases use.
 */
export function watchBackfill(db: Executor, migration: string, options: { tty: boolean; write: (line: string) => void; intervalMs?: number }) {
  const started = Date.now();
  let bar: SingleBar | undefined;
  let lastLine = 0;
  let stopped = false;
  let firstRows: number | undefined;
  const tick = async () => {
    const row = await readMigration(db, migration).catch(() => undefined);
    if (!row || stopped) return;
    const done = Number(row.rows_done);
    const total = Math.max(Number(row.rows_estimate ?? 0), done, 1);
    firstRows ??= done;
    const seconds = (Date.now() - started) / 1000;
    const rate = seconds > 0 ? Math.round((done - firstRows) / seconds) : 0;
    if (options.tty) {
      bar ??= new SingleBar(
        { format: '  backfill [{bar}] {percentage}% | {value}/{total} rows | {rate} rows/s | ETA {eta_formatted}', hideCursor: true, etaBuffer: 20 },
        Presets.shades_classic,
      );
      if (!bar.isActive) bar.start(total, done, { rate });
      bar.setTotal(total);
      bar.update(done, { rate });
    } else if (Date.now() - lastLine >= 2000) {
      lastLine = Date.now();
      const eta = rate > 0 ? Math.max(0, Math.round((total - done) / rate)) : undefined;
      options.write(`  backfill: ${done}/${total} rows (${Math.round((100 * done) / total)}%), ${rate} rows/s${eta !== undefined ? `, ETA ${eta}s` : ''}`);
    }
  };
  const timer = setInterval(() => void tick(), options.intervalMs ?? 250);
  return {
    /** Stops at once (synchronously), so the next line printed does not land inside the bar. */
    stop: () => {
      clearInterval(timer);
      stopped = true;
      bar?.stop();
    },
  };
}
