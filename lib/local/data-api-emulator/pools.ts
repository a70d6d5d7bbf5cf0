import pg from 'pg';

/** Settings every emulator session starts with. */
export interface SessionSettings {
  /** Server-side `statement_timeout`, so a timed-out statement is cancelled as on Aurora. */
  readonly statementTimeoutMs: number;
}

/**
 * One `pg.Pool` per database name: a request's `database` overrides the one in the URL, as the Data API selects the
 * database per call. Sessions run with `TimeZone=UTC` (Aurora's Data API answers timestamps in UTC).
 */
export class PoolRegistry {
  private readonly pools = new Map<string, pg.Pool>();
  private readonly defaultDatabase: string;

  constructor(
    private readonly databaseUrl: string,
    private readonly settings: SessionSettings,
  ) {
    this.defaultDatabase = decodeURIComponent(new URL(databaseUrl).pathname.slice(1)) || 'postgres';
  }

  /** The pool of `database` (the URL's database when omitted). */
  get(database?: string): pg.Pool {
    const name = database || this.defaultDatabase;
    let pool = this.pools.get(name);
    if (!pool) {
      const url = new URL(this.databaseUrl);
      url.pathname = `/${encodeURIComponent(name)}`;
      pool = new pg.Pool({
        connectionString: url.toString(),
        statement_timeout: this.settings.statementTimeoutMs,
        options: '-c TimeZone=UTC',
        max: 20,
        idleTimeoutMillis: 5_000,
      });
      // An idle client dies when its database is dropped (DROP DATABASE … WITH (FORCE)); that is not a crash.
      pool.on('error', () => undefined);
      // A session terminated while checked out (server restart, pg_terminate_backend) fails its query with 57P01, then
      // its socket closes and pg emits 'error' on the client, which has no pool listener while checked out: without
      // this the process would crash. The dead client is dropped on release (pg-pool checks it is still queryable).
      pool.on('connect', (client) => client.on('error', () => undefined));
      this.pools.set(name, pool);
    }
    return pool;
  }

  /** Ends every pool. */
  async closeAll(): Promise<void> {
    const pools = [...this.pools.values()];
    this.pools.clear();
    await Promise.all(pools.map((p) => p.end().catch(() => undefined)));
  }
}
