import { createInterface } from 'node:readline/promises';
import type { Approver } from '../local/local-twin';
import { chatbotContent } from '../local/sns-sink';

/**
 * Asks on the terminal at each approval gate: shows what is about to happen (the gate's notification) and waits for
 * approve or reject. Gates are asked one at a time.
 */
export function terminalApprover(input: NodeJS.ReadableStream = process.stdin, output: NodeJS.WritableStream = process.stdout): Approver {
  let queue: Promise<unknown> = Promise.resolve();
  return (gate) => {
    const ask = async () => {
      const content = chatbotContent(typeof gate.message === 'string' ? gate.message : JSON.stringify(gate.message));
      output.write(`\n┌ approval needed: ${gate.stateName}\n`);
      if (content?.title) output.write(`│ ${content.title}\n`);
      for (const line of (content?.description ?? '').split('\n')) if (line.trim()) output.write(`│ ${line}\n`);
      const rl = createInterface({ input, output });
      try {
        for (;;) {
          const answer = (await rl.question('└ approve or reject? [a/r] ')).trim().toLowerCase();
          if (answer === 'a' || answer === 'approve' || answer === 'y' || answer === 'yes') return { approved: true as const, comment: 'approved on the terminal' };
          if (answer === 'r' || answer === 'reject' || answer === 'n' || answer === 'no') {
            const reason = (await rl.question('  reason: ')).trim() || 'rejected on the terminal';
            return { approved: false as const, reason };
          }
        }
      } finally {
        rl.close();
      }
    };
    const next = queue.then(ask, ask);
    queue = next;
    return next;
  };
}
