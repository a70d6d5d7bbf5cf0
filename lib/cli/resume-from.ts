import { DescribeExecutionCommand, type SFNClient } from '@aws-sdk/client-sfn';
import { StepwiseError } from '../errors';
import type { Spec } from '../spec';
import { call } from './operator/sfn-client';

/** Recovery flags of `stepwise start`. */
export interface ResumeFlags {
  /** The ended execution whose migration this start carries on. */
  readonly resumeFrom?: string;
  readonly repeatGates?: boolean;
}

/**
 * `start --resume-from X [--repeat-gates]`: X must have ended (an execution still running keeps its migration); the
 * spec given to the new execution then names it, and the new execution takes the migration's state row over from it.
 */
export async function withResumeFlags(client: SFNClient, spec: Spec, flags: ResumeFlags): Promise<Spec> {
  const out: Spec = { ...spec, ...(flags.repeatGates ? { repeatGates: true } : {}) };
  if (!flags.resumeFrom) return out;
  // An execution that no longer exists (a local twin's, gone with its process; or past its retention) does not run.
  // A wrong ARN is harmless: the new execution takes the row over only from the owner the row names.
  const status = await call(
    () => client.send(new DescribeExecutionCommand({ executionArn: flags.resumeFrom })).then((d) => d.status, (err: Error) => (err.name === 'ExecutionDoesNotExist' ? 'GONE' : Promise.reject(err))),
    'DescribeExecution',
  );
  if (status === 'RUNNING') {
    throw new StepwiseError(
      'SW_RESUME_FROM_RUNNING',
      `execution ${flags.resumeFrom} is still running: it keeps migration "${spec.name}" (nothing was started)`,
      `Follow it with \`stepwise status ${flags.resumeFrom}\`; to stop it first, \`stepwise abort ${flags.resumeFrom}\`, then start with --resume-from again.`,
      { execution: flags.resumeFrom },
    );
  }
  return { ...out, resumeFrom: flags.resumeFrom };
}
