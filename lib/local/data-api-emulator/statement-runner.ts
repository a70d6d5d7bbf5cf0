import type { ClientBase, QueryArrayConfig, QueryArrayResult } from 'pg';
import { EmulatorError, MESSAGES } from './emulator-error';
import type { BoundStatement } from './named-parameters';

/** How long the emulator waits past the server-side `statement_timeout` for the cancel to arrive. */
const TIMEOUT_GRACE_MS = 250;

/** How long a timed-out call (without continueAfterTimeout) waits at most for its cancelled statement to stop. */
const CANCEL_WAIT_MS = 5_000;

/** Every column comes back as its Postgres text; `field-codec.ts` turns it into a Data API `Field`. */
const RAW_TEXT_TYPES = { getTypeParser: () => (value: string) => value } as unknown as QueryArrayConfig['types'];

export interface RunOptions {
  readonly statementTimeoutMs: number;
  /** Let the statement run on after the timeout (the call still fails with StatementTimeoutException). */
  readonly continueAfterTimeout?: boolean;
  /** Called once the statement has really finished on the server (even after a timeout answer). */
  readonly onSettled?: () => void;
}

/**
 * Runs one statement with pg's extended protocol, as Aurora does: a string holding several statements is refused.
 * The session's `statement_timeout` cancels a statement that runs too long; with `continueAfterTimeout` it is lifted for
 * this statement, and the caller gets StatementTimeoutException while the statement runs on.
 */
export async function runStatement(
  client: ClientBase & { processID?: number },
  statement: BoundStatement,
  options: RunOptions,
): Promise<QueryArrayResult<(string | null)[]>> {
  const config = {
    text: statement.text,
    values: statement.values,
    rowMode: 'array',
    types: RAW_TEXT_TYPES,
    queryMode: 'extended',
  } as QueryArrayConfig & { queryMode: 'extended' };
  const timeoutError = (): EmulatorError =>
    new EmulatorError('StatementTimeoutException', MESSAGES.statementTimeout, undefined, {
      dbConnectionId: client.processID ?? 0,
    });

  if (options.continueAfterTimeout) {
    try {
      await client.query('SET statement_timeout = 0');
    } catch (err) {
      options.onSettled?.();
      throw toEmulatorError(err);
    }
  }
  const query = client.query<(string | null)[]>(config);
  const settled = query.then(
    () => undefined,
    () => undefined,
  );
  void settled
    .then(() => (options.continueAfterTimeout ? client.query('RESET statement_timeout') : undefined))
    .catch(() => undefined)
    .finally(() => options.onSettled?.());

  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    const wait = options.statementTimeoutMs + (options.continueAfterTimeout ? 0 : TIMEOUT_GRACE_MS);
    timer = setTimeout(() => reject(timeoutError()), wait);
  });
  try {
    return await Promise.race([query, timeout]);
  } catch (err) {
    if (err instanceof EmulatorError) {
      // Without continueAfterTimeout the statement is being cancelled (statement_timeout): answer once it has stopped,
      // so the next call on its transaction (the caller's rollback) does not find the transaction still busy.
      if (!options.continueAfterTimeout) {
        await Promise.race([settled, new Promise((resolve) => setTimeout(resolve, CANCEL_WAIT_MS).unref())]);
      }
      throw err;
    }
    if (isStatementTimeout(err)) throw timeoutError();
    throw toEmulatorError(err);
  } finally {
    clearTimeout(timer);
  }
}

interface PgErrorFields {
  code?: string;
  message?: string;
  detail?: string;
  hint?: string;
  position?: string;
}

function isStatementTimeout(err: unknown): boolean {
  const e = err as PgErrorFields;
  return e?.code === '57014' && /statement timeout/.test(e.message ?? '');
}

/**
 * Maps a pg error to the Data API's answer: SQL errors become DatabaseErrorException with the server message and
 * `; SQLState: <code>` (the text Aurora sends); a multi-statement string becomes BadRequestException.
 */
export function toEmulatorError(err: unknown): EmulatorError {
  const e = err as PgErrorFields;
  if (e?.code === '42601' && /cannot insert multiple commands into a prepared statement/.test(e.message ?? '')) {
    return new EmulatorError('BadRequestException', MESSAGES.multistatement);
  }
  if (typeof e?.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code)) {
    const lines = [`ERROR: ${e.message ?? ''}`];
    if (e.detail) lines.push(`  Detail: ${e.detail}`);
    if (e.hint) lines.push(`  Hint: ${e.hint}`);
    if (e.position) lines.push(`  Position: ${e.position}`);
    return new EmulatorError('DatabaseErrorException', `${lines.join('\n')}; SQLState: ${e.code}`);
  }
  const message = err instanceof Error ? err.message : String(err);
  return new EmulatorError('InternalServerErrorException', `Database connection failed: ${message}`);
}
