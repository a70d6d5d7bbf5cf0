import { Phase } from '../constants';
import { runPhase } from '../phases/run-phase';
import { loadSpecFile } from '../spec';
import { readMigrationOwner } from '../state/migration-state';
import { RollbackOutcome, type RollbackResult } from '../workflow/state';
import { openExecutor, type PauseOptions } from './pause-command';

/** Options of `stepwise rollback`: the spec and the database (a URL through the local emulator, or Aurora). */
export type RollbackOptions = PauseOptions;

/**
 * `stepwise rollback --spec F [--database-url URL | --cluster-arn A --secret-arn S --database D]`: undoes a migration
 * whose execution died, was aborted or killed, phase-aware, by running the state machine's own rollback phase on behalf
 * of the execution that owns the migration's row (the same code, the same safety: drops only what exists, keeps the
 * new column once the application was told to use it, refuses after contract, gives up on a held lock naming the
 * blocker). Prints what it dropped and kept as read back from the catalog. Exit 0 when the migration is rolled back
 * (or released: only the sync machinery removed), 1 when nothing was rolled back.
 */
export async function rollbackCommand(options: RollbackOptions, write: (line: string) => void): Promise<number> {
  const spec = loadSpecFile(options.spec);
  const { db, close } = await openExecutor(options);
  try {
    const owner = await readMigrationOwner(db, spec.name);
    if (!owner) {
      write(`migration "${spec.name}" has no row in the state table: it has not started on this database (nothing changed)`);
      return 1;
    }
    if (owner.status === 'running' && owner.execution) {
      write(`migration "${spec.name}" is running for execution ${owner.execution} (phase ${owner.phase}); rolling back on its behalf. If that execution still runs, stop it (stepwise abort ${owner.execution}): it changes nothing once this rollback has ended the migration.`);
    }
    const result = (await runPhase(
      Phase.Rollback,
      { state: { spec }, slot: 'rollback', ...(owner.execution ? { execution: owner.execution } : {}) },
      { db },
    )) as RollbackResult;
    write(`${spec.name}: ${result.headline}`);
    write(result.summary);
    for (const object of result.dropped) write(`  dropped: ${object}`);
    for (const object of result.kept) write(`  kept:    ${object}`);
    return result.outcome === RollbackOutcome.RolledBack || result.outcome === RollbackOutcome.Released ? 0 : 1;
  } finally {
    await close();
  }
}
