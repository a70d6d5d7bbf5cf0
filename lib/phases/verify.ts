import { DEFAULT_SCAN_BATCH_SIZE, TIME_BOX_MARGIN_MS } from '../backfill';
import { VerificationError } from '../errors';
import { sampleKeysAllowed } from '../spec';
import { recordKeepNewColumn } from '../state/migration-state';
import type { PhaseEvent, VerifyResult } from '../workflow/state';

/** The verification slots that run after the application switched its reads (after the soak, before contract). */
const READ_SWITCHED_SLOTS: readonly string[] = ['verifyAfterSoak', 'verifyBeforeContract'];
import { loadPhaseContext, type PhaseDeps } from './phase-context';
import { scanTable, type ScanTotals } from './scan-table';
import { placeVerifyCall, verifyContinuation } from './verify-continuation';

/**
 * Verify: counts, in read-only keyset batches, rows whose new column is NULL and rows whose new column differs from
 * `using` (with up to 100 sample keys). Loops like the backfill; on the last batch it fails the phase when any row is
 * wrong, which sends the workflow to rollback before anything irreversible happens.
 */
export async function verifyPhase(event: PhaseEvent, deps: PhaseDeps): Promise<VerifyResult> {
  const now = deps.now ?? Date.now;
  const started = now();
  const { spec, table, operation, ctx } = await loadPhaseContext(event, deps.db);
  // Continue-as-new: a verification continued from another execution takes the state row over first.
  const place = await placeVerifyCall(event, deps, spec);
  // These re-verifications run once the application reads the new column: record that in the state row (set-only),
  // so no rollback by any later execution drops a column in use (the event's approvals are this run's only).
  if (READ_SWITCHED_SLOTS.includes(event.slot)) {
    await recordKeepNewColumn(deps.db, spec.name, `${event.slot} ran: the application reads "${spec.operation.newColumn}" (ConfirmReadFromNewDeployed approved)`);
  }
  const task = operation.verify(ctx);
  const previous = event.state[event.slot] as VerifyResult | undefined;
  const from: ScanTotals | undefined = previous && !previous.done
    ? { done: false, cursor: previous.cursor, rowsChecked: previous.rowsChecked, counts: { nulls: previous.nulls, mismatches: previous.mismatches }, samples: { nulls: [], mismatches: [...previous.sampleIds] } }
    : undefined;
  const totals = await scanTable(deps.db, table, { nulls: task.isNull, mismatches: task.mismatch }, {
    batchSize: DEFAULT_SCAN_BATCH_SIZE,
    deadline: started + spec.backfill.maxSecondsPerInvocation * 1000 - TIME_BOX_MARGIN_MS,
    now,
    ...(from ? { from } : {}),
  });
  const result: VerifyResult = {
    done: totals.done,
    cursor: totals.cursor,
    rowsChecked: totals.rowsChecked,
    nulls: totals.counts.nulls ?? 0,
    mismatches: totals.counts.mismatches ?? 0,
    // notifications.sampleKeys: false keeps keys (possibly personal data) out of the state, the error and its message.
    sampleIds: sampleKeysAllowed(spec) ? [...new Set([...(totals.samples.mismatches ?? []), ...(spec.operation.notNull ? totals.samples.nulls ?? [] : [])])].slice(0, 100) : [],
    seconds: (previous && !previous.done ? previous.seconds : 0) + (now() - started) / 1000,
    ...(await verifyContinuation(event, place, totals.done, deps, spec)),
  };
  if (result.done && (result.mismatches > 0 || (spec.operation.notNull && result.nulls > 0))) {
    throw new VerificationError(
      'SW_VERIFY_FAILED',
      `verification found ${result.mismatches} rows where ${spec.operation.newColumn} differs from ${spec.operation.using} and ${result.nulls} NULLs in ${result.rowsChecked} rows${result.sampleIds.length ? ` (e.g. ${table.primaryKey.column} = ${result.sampleIds.slice(0, 10).join(', ')})` : ''}`,
      spec.dualWrite === 'application'
        ? 'The application\'s dual-write code computes the new value differently from `using` (e.g. rounding in JS floats); fix it or use dualWrite: "trigger".'
        : 'Something wrote the new column outside the sync trigger; find the writer, then run the migration again.',
      { ...result },
    );
  }
  return result;
}
