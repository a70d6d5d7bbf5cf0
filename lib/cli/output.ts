import { StepwiseError } from '../errors';
import type { RunReport } from '../report/run-report';

/** Prints an error the way every command does: code, message, fix. */
export function formatError(err: unknown): string {
  if (err instanceof StepwiseError) return `error ${err.code}: ${err.message.replace(/^SW_[A-Z_]+: /, '')}\n  fix: ${err.hint}`;
  return `error: ${err instanceof Error ? err.message : String(err)}`;
}

/** The run summary: each phase with its duration, backfill figures, verification, transitions. */
export function formatReport(report: RunReport): string {
  const lines = [`\nexecution ${report.status}  (${report.executionArn})`];
  for (const p of report.phases) {
    lines.push(`  ${p.status === 'SUCCEEDED' ? '✓' : p.status === 'FAILED' ? '✗' : '…'} ${p.name.padEnd(28)} ${p.seconds === null ? '' : `${p.seconds.toFixed(2)} s`}`);
  }
  const b = report.backfill;
  lines.push(`  backfill: ${b.rows} rows in ${b.batches} batches, ${b.seconds.toFixed(2)} s, ${b.rowsPerSecond} rows/s`);
  const v = report.verify;
  lines.push(`  verify:   ${v.rowsChecked} rows checked, ${v.nulls} NULLs, ${v.mismatches} mismatches${v.sampleIds.length ? ` (e.g. ${v.sampleIds.slice(0, 5).join(', ')})` : ''}`);
  lines.push(`  state transitions: ${report.transitions}`);
  if (report.rollback) lines.push(`  rollback: ${report.rollback.summary}`);
  if (report.status !== 'SUCCEEDED' && report.error) lines.push(`  error: ${report.error}${report.cause ? `\n  cause: ${causeText(report.cause)}` : ''}`);
  return lines.join('\n');
}

/** A Lambda failure's Cause is JSON with `errorMessage`; show that, else the raw text. */
export function causeText(cause: string): string {
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: string };
    return parsed.errorMessage ?? cause;
  } catch {
    return cause;
  }
}
