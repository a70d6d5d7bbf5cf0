import { readTableFacts } from '../catalog/read-table-facts';
import type { Executor } from '../db/executor';
import { operationFor } from '../operations';
import { parseSpec, type Spec } from '../spec';
import type { PhaseEvent } from '../workflow/state';

/** What a phase needs besides its event: the database, a clock and a sleep (replaceable in tests). */
export interface PhaseDeps {
  readonly db: Executor;
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
  /**
   * When this invocation must have answered (ms since the epoch): the Lambda's remaining time less a margin. Long
   * statements are watched until then. @default 40 s after the phase starts
   */
  readonly deadline?: number;
  /** Progress lines for long phases (backfill, verify). */
  readonly log?: (message: string, data?: Record<string, unknown>) => void; // debug level: one line per batch
}

export const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Spec, live table facts and the bound operation, as every phase after preflight needs them. */
export async function loadPhaseContext(event: PhaseEvent, db: Executor) {
  const spec: Spec = parseSpec(event.state.spec);
  const table = await readTableFacts(db, spec.table);
  return { spec, table, ...operationFor(spec, table) };
}
