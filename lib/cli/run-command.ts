import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ConfigError } from '../errors';
import { autoApprove, startLocalTwin, type Approver, type LocalTwin } from '../local/local-twin';
import type { RunReport } from '../report/run-report';
import { checkSpecExpression, durationToSeconds, loadSpecFile, type Spec } from '../spec';
import { runThroughEndpoint } from './run-through-endpoint';
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
}

/** What `run` and the demo share: a started twin, the spec as input, progress and the report. */
export interface LocalRunContext {
  readonly twin: LocalTwin;
  readonly input: Spec;
  readonly approver?: Approver;
  readonly write: (line: string) => void;
  readonly slackWebhookUrl?: string;
  readonly maxWaitMs?: number;
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
  const input = applySoak(spec, options.soak);
  const twin = await startLocalTwin(options.databaseUrl ? { databaseUrl: options.databaseUrl } : {});
  const approver = options.autoApprove ? undefined : terminalApprover();
  try {
    write(`local twin: Postgres ${twin.embedded ? '(embedded) ' : ''}${redact(twin.databaseUrl)}, Data API emulator ${twin.dataApi.emulator.url}`);
    const { report } = await runOnTwin({
      twin,
      input,
      write,
      ...(approver ? { approver } : {}),
      ...(options.slackWebhookUrl ? { slackWebhookUrl: options.slackWebhookUrl } : {}),
    });
    if (options.report) await writeReport(options.report, report);
    return report.status === 'SUCCEEDED' ? 0 : 1;
  } finally {
    approver?.close();
    await twin.stop();
  }
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
export function applySoak(spec: Spec, soak: string | undefined): Spec {
  if (soak === undefined) return spec;
  try {
    durationToSeconds(soak);
  } catch {
    throw new ConfigError(`--soak ${soak} is not an ISO 8601 duration`, 'Write it like PT2S, PT10M or P7D.', { soak });
  }
  return { ...spec, soak };
}

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
