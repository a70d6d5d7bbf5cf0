import { createInterface } from 'node:readline';
import type { Approver } from '../local/local-twin';
import { Gate } from '../constants';
import { chatbotContent } from '../local/sns-sink';

/** An approver that reads its answers from a stream; `close()` releases the stream when the run ends. */
export type TerminalApprover = Approver & { close(): void };

/**
 * Asks on the terminal at each approval gate: shows what is about to happen (the gate's notification) and waits for
 * approve or reject (with a reason). Gates are asked one at a time; answers typed ahead (or piped) are kept in order.
 */
export function terminalApprover(input: NodeJS.ReadableStream = process.stdin, output: NodeJS.WritableStream = process.stdout): TerminalApprover {
  const rl = createInterface({ input, terminal: false });
  const lines = rl[Symbol.asyncIterator]();
  const readLine = async (prompt: string): Promise<string> => {
    output.write(prompt);
    const next = await lines.next();
    if (next.done) throw new Error('standard input closed before the gate was answered');
    return String(next.value).trim();
  };
  let queue: Promise<unknown> = Promise.resolve();
  const ask = async (gate: Parameters<Approver>[0]) => {
    const content = chatbotContent(typeof gate.message === 'string' ? gate.message : JSON.stringify(gate.message));
    output.write(`\n┌ approval needed: ${gate.stateName}\n`);
    if (content?.title) output.write(`│ ${content.title}\n`);
    for (const line of (content?.description ?? '').split('\n')) if (line.trim()) output.write(`│ ${line}\n`);
    output.write(`│ approve: the migration goes on.  reject: ${rejectDoes(gate.stateName)}\n`);
    for (;;) {
      const answer = (await readLine('└ approve or reject? [a/r] ')).toLowerCase();
      if (['a', 'approve', 'y', 'yes'].includes(answer)) return { approved: true as const, comment: 'approved on the terminal' };
      if (['r', 'reject', 'n', 'no'].includes(answer)) {
        const reason = (await readLine('  reason: ')) || 'rejected on the terminal';
        return { approved: false as const, reason };
      }
    }
  };
  const approver = (gate: Parameters<Approver>[0]) => {
    const next = queue.then(() => ask(gate), () => ask(gate));
    queue = next;
    return next;
  };
  return Object.assign(approver, { close: () => rl.close() });
}

/** What rejecting a gate does, in one sentence (the workflow's Catch sends a rejection to the phase-aware rollback). */
export function rejectDoes(gate: string): string {
  switch (gate) {
    case Gate.Start:
      return 'the run ends here; nothing has changed yet, so there is nothing to undo.';
    case Gate.DualWriteDeployed:
    case Gate.ReadFromNewDeployed:
      return 'the migration is rolled back: the new column, the sync trigger and the index are dropped; the old column and its data are untouched.';
    case Gate.Contract:
      return 'contract does not run; the application already reads the new column, so the rollback drops nothing and the run ends RollbackFailed with the manual steps.';
    default:
      return 'the workflow fails this gate and rolls the migration back (phase-aware).';
  }
}
