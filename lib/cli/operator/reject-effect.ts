import { Gate } from '../../constants';

/**
 * What `stepwise reject` does at a gate, in the words the CLI prints beside the command. Before any change
 * (ApproveStart) the rollback has nothing to undo; at every later gate the team has been asked to deploy code that
 * writes or reads the new column, so the rollback keeps it (and its backup) and removes only the sync machinery.
 */
export function rejectEffect(gate: string): string {
  return gate === Gate.Start ? 'rolls back: nothing has changed yet' : 'rolls back the sync trigger only: the new column and the backup stay';
}
