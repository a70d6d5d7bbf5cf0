import { Phase } from '../../lib/constants';
import type { BackfillInvocationResult } from '../../lib/phases/backfill';
import { runPhase } from '../../lib/phases/run-phase';
import { runbookSpec, seedProducts } from '../e2e/e2e-helpers';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database';

const A = 'arn:aws:states:us-east-1:000000000000:execution:stepwise:first';

describe('continue-as-new handover of the state row', () => {
  let db: TestDatabase;
  let state: Record<string, unknown>;
  const spec = runbookSpec({ backfill: { batchSize: 100, pauseMs: 0, maxSecondsPerInvocation: 1, maxInvocationsPerExecution: 1 } });
  const run = async (phase: Phase, execution: string, slot: string = phase) => {
    const result = await runPhase(phase, { state: state as never, slot, execution }, { db: db.executor, sleep: async () => undefined });
    state = { ...state, [slot]: result };
    return result;
  };
  const owner = async () => (await db.pg.query(`SELECT execution, handover, cursor, rows_done::int FROM _stepwise.migrations`)).rows[0];

  beforeEach(async () => {
    db = await createTestDatabase('handover');
    await seedProducts(db, 1000);
    state = { spec };
    for (const phase of [Phase.Preflight, Phase.Backup, Phase.Expand]) await run(phase, A);
  });
  afterEach(async () => db.close());

  it('an execution the running one did not start cannot take the migration over, and changes nothing', async () => {
    // Prepare: a forged "continuation" of A, started by hand with A's state.
    const forged = 'arn:aws:states:us-east-1:000000000000:execution:stepwise:forged';
    state = { ...state, backfill: { execution: A, lineage: { root: 'first', generation: 0 }, continuation: { root: 'first', generation: 1, name: 'forged', executionArn: forged } } };

    // Act
    const error = await run(Phase.Backfill, forged).then(() => undefined, (e: unknown) => e);

    // Assess
    expect(error).toMatchObject({ code: 'SW_HANDOVER_REFUSED' });
    expect(await owner()).toEqual({ execution: A, handover: null, cursor: null, rows_done: 0 });
  });

  it('hands over only to the execution it names, which resumes from the cursor', async () => {
    // Act: A's one invocation of its budget, then the continuation it named.
    const first = (await run(Phase.Backfill, A)) as BackfillInvocationResult;
    expect(first).toMatchObject({ done: false, continueAsNew: true, executionInvocations: 1 });
    const child = first.continuation!.executionArn;
    expect(child).toBe(`${A}-c1`);
    expect(await owner()).toEqual({ execution: A, handover: child, cursor: '100', rows_done: 100 });

    const second = (await run(Phase.Backfill, child)) as BackfillInvocationResult;

    // Assess: the child owns the row and went on from row 100; its own budget counts from 1 and it hands over to c2.
    expect(second).toMatchObject({ rows: 200, cursor: '200', executionInvocations: 1, lineage: { root: 'first', generation: 1 } });
    expect(second.continuation!.executionArn).toBe(`${A}-c2`);
    expect(await owner()).toMatchObject({ execution: child, handover: `${A}-c2`, cursor: '200' });
  });
});
