import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { EmulatorError, MESSAGES } from './emulator-error';

const guarded = new WeakSet<pg.PoolClient>();

interface OpenTransaction {
  readonly client: pg.PoolClient;
  active: number;
  timer?: NodeJS.Timeout;
}

/**
 * Open Data API transactions: each holds a dedicated pg client between calls. A transaction idle for longer than
 * `idleMs` is rolled back and forgotten, as Aurora does after 3 minutes; a later call with its id gets NotFoundException.
 */
export class TransactionRegistry {
  private readonly open = new Map<string, OpenTransaction>();

  constructor(private readonly idleMs: number) {}

  /** Starts a transaction on a client of `pool` and returns its id. */
  async begin(pool: pg.Pool): Promise<string> {
    const client = await pool.connect();
    // Pooled clients are reused: give each one its (silent) error listener once, not once per transaction.
    if (!guarded.has(client)) {
      guarded.add(client);
      client.on('error', () => undefined);
    }
    try {
      await client.query('BEGIN');
    } catch (err) {
      client.release(true);
      throw err;
    }
    const id = randomBytes(36).toString('base64');
    const tx: OpenTransaction = { client, active: 0 };
    this.open.set(id, tx);
    this.arm(id, tx);
    return id;
  }

  /** Runs `fn` on the transaction's client; calls on one transaction queue behind each other (pg's own queue). */
  async use<T>(id: string, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const tx = this.open.get(id);
    if (!tx) throw new EmulatorError('NotFoundException', MESSAGES.transactionNotFound(id));
    clearTimeout(tx.timer);
    tx.active += 1;
    try {
      return await fn(tx.client);
    } finally {
      tx.active -= 1;
      if (this.open.get(id) === tx) this.arm(id, tx);
    }
  }

  /** Ends the transaction with `COMMIT` or `ROLLBACK`; it is forgotten whatever the outcome. */
  async finish(id: string, command: 'COMMIT' | 'ROLLBACK'): Promise<void> {
    await this.use(id, async (client) => {
      const tx = this.open.get(id);
      this.open.delete(id);
      clearTimeout(tx?.timer);
      try {
        const result = await client.query(command);
        client.release();
        if (command === 'COMMIT' && result.command === 'ROLLBACK') {
          // Postgres answers COMMIT of a failed transaction with ROLLBACK; the Data API (through JDBC) raises.
          throw new EmulatorError(
            'DatabaseErrorException',
            'ERROR: The database returned ROLLBACK, so the transaction cannot be committed.; SQLState: 25P02',
          );
        }
      } catch (err) {
        if (!(err instanceof EmulatorError)) client.release(true);
        throw err;
      }
    });
  }

  /** Rolls back and forgets every open transaction. */
  async closeAll(): Promise<void> {
    await Promise.all([...this.open.keys()].map((id) => this.finish(id, 'ROLLBACK').catch(() => undefined)));
  }

  private arm(id: string, tx: OpenTransaction): void {
    clearTimeout(tx.timer);
    tx.timer = setTimeout(() => {
      if (tx.active > 0) return this.arm(id, tx);
      void this.finish(id, 'ROLLBACK').catch(() => undefined);
    }, this.idleMs);
    tx.timer.unref();
  }
}
