import type { Executor } from '../../lib/db/executor';
import { Phase } from '../../lib/constants';
import { runPhase } from '../../lib/phases/run-phase';
import type { BackfillResult, VerifyResult } from '../../lib/workflow/state';

/**
 * Drives phases the way the state machine does (same event shape, same result slots, the same loops), without the
 * state machine: for the operation harness, which must run hundreds of phases quickly.
 */
export class PhaseDriver {
  state: Record<string, unknown>;

  constructor(
    private readonly db: Executor,
    spec: unknown,
  ) {
    this.state = { spec };
  }

  async run(phase: Phase, slot: string = phase): Promise<unknown> {
    const result = await runPhase(phase, { state: this.state as never, slot }, { db: this.db, sleep: async () => undefined });
    this.state = { ...this.state, [slot]: result };
    return result;
  }

  /** Backfill until done (each call is one time-boxed invocation). */
  async backfill(): Promise<BackfillResult> {
    let result: BackfillResult;
    do result = (await this.run(Phase.Backfill)) as BackfillResult;
    while (!result.done);
    return result;
  }

  async verify(slot = 'verify'): Promise<VerifyResult> {
    this.state = { ...this.state, [slot]: undefined };
    let result: VerifyResult;
    do result = (await this.run(Phase.Verify, slot)) as VerifyResult;
    while (!result.done);
    return result;
  }

  /** Preflight → backup → expand → backfill → verify → constrain → contract, stopping after `last`. */
  async runThrough(last: Phase): Promise<void> {
    const order: Phase[] = [Phase.Preflight, Phase.Backup, Phase.Expand, Phase.Backfill, Phase.Verify, Phase.Constrain, Phase.Contract];
    for (const phase of order.slice(0, order.indexOf(last) + 1)) {
      if (phase === Phase.Backfill) await this.backfill();
      else if (phase === Phase.Verify) await this.verify();
      else await this.run(phase);
    }
  }

  /** Every phase through contract. */
  async runAll(): Promise<void> {
    await this.runThrough(Phase.Contract);
  }
}
