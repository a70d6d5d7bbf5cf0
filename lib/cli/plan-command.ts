import { readTableFacts } from '../catalog/read-table-facts';
import { startLocalDataApi } from '../local/local-data-api';
import type { PreflightCheck } from '../catalog/preflight-checks';
import { runPreflightChecks } from '../phases/preflight';
import { checkSpecExpression, loadSpecFile } from '../spec';
import { assumedTableFacts, renderPlan } from './render-plan';
import { probeDatabase } from './database-url';

/** `stepwise plan`: the runbook that will run, with the live table's key when a database URL is given. */
export async function planCommand(options: { spec: string; databaseUrl?: string }, write: (text: string) => void): Promise<number> {
  const spec = await checkSpecExpression(loadSpecFile(options.spec), options.spec);
  if (!options.databaseUrl) {
    write(renderPlan(spec, assumedTableFacts(spec), true));
    return 0;
  }
  await probeDatabase(options.databaseUrl);
  const local = await startLocalDataApi(options.databaseUrl);
  try {
    const checks = await runPreflightChecks(local.executor, spec);
    write(renderChecks(checks));
    if (checks.some((c) => c.status === 'fail')) {
      write('\npreflight would refuse this migration: fix the failures above (nothing was changed).');
      return 1;
    }
    write(renderPlan(spec, await readTableFacts(local.executor, spec.table), false));
    return 0;
  } finally {
    await local.close();
  }
}

/** Preflight's verdicts as `stepwise plan --database-url` prints them: one line each, the fix under warnings and failures. */
export function renderChecks(checks: readonly PreflightCheck[]): string {
  const mark = { pass: '✓', warn: '!', fail: '✗' } as const;
  const lines = ['Preflight against the live database:'];
  for (const c of checks) {
    lines.push(`  ${mark[c.status as keyof typeof mark] ?? '?'} ${c.name}: ${c.message}`);
    if (c.status !== 'pass' && c.hint) lines.push(`      fix: ${c.hint}`);
  }
  return lines.join('\n');
}
