/**
 * A `--database-url` the operator typed: checked for its form before anything starts, and reached once directly so
 * that a wrong host, port, role, password or database is reported as what it is (not as a Data API outage).
 */
import pg from 'pg';
import { DatabaseError, StepwiseError } from '../errors';

/** The form `--database-url` expects, as every message shows it. */
export const DATABASE_URL_FORM = 'postgres://user:password@host:5432/database';

/** Why `value` is not a Postgres URL, or undefined when it is one. */
export function databaseUrlProblem(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return `"${value}" is not a URL; expected ${DATABASE_URL_FORM}`;
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    return `"${url.protocol}" is not a Postgres URL scheme; expected ${DATABASE_URL_FORM}`;
  }
  if (!url.hostname) return `the URL names no host; expected ${DATABASE_URL_FORM}`;
  return undefined;
}

/** Host, port, database and role of a URL, for messages (never the password). */
export function databaseTarget(value: string): { host: string; port: number; database: string; role: string } {
  const url = new URL(value);
  return {
    host: url.hostname,
    port: url.port ? Number(url.port) : 5432,
    database: decodeURIComponent(url.pathname.replace(/^\//, '')) || decodeURIComponent(url.username) || 'postgres',
    role: decodeURIComponent(url.username) || process.env.PGUSER || 'the current OS user',
  };
}

/** A database that cannot be reached or entered with the URL given: its problem in words and the fix. */
export class DatabaseUnreachableError extends StepwiseError {
  override readonly name = 'DatabaseUnreachableError';
}

/** The database refused an action for lack of a privilege (SQLSTATE 42501). */
export class PermissionDeniedError extends StepwiseError {
  override readonly name = 'PermissionDeniedError';
}

/** Connects once with `databaseUrl` and runs `SELECT 1`; throws `DatabaseUnreachableError` saying what is wrong. */
export async function probeDatabase(databaseUrl: string, timeoutMs = 10_000): Promise<void> {
  const problem = databaseUrlProblem(databaseUrl);
  const t = databaseTarget(databaseUrl);
  if (problem) throw new DatabaseUnreachableError('SW_DATABASE_URL_INVALID', problem, `Pass --database-url ${DATABASE_URL_FORM}.`);
  const client = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: timeoutMs });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
  } catch (err) {
    throw connectionError(err, t);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** The error of a failed connection, in words: where it went, what answered, and what to check. */
export function connectionError(err: unknown, t: ReturnType<typeof databaseTarget>): StepwiseError {
  const e = err as { code?: string; message?: string };
  const where = `${t.host}:${t.port}`;
  const details = { host: t.host, port: t.port, database: t.database, role: t.role, cause: e.code ?? e.message };
  const code = e.code ?? '';
  if (code === 'ECONNREFUSED') {
    return new DatabaseUnreachableError('SW_DB_UNREACHABLE', `nothing accepts connections at ${where} (connection refused)`, `Check the host and port of --database-url, and that Postgres runs there and listens on ${t.port}.`, details);
  }
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    return new DatabaseUnreachableError('SW_DB_UNREACHABLE', `host "${t.host}" of --database-url is not known (DNS lookup failed)`, 'Check the host name in --database-url.', details);
  }
  if (code === 'ETIMEDOUT' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH' || /timeout/i.test(e.message ?? '')) {
    return new DatabaseUnreachableError('SW_DB_UNREACHABLE', `no answer from ${where} (${code || 'timed out'})`, 'Check the host and port, and that a firewall or security group lets this machine reach them.', details);
  }
  if (code === '28P01' || code === '28000') {
    return new DatabaseUnreachableError('SW_DB_LOGIN_FAILED', `Postgres at ${where} refused role "${t.role}" for database "${t.database}": ${e.message}`, 'Check the user name and password in --database-url (and pg_hba.conf for this host).', details);
  }
  if (code === '3D000') {
    return new DatabaseUnreachableError('SW_DB_NOT_FOUND', `database "${t.database}" does not exist on ${where}`, 'Check the database name at the end of --database-url (`psql -l` lists them).', details);
  }
  if (code === '42501') {
    return new PermissionDeniedError('SW_PERMISSION_DENIED', `role "${t.role}" may not connect to database "${t.database}" on ${where}: ${e.message}`, `Grant it: GRANT CONNECT ON DATABASE "${t.database}" TO "${t.role}";`, details);
  }
  return new DatabaseUnreachableError('SW_DB_UNREACHABLE', `cannot connect to database "${t.database}" at ${where} as "${t.role}": ${e.message ?? String(err)}`, 'Check --database-url (host, port, database, user, password).', details);
}

/**
 * A database error the CLI shows as what it is: a permission problem (SQLSTATE 42501) names the missing privilege and
 * the fix instead of the generic database hint. Anything else is returned unchanged.
 */
export function explainCliError(err: unknown): unknown {
  if (err instanceof DatabaseError && err.details.sqlState === '42501') {
    return new PermissionDeniedError(
      'SW_PERMISSION_DENIED',
      `the database role lacks a privilege: ${err.message.replace(/; SQLState: 42501$/, '')}`,
      'Run it as the migration role (the one that owns the table), or grant this role what the message names (docs/DEPLOY.md lists the privileges Stepwise needs).',
      { ...err.details },
    );
  }
  return err;
}
