import { join } from 'node:path';
import pg from 'pg';
import { startAppTraffic, type TrafficStats } from '../demo/app-traffic';
import { seedProduct } from '../demo/seed-product';
import { autoApprove, startLocalTwin, type Approver } from '../local/local-twin';
import { loadSpecFile } from '../spec';
import { StateName } from '../workflow/state-names';
import { applySoak, redact, runOnTwin, writeReport } from './run-command';
import { probeDatabase } from './database-url';

export interface DemoOptions {
  readonly rows: number;
  readonly databaseUrl?: string;
  readonly soak: string;
  readonly report?: string;
  readonly connections: number;
}

/** The runbook's migration, shipped as the first example. */
export const DEMO_SPEC = join(__dirname, '..', '..', 'examples', 'product-price-cents.json');

/**
 * `npm start`: the runbook end to end on the local twin. Seeds `"Product"`, starts simulated application writes,
 * runs examples/product-price-cents.json through the synthesized state machine with auto-approval and a short soak,
 * then checks every row against the cents expected from the price it had when the application stopped writing it.
 */
export async function demoCommand(options: DemoOptions, write: (line: string) => void): Promise<number> {
  if (options.databaseUrl) await probeDatabase(options.databaseUrl);
  const twin = await startLocalTwin(options.databaseUrl ? { databaseUrl: options.databaseUrl } : {});
  const pool = new pg.Pool({ connectionString: twin.databaseUrl, max: 2 });
  pool.on('error', (err) => write(`  (demo connection lost: ${err.message})`));
  try {
    write(`Stepwise demo: the runbook's "Product".price numeric(10,2) → price_cents integer, on ${twin.embedded ? 'an embedded' : 'your'} Postgres (${redact(twin.databaseUrl)})`);
    const seeded = Date.now();
    await seedProduct(pool, options.rows, (done) => write(`  seeding "Product": ${done}/${options.rows} rows`));
    write(`  seeded ${options.rows} rows in ${((Date.now() - seeded) / 1000).toFixed(1)} s; starting ${options.connections} application connections writing prices`);
    await pool.query('DROP TABLE IF EXISTS stepwise_demo_expected');

    const traffic = startAppTraffic({ databaseUrl: twin.databaseUrl, maxId: options.rows, connections: options.connections });
    let stats: TrafficStats | undefined;
    const stopTraffic = async () => (stats ??= await traffic.stop());
    // At the contract gate the application would switch to the new column: stop writing `price`, and record what
    // every row's cents must be, to check after contract.
    const approver: Approver = async (gate) => {
      if (gate.stateName === StateName.ApproveContract) {
        await stopTraffic();
        await pool.query('CREATE TABLE stepwise_demo_expected AS SELECT id, round(price * 100)::integer AS cents FROM "Product"');
      }
      return autoApprove(gate);
    };
    const spec = applySoak(loadSpecFile(DEMO_SPEC), options.soak);
    const { report } = await runOnTwin({ twin, input: spec, write, approver });
    await stopTraffic();
    if (options.report) await writeReport(options.report, report);

    const s = stats!;
    write(`  application writes during the run: ${s.writes} (${s.failed} failed), p50 ${s.p50Ms} ms, p99 ${s.p99Ms} ms, max ${s.maxMs} ms, late (>${s.lateMs} ms): ${s.lateWrites}`);
    if (report.status === 'SUCCEEDED') {
      const check = await pool.query(
        `SELECT count(*)::int AS rows, count(*) FILTER (WHERE p.price_cents IS DISTINCT FROM e.cents)::int AS wrong
           FROM stepwise_demo_expected e LEFT JOIN "Product" p USING (id)`,
      );
      write(`  every row checked against the expected cents: ${check.rows[0].rows} rows, ${check.rows[0].wrong} wrong`);
      if (check.rows[0].wrong !== 0) return 1;
    }
    const columns = await pool.query(
      `SELECT column_name, data_type, is_nullable FROM information_schema.columns WHERE table_name = 'Product' ORDER BY ordinal_position`,
    );
    write(`  "Product" now: ${columns.rows.map((c) => `${c.column_name} ${c.data_type}${c.is_nullable === 'NO' ? ' NOT NULL' : ''}`).join(', ')}`);
    write(`  notifications: .stepwise/notifications.jsonl`);
    return report.status === 'SUCCEEDED' ? 0 : 1;
  } finally {
    await pool.query('DROP TABLE IF EXISTS stepwise_demo_expected').catch(() => undefined);
    await pool.end();
    await twin.stop();
  }
}
