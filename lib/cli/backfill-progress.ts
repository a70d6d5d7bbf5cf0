import { SingleBar, Presets } from 'cli-progress';
import type { Executor } from '../db/executor';
import { readMigration } from '../state/migration-state';

export interface BackfillWatchOptions {
  readonly tty: boolean;
  readonly write: (line: string) => void;
  readonly intervalMs?: number;
  /** Where the bar is drawn on a terminal (default: cli-progress's, stderr). */
  readonly stream?: NodeJS.WritableStream;
}

/**
 * Shows backfill progress while it runs: a bar with rows, rows/s and ETA on a terminal, plain lines otherwise.
 * Reads the migration's row in the state table through the same Data API path the phases use. Lines printed while the
 * bar is drawn go through `print`, which takes the bar off its line, prints, and draws the bar again below: a
 * notification never lands inside the bar.
 */
export function watchBackfill(db: Executor, migration: string, options: BackfillWatchOptions) {
  const started = Date.now();
  let bar: SingleBar | undefined;
  let lastLine = 0;
  let stopped = false;
  let firstRows: number | undefined;
  let shown = { total: 1, done: 0, rate: 0 };
  const tick = async () => {
    const row = await readMigration(db, migration).catch(() => undefined);
    if (!row || stopped) return;
    const done = Number(row.rows_done);
    const total = Math.max(Number(row.rows_estimate ?? 0), done, 1);
    firstRows ??= done;
    const seconds = (Date.now() - started) / 1000;
    const rate = seconds > 0 ? Math.round((done - firstRows) / seconds) : 0;
    shown = { total, done, rate };
    if (options.tty) {
      bar ??= new SingleBar(
        {
          format: '  backfill [{bar}] {percentage}% | {value}/{total} rows | {rate} rows/s | ETA {eta_formatted}',
          hideCursor: true,
          etaBuffer: 20,
          clearOnComplete: true,
          ...(options.stream ? { stream: options.stream } : {}),
        },
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
    /** Prints a line above the bar (the bar is cleared, the line printed, the bar drawn again under it). */
    print: (line: string) => {
      if (!bar?.isActive || stopped) return options.write(line);
      bar.stop();
      options.write(line);
      bar.start(shown.total, shown.done, { rate: shown.rate });
    },
  };
}
