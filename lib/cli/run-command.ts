import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Executor } from '../db/executor';
import { ConfigError, MigrationLockedError } from '../errors';
import { autoApprove, startLocalTwin, type Approver, type LocalTwin } from '../local/local-twin';
import type { RunReport } from '../report/run-report';
import { applySoak, checkSpecExpression, loadSpecFile, type Spec } from '../spec';
import { MigrationStatus, readMigrationOwner } from '../state/migration-state';
import { readResumePoint } from '../state/resume-point';
import { probeDatabase } from './database-url';
import { formatMigrationStatus, readMigrationStatus } from './migration-status';
import { takeRunLock, type RunLock } from './run-lock';
import { RunInterruptedError, runThroughEndpoint, type LocalRunContext } from './run-through-endpoint';

export type { LocalRunContext } from './run-through-endpoint';
export { applySoak } from '../spec';
import { formatReport } from './output';
import { terminalApprover } from './terminal-approver';

export interface RunOptions {
  readonly spec: string;
  readonly local?: boolean;
  readonly databaseUrl?: string;
  readonly autoApprove?: boolean;
  readonly soak?: string;
  readonly report?: string;
  readonly slackWebhookUrl?: string;
  /** Ask again at the gates (and serve the soak again) that the run this one carries on already passed. */
  readonly repeatGates?: boolean;
}


/**
 * `stepwise run --local`: one migration through the synthesized state machine on the local twin. Resolves with the
 * report; the exit code is 0 only when the execution SUCCEEDED.
 */
export async function runCommand(options: RunOptions, write: (line: string) => void): Promise<number> {
  if (!options.local) {
    throw new ConfigError('run needs --local (AWS runs start with `stepwise start`)', 'Add --local to run on the local twin.');
  }
  const spec = await checkSpecExpression(loadSpecFile(options.spec), options.spec);
  const soaked = applySoak(spec, options.soak);
  if (options.databaseUrl) await probeDatabase(options.databaseUrl);
  const twin = await startLocalTwin(options.databaseUrl ? { databaseUrl: options.databaseUrl } : {});
  let lock: RunLock | undefined;
  let approver: ReturnType<typeof terminalApprover> | undefined;
  try {
    write(`local twin: Postgres ${twin.embedded ? '(embedded) ' : ''}${redact(twin.databaseUrl)}, Data API emulator ${twin.dataApi.emulator.url}`);
    lock = await takeRunLock(twin.databaseUrl, spec.name);
    if (!lock.held) throw runningHereError(spec.name);
    const input = await resumeInput(twin.dataApi.executor, { ...soaked, ...(options.repeatGates ? { repeatGates: true } : {}) }, write);
    approver = options.autoApprove ? undefined : terminalApprover();
    const { report } = await runOnTwin({
      twin,
      input,
      write,
      ...(approver ? { approver } : {}),
      ...(options.slackWebhookUrl ? { slackWebhookUrl: options.slackWebhookUrl } : {}),
    });
    if (options.report) await writeReport(options.report, report);
    return report.status === 'SUCCEEDED' ? 0 : 1;
  } catch (err) {
    if (!(err instanceof RunInterruptedError)) throw err;
    // Ctrl-C: the execution stops with this process; say where the migration is and how to carry on or undo it.
    write(`\ninterrupted (${err.signal}): execution ${err.executionArn ?? '(not started)'} is stopped; the migration stays where it was, nothing is rolled back.`);
    const view = await readMigrationStatus(twin.dataApi.executor, spec, options.spec, { local: true, databaseFlags: options.databaseUrl ? `--database-url ${redact(options.databaseUrl)}` : '' }, async () => false);
    write(formatMigrationStatus(view));
    return 130;
  } finally {
    approver?.close();
    await lock?.release();
    await twin.stop();
  }
}

/**
 * The input of a local run: the spec, and when its row is running for an execution that no longer runs (the run lock
 * is ours, so no `run --local` of it is alive), `resumeFrom` that execution, so this run takes the migration over and
 * carries on from the row. An owner that is not the twin's (an AWS execution) is refused: only `start` can know it ended.
 */
async function resumeInput(db: Executor, spec: Spec, write: (line: string) => void): Promise<Spec> {
  const owner = await readMigrationOwner(db, spec.name);
  if (owner?.status !== MigrationStatus.Running) return spec;
  if (owner.execution && !owner.execution.includes(':000000000000:')) {
    throw new MigrationLockedError(
      'SW_MIGRATION_RUNNING',
      `migration "${spec.name}" is running in execution ${owner.execution}, which is not one of the local twin's: this run cannot know whether it still runs (nothing changed)`,
      `Check it with \`stepwise status ${owner.execution}\`; once it has ended, resume on AWS with \`stepwise start --spec <file> --resume-from ${owner.execution}\`.`,
      { migration: spec.name, execution: owner.execution },
    );
  }
  const point = await readResumePoint(db, spec.name);
  const passed = point && !spec.repeatGates ? [...point.gatesPassed, ...(point.soakServedAt ? ['the soak'] : [])] : [];
  write(
    `resuming migration "${spec.name}" from phase ${owner.phase} (${owner.rows_done} rows done)` +
      (owner.execution ? `: execution ${owner.execution} no longer runs, this run takes the migration over` : '') +
      (passed.length ? `; already passed, not asked again: ${passed.join(', ')} (--repeat-gates asks again)` : ''),
  );
  if (!owner.execution) return spec;
  return { ...spec, resumeFrom: owner.execution };
}

function runningHereError(migration: string): MigrationLockedError {
  return new MigrationLockedError(
    'SW_MIGRATION_RUNNING',
    `another \`stepwise run --local\` of migration "${migration}" is running against this database (nothing changed)`,
    'Let it finish, or stop it (Ctrl-C in its terminal), then run again: the new run carries the migration on.',
    { migration },
  );
}

/**
 * Runs the migration through the twin's Step Functions-compatible endpoint (the path of `local up` and the operator's
 * commands), answering gates with `ctx.approver` (auto-approve when absent), and prints the report.
 */
export async function runOnTwin(ctx: LocalRunContext): Promise<{ report: RunReport }> {
  const { report } = await runThroughEndpoint({ ...ctx, approver: ctx.approver ?? autoApprove });
  ctx.write(formatReport(report));
  return { report };
}

/** `--soak PT2S` replaces the spec's soak, checked like the spec field. */

export async function writeReport(file: string, report: RunReport): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, `${JSON.stringify(report, null, 2)}\n`, 'utf8');
}

/** A database URL without its password, for printing. */
export function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    // libpq also takes the password as a query parameter: postgres://app@host/db?password=…
    for (const key of [...u.searchParams.keys()]) if (key.toLowerCase() === 'password') u.searchParams.set(key, '***');
    return u.toString();
  } catch {
    return '<database url>';
  }
}
