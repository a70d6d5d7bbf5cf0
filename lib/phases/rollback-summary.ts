import { RollbackOutcome, type RollbackResult } from '../workflow/state';

/** What a rollback found and did, as the catalog reports it afterwards. */
export interface RollbackFacts {
  readonly migration: string;
  readonly outcome: RollbackOutcome;
  readonly oldColumn: string;
  readonly newColumn: string;
  /** Present before, absent after. */
  readonly dropped: readonly string[];
  /** Present after. */
  readonly kept: readonly string[];
  /** Why something was kept or skipped. */
  readonly reason?: string;
  /** What does the work left (a command or SQL). */
  readonly command?: string;
  readonly steps: readonly string[];
  readonly seconds: number;
}

const list = (items: readonly string[]) => items.join(', ');

/**
 * The rollback's result with its headline and summary: pure, so every sentence is decided by the facts it is given
 * (read back from the catalog). "Dropped" names only what is gone; "kept" only what is there.
 */
export function rollbackResult(facts: RollbackFacts): RollbackResult {
  const { outcome, dropped, kept, reason, command } = facts;
  const old = `"${facts.oldColumn}"`;
  const fresh = `"${facts.newColumn}"`;
  let headline: string;
  let summary: string;
  switch (outcome) {
    case RollbackOutcome.RolledBack:
      headline = 'rolled back';
      summary = dropped.length
        ? `Rolled back: dropped ${list(dropped)}. The old column ${old} and its data were never touched; the table is as before the migration.`
        : `Rolled back: the migration had added nothing to the table (checked in the catalog), so nothing was dropped and no lock was taken; the table is as before the migration.`;
      break;
    case RollbackOutcome.Released:
      headline = dropped.length ? `sync removed, new column ${fresh} kept` : `new column ${fresh} kept`;
      summary =
        `Rolled back the sync only: kept ${list(kept)} because ${reason ?? 'the application uses the new column'}; an automatic rollback never drops what the application reads or writes. ` +
        (dropped.length ? `Dropped ${list(dropped)}: ${fresh} is no longer kept equal to ${old}. ` : `Nothing else to remove (no sync trigger or NOT NULL was left). `) +
        `Deploy the application version that reads and writes only ${old}, then drop what was kept: ${command ?? '(nothing)'}`;
      break;
    case RollbackOutcome.NothingToDo:
      headline = 'nothing to roll back';
      summary = `Nothing was rolled back, and nothing needed to be: ${reason ?? 'this execution had changed nothing'}.`;
      break;
    case RollbackOutcome.Skipped:
      headline = 'NOT rolled back';
      summary =
        `Nothing was rolled back: ${reason ?? 'the migration is not this execution\'s'}. ` +
        (kept.length ? `Still in place: ${list(kept)}. ` : 'The migration has no object left on the table. ') +
        (command ? `To undo it: ${command}` : 'Nothing is left to undo.');
      break;
  }
  return {
    steps: facts.steps,
    seconds: facts.seconds,
    outcome,
    headline,
    summary,
    dropped: [...dropped],
    kept: [...kept],
    reason: reason ?? null,
    command: command ?? null,
  };
}
