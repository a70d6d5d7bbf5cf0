import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { EmulatorError, MESSAGES } from './emulator-error';

const guarded = new WeakSet<pg.PoolClient>();

interface OpenTransaction {
  readonly client: pg.PoolClient;
  /** Holds on the transaction: the call being served, and a statement still running after its call answered. */
  holds: number;
  timer?: NodeJS.Timeout;
}

/**
 * Open Data API transactions: each holds a dedicated pg client between calls. A transaction idle for longer than
 * `idleMs` is rolled back and forgotten, as Aurora does after 3 minutes; a later call with its id, like a call with an id
 * that never existed, gets TransactionNotFoundException (404). A call on a transaction that is still running a
 * statement (another call in flight, or a statement left running by `continueAfterTimeout`) is refused with
 * BadRequestException, never queued behind it.
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
    const tx: OpenTransaction = { client, holds: 0 };
    this.open.set(id, tx);
    this.arm(id, tx);
    return id;
  }

  /**
   * Runs `fn` on the transaction's client, refusing the call while the transaction is busy. The transaction is busy
   * until `fn` settles and every `hold()` taken by `fn` is released (a statement that runs on after its call answered).
   */
  async use<T>(id: string, fn: (client: pg.PoolClient, hold: () => () => void) => Promise<T>): Promise<T> {
    const tx = this.open.get(id);
    if (!tx) throw new EmulatorError('TransactionNotFoundException', MESSAGES.transactionNotFound(id));
    if (tx.holds > 0) throw new EmulatorError('BadRequestException', MESSAGES.transactionBusy(id));
    clearTimeout(tx.timer);
    const take = (): (() => void) => {
      tx.holds += 1;
      let released = false;
      return () => {
        if (released) return;
        released = true;
        tx.holds -= 1;
        if (tx.holds === 0 && this.open.get(id) === tx) this.arm(id, tx);
      };
    };
    const release = take();
    try {
      return await fn(tx.client, take);
    } finally {
      release();
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

  /** Rolls back and forgets every open transaction; one still running a statement loses its connection instead. */
  async closeAll(): Promise<void> {
    await Promise.all(
      [...this.open.entries()].map(([id, tx]) => {
        if (tx.holds === 0) return this.finish(id, 'ROLLBACK').catch(() => undefined);
        this.open.delete(id);
        clearTimeout(tx.timer);
        tx.client.release(true);
        return undefined;
      }),
    );
  }

  private arm(id: string, tx: OpenTransaction): void {
    clearTimeout(tx.timer);
    tx.timer = setTimeout(() => {
      if (tx.holds > 0) return this.arm(id, tx);
      void this.finish(id, 'ROLLBACK').catch(() => undefined);
    }, this.idleMs);
    tx.timer.unref();
  }
}
