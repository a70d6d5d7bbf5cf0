import { readTableFacts } from '../catalog/read-table-facts';
import { startLocalDataApi } from '../local/local-data-api';
import { loadSpecFile } from '../spec';
import { assumedTableFacts, renderPlan } from './render-plan';

/** `stepwise plan`: the runbook that will run, with the live table's key when a database URL is given. */
export async function planCommand(options: { spec: string; databaseUrl?: string }, write: (text: string) => void): Promise<number> {
  const spec = loadSpecFile(options.spec);
  if (!options.databaseUrl) {
    write(renderPlan(spec, assumedTableFacts(spec), true));
    return 0;
  }
  const local = await startLocalDataApi(options.databaseUrl);
  try {
    write(renderPlan(spec, await readTableFacts(local.executor, spec.table), false));
    return 0;
  } finally {
    await local.close();
  }
}
