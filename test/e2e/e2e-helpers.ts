import { PRODUCT_DDL } from '../../lib/demo/seed-product';
import { runMigrationLocally, type Approver, type LocalMigrationOptions } from '../../lib/local/local-twin';
import type { SnsMessage } from '../../lib/local/step-functions';
import { StateName } from '../../lib/workflow/state-names';
import runbook from '../../examples/product-price-cents.json';
import type { TestDatabase } from '../helpers/test-database';

/** Every phase task retries without pausing in tests (the pauses are real Step Functions backoff otherwise). */
export const NO_RETRY_PAUSES = Object.fromEntries(
  [StateName.Preflight, StateName.Backup, StateName.Expand, StateName.Backfill, StateName.Verify, StateName.Constrain, StateName.VerifyAfterSoak, StateName.VerifyBeforeContract, StateName.Contract, StateName.Rollback].map(
    (s) => [s, 0],
  ),
);

/** The runbook spec with small batches and no soak, for tests. */
export function runbookSpec(over: Record<string, unknown> = {}) {
  return { ...runbook, backfill: { batchSize: 250, pauseMs: 0 }, soak: 'PT0S', ...over };
}

export async function seedProducts(db: TestDatabase, rows: number): Promise<void> {
  await db.pg.query(PRODUCT_DDL);
  await db.pg.query(`INSERT INTO "Product" (id, name, price) SELECT g, 'p' || g, (g * 37 % 100000) / 100.0 + 0.01 FROM generate_series(1, $1::int) g`, [rows]);
  await db.pg.query(`SELECT setval(pg_get_serial_sequence('"Product"', 'id'), $1::int)`, [rows]);
  await db.pg.query('ANALYZE "Product"');
}

/** Runs the synthesized state machine on the twin pointed at `db`, collecting the SNS messages. */
export async function runOnDatabase(db: TestDatabase, spec: unknown, approver?: Approver, extra: Partial<LocalMigrationOptions> = {}) {
  Object.assign(process.env, db.env);
  const messages: SnsMessage[] = [];
  const run = await runMigrationLocally({
    spec,
    sns: (m) => void messages.push(m),
    maxWaitMs: 0,
    retryIntervalOverrides: NO_RETRY_PAUSES,
    ...(approver ? { approver } : {}),
    ...extra,
  });
  return { ...run, messages };
}

/** Rejects one gate, approves the others. */
export function rejectAt(gateName: string, reason = 'not today'): Approver {
  return async (gate) => (gate.stateName === gateName ? { approved: false, reason } : { approved: true });
}
