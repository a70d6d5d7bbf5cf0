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

  /** Preflight → backup → expand → backfill → verify → constrain → contract. */
  async runAll(): Promise<void> {
    await this.run(Phase.Preflight);
    await this.run(Phase.Backup);
    await this.run(Phase.Expand);
    await this.backfill();
    await this.verify();
    await this.run(Phase.Constrain);
    await this.run(Phase.Contract);
  }
}
