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

  it('an execution started by hand with a copy of a continuation’s state is refused while the continuation owns the row', async () => {
    // Prepare: A handed over to A-c1, which ran one invocation and owns the row.
    const first = (await run(Phase.Backfill, A)) as BackfillInvocationResult;
    const child = first.continuation!.executionArn;
    await run(Phase.Backfill, child);
    const before = await owner();

    // Act: X starts with the child's state (its last result names no one but A-c2).
    const copy = 'arn:aws:states:us-east-1:000000000000:execution:stepwise:copy';
    const error = await run(Phase.Backfill, copy).then(() => undefined, (e: unknown) => e);

    // Assess
    expect(error).toMatchObject({ code: 'SW_MIGRATION_RUNNING' });
    expect(await owner()).toEqual(before);
  });

  it('a continuation that fails before its first batch rolls the migration back as its owner', async () => {
    // Prepare: A named its continuation and stopped; the continuation failed before taking the row over.
    const first = (await run(Phase.Backfill, A)) as BackfillInvocationResult;
    const child = first.continuation!.executionArn;

    // Act
    const result = (await run(Phase.Rollback, child)) as { steps: unknown[] };

    // Assess: the rollback was the child's to do: the new column is gone and the row is rolled back.
    expect(result.steps.length).toBeGreaterThan(0);
    const column = await db.pg.query(`SELECT 1 FROM information_schema.columns WHERE table_name = 'Product' AND column_name = 'new_price_cents'`);
    expect(column.rows).toHaveLength(0);
    expect((await db.pg.query(`SELECT status, execution FROM _stepwise.migrations`)).rows[0]).toEqual({ status: 'rolled_back', execution: child });
  });

  it('a key range still running when rollback starts stops at its next batch', async () => {
    // Prepare: two key ranges split; rollback has begun (it marks the phase first).
    state = { ...state, spec: { ...spec, backfill: { ...spec.backfill, parallelism: 2 } } };
    await runPhase(Phase.Backfill, { state: state as never, slot: 'backfillRanges', execution: A, action: 'split-ranges' }, { db: db.executor });
    await db.pg.query(`UPDATE _stepwise.migrations SET phase = 'rollback'`);

    // Act
    const result = await runPhase(Phase.Backfill, { state: { ...state, range: 0 } as never, slot: 'backfill', execution: A, action: 'range' }, { db: db.executor, sleep: async () => undefined });

    // Assess: no batch ran, nothing moved.
    expect(result).toMatchObject({ paused: true, invocationBatches: 0 });
    expect((await db.pg.query(`SELECT count(*)::int AS n FROM "Product" WHERE new_price_cents IS NOT NULL`)).rows[0].n).toBe(0);
    expect((await db.pg.query(`SELECT sum(rows_done)::int AS n FROM _stepwise.backfill_ranges`)).rows[0].n).toBe(0);
  });
});
