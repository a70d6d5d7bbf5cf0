import { backfillBatchSql, DEFAULT_INVOCATION_WAIT_SECONDS, keysetParams, TIME_BOX_MARGIN_MS } from '../backfill';
import { Phase } from '../constants';
import { StepwiseError } from '../errors';
import { markPhase, readMigration } from '../state/migration-state';
import type { BackfillResult, PhaseEvent } from '../workflow/state';
import { loadPhaseContext, realSleep, type PhaseDeps } from './phase-context';

/**
 * Backfill: runs keyset batches until the table ends or the invocation's time box is spent, then returns a cursor;
 * the state machine's Choice/Wait loop calls it again. The cursor that counts is the one in the state table, moved in
 * the same statement as each batch's rows, so a crashed or repeated invocation resumes exactly where the data is.
 */
export async function backfillPhase(event: PhaseEvent, deps: PhaseDeps): Promise<BackfillResult> {
  const now = deps.now ?? Date.now;
  const sleep = deps.sleep ?? realSleep;
  const started = now();
  const { spec, table, operation, ctx } = await loadPhaseContext(event, deps.db);
  const { batchSize, pauseMs, maxSecondsPerInvocation } = spec.backfill;
  const deadline = started + maxSecondsPerInvocation * 1000 - TIME_BOX_MARGIN_MS;
  const task = operation.backfill(ctx);
  const state = await readMigration(deps.db, spec.name);
  if (!state) {
    throw new StepwiseError('SW_NOT_CLAIMED', `migration "${spec.name}" has no progress row`, 'The backup phase claims the table; run the workflow from the start.', { migration: spec.name });
  }
  await markPhase(deps.db, spec.name, Phase.Backfill);

  let cursor = state.cursor;
  let done = false;
  for (;;) {
    const row = (await deps.db.query(backfillBatchSql(table, task, cursor === null), { ...keysetParams(cursor, batchSize), migration: spec.name })).rows[0];
    const scanned = Number(row?.scanned ?? 0);
    if (scanned > 0) cursor = String(row?.last_key);
    if (scanned < batchSize) {
      done = true;
      break;
    }
    if (now() + pauseMs >= deadline) break;
    if (pauseMs > 0) await sleep(pauseMs);
    deps.log?.('backfill batch', { cursor, scanned });
  }

  const totals = (await readMigration(deps.db, spec.name))!;
  const previous = event.state[event.slot] as BackfillResult | undefined;
  return {
    done,
    cursor,
    rows: Number(totals.rows_done),
    batches: Number(totals.batches),
    seconds: (previous?.seconds ?? 0) + (now() - started) / 1000,
    estimatedRows: Math.max(table.estimatedRows, Number(totals.rows_done)),
    waitSeconds: DEFAULT_INVOCATION_WAIT_SECONDS,
  };
}
