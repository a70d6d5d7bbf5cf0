/**
 * The progress bar on a terminal (the state row it reads comes from a FakeExecutor: the rendering is what is tested): a
 * notification printed while it is drawn lands on a line of its own, never inside the bar.
 */
import { Writable } from 'node:stream';
import { watchBackfill } from '../../lib/cli/backfill-progress';
import { FakeExecutor } from '../helpers/fake-executor';

/** A minimal terminal: carriage return, newline, cursor to column 1, erase in line; enough for cli-progress. */
class Screen {
  lines: string[] = [''];
  private col = 0;
  feed(text: string): void {
    for (let i = 0; i < text.length; i++) {
      const c = text[i]!;
      if (c === '\x1b') {
        const m = /^\x1b\[(\??[0-9;]*)([A-Za-z])/.exec(text.slice(i));
        if (!m) continue;
        i += m[0].length - 1;
        const [, arg, cmd] = m;
        if (cmd === 'G') this.col = Math.max(0, Number(arg || 1) - 1);
        if (cmd === 'K') {
          const row = this.lines[this.lines.length - 1]!;
          this.lines[this.lines.length - 1] = arg === '2' ? '' : arg === '1' ? ' '.repeat(this.col) + row.slice(this.col) : row.slice(0, this.col);
        }
        continue;
      }
      if (c === '\r') this.col = 0;
      else if (c === '\n') {
        this.lines.push('');
        this.col = 0;
      } else {
        const row = this.lines[this.lines.length - 1]!.padEnd(this.col);
        this.lines[this.lines.length - 1] = row.slice(0, this.col) + c + row.slice(this.col + 1);
        this.col++;
      }
    }
  }
}

it('prints a notification above the bar and draws the bar again below it', async () => {
  const screen = new Screen();
  const tty = Object.assign(new Writable({ write: (chunk: Buffer, _e, done) => (screen.feed(chunk.toString()), done()) }), { isTTY: true, columns: 120 });
  const db = new FakeExecutor(({ sql }) => (sql.includes('to_regclass') ? [{ exists: true }] : [{ name: 'm', table_schema: 'public', table_name: 'Product', phase: 'backfill', status: 'running', cursor: '10', rows_done: 400, rows_updated: 400, rows_estimate: 1000, batches: 4 }]));
  const progress = watchBackfill(db, 'm', { tty: true, stream: tty, intervalMs: 5, write: (line) => tty.write(`${line}\n`) });
  try {
    for (let i = 0; i < 200 && !screen.lines.some((l) => l.includes('backfill [')); i++) await new Promise((r) => setTimeout(r, 10));
    expect(screen.lines.join('\n')).toContain('400/1000 rows');
    progress.print('  » [notify] Stepwise m: 50% backfilled');
    const notice = screen.lines.findIndex((l) => l.includes('[notify]'));
    expect(screen.lines[notice]).toBe('  » [notify] Stepwise m: 50% backfilled');
    expect(screen.lines.slice(notice + 1).some((l) => l.includes('backfill [') && l.includes('400/1000 rows'))).toBe(true);
    expect(screen.lines.filter((l) => l.includes('backfill [') && l.includes('[notify]'))).toEqual([]);
  } finally {
    progress.stop();
  }
});

it('without a terminal prints plain progress lines and the notification as it is', async () => {
  const lines: string[] = [];
  const db = new FakeExecutor(({ sql }) => (sql.includes('to_regclass') ? [{ exists: true }] : [{ name: 'm', phase: 'backfill', status: 'running', rows_done: 5, rows_estimate: 10 }]));
  const progress = watchBackfill(db, 'm', { tty: false, intervalMs: 5, write: (line) => lines.push(line) });
  try {
    for (let i = 0; i < 200 && lines.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    progress.print('  » [notify] x');
    expect(lines[0]).toMatch(/^ {2}backfill: 5\/10 rows \(50%\)/);
    expect(lines).toContain('  » [notify] x');
  } finally {
    progress.stop();
  }
});
