import type { Executor, QueryResult, Row, SqlParams, TransactionOptions } from '../../lib/db/executor';

/** One statement seen by a `FakeExecutor`. */
export interface RecordedStatement {
  readonly sql: string;
  readonly params: SqlParams;
  /** Index of the transaction it ran in (0, 1, … in order of `transaction()` calls), or undefined in autocommit. */
  readonly transaction?: number;
}

/** What a responder returns: rows only, a full result, or nothing (no rows, nothing affected). */
export type FakeResponse = Row[] | Partial<QueryResult> | undefined;

/** Answers each statement; throw from it to simulate a database error. */
export type FakeResponder = (statement: RecordedStatement) => FakeResponse | Promise<FakeResponse>;

/** Events of a fake transaction, in order, for assertions. */
export type TransactionEvent =
  | { readonly type: 'begin'; readonly transaction: number; readonly options: TransactionOptions }
  | { readonly type: 'commit' | 'rollback'; readonly transaction: number };

/**
 * An `Executor` for unit tests: no database; it records every statement and answers from `responder`. Transactions
 * are recorded as begin/commit/rollback events (statements are not undone on rollback; nothing is retried).
 *
 * @example
 * const db = new FakeExecutor(({ sql }) => (sql.startsWith('SELECT') ? [{ n: 3 }] : { rowsAffected: 1 }));
 * await runPhase(Phase.Expand, input, { db });
 * expect(db.statements.map((s) => s.sql)).toMatchSnapshot();
 */
export class FakeExecutor implements Executor {
  readonly statements: RecordedStatement[] = [];
  readonly transactions: TransactionEvent[] = [];
  private transactionCount = 0;

  constructor(private readonly responder: FakeResponder = () => undefined) {}

  /** Records the statement and returns the responder's answer. */
  query<R extends Row = Row>(sql: string, params: SqlParams = {}): Promise<QueryResult<R>> {
    return this.record<R>({ sql, params });
  }

  /** Runs `fn` with an executor that tags its statements with this transaction's index. */
  async transaction<T>(fn: (tx: Executor) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
    const transaction = this.transactionCount++;
    this.transactions.push({ type: 'begin', transaction, options });
    const tx: Executor = {
      query: <R extends Row = Row>(sql: string, params: SqlParams = {}) => this.record<R>({ sql, params, transaction }),
      transaction: () => Promise.reject(new Error('FakeExecutor: transactions cannot be nested')),
    };
    try {
      const result = await fn(tx);
      this.transactions.push({ type: 'commit', transaction });
      return result;
    } catch (err) {
      this.transactions.push({ type: 'rollback', transaction });
      throw err;
    }
  }

  /** The SQL of every recorded statement, in order. */
  get sql(): string[] {
    return this.statements.map((s) => s.sql);
  }

  /** Forgets recorded statements and transactions. */
  reset(): void {
    this.statements.length = 0;
    this.transactions.length = 0;
    this.transactionCount = 0;
  }

  private async record<R extends Row>(statement: RecordedStatement): Promise<QueryResult<R>> {
    this.statements.push(statement);
    const response = await this.responder(statement);
    if (Array.isArray(response)) return { rows: response as R[], rowsAffected: 0 };
    return { rows: (response?.rows ?? []) as R[], rowsAffected: response?.rowsAffected ?? 0 };
  }
}
