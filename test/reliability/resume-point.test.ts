/**
 * Recovery facts in the state row (real Postgres through the Data API emulator): the gates passed and the soak served
 * are recorded set-only by the phases after them, reported by preflight to a resumed run, reset for a new run of a
 * finished migration; `resumeFrom` takes a row over from the execution it names, and only from that one.
 */
import { Gate, Phase } from '../../lib/constants';
import type { StepwiseError } from '../../lib/errors';
import { preflightPhase } from '../../lib/phases/preflight';
import { runPhase } from '../../lib/phases/run-phase';
import { parseSpec } from '../../lib/spec';
import { claimMigration, markPhase, MigrationStatus, readMigrationOwner } from '../../lib/state/migration-state';
import { readResumePoint } from '../../lib/state/resume-point';
import { runbookSpec, seedProducts } from '../e2e/e2e-helpers';
import { tableSchema } from '../harness/assertions';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database';

jest.setTimeout(120_000);

describe('resume point', () => {
  let db: TestDatabase;
  beforeEach(async () => {
    db = await createTestDatabase('resume_point');
    await seedProducts(db, 300);
  });
  afterEach(async () => db.close());

  const errorOf = (p: Promise<unknown>) => p.then(() => undefined, (e: unknown) => e as StepwiseError);
  const approved = { approved: true, comment: null, at: '2026-01-01T00:00:00.000Z' };

  it('records the gates a phase sees approved and the soak, reports them to a resumed run, and resets for a new run', async () => {
    const spec = runbookSpec();
    const state = { spec, approvals: { [Gate.Start]: approved } };
    await runPhase(Phase.Backup, { state: state as never, slot: 'backup', execution: 'exec-A' }, { db: db.executor });
    expect((await readResumePoint(db.executor, spec.name))!.gatesPassed).toEqual([Gate.Start]);
    await runPhase(Phase.Expand, { state: state as never, slot: 'expand', execution: 'exec-A' }, { db: db.executor });

    const later = { ...state, approvals: { ...state.approvals, [Gate.ReadFromNewDeployed]: approved } };
    // (Verification fails here, nothing is backfilled: the record is made when the phase starts.)
    await errorOf(runPhase(Phase.Verify, { state: later as never, slot: 'verifyAfterSoak', execution: 'exec-A' }, { db: db.executor }));
    const point = (await readResumePoint(db.executor, spec.name))!;
    expect([...point.gatesPassed].sort()).toEqual([Gate.Start, Gate.ReadFromNewDeployed].sort());
    expect(point.soakServedAt).not.toBeNull();

    // Another execution's phase records nothing in a row it does not own.
    await errorOf(runPhase(Phase.Verify, { state: { spec, approvals: { [Gate.Contract]: approved } } as never, slot: 'verify', execution: 'exec-B' }, { db: db.executor }));
    expect((await readResumePoint(db.executor, spec.name))!.gatesPassed).not.toContain(Gate.Contract);

    // The run that carries it on (exec-A is gone; exec-C resumes from it) skips what was passed…
    const resumed = await preflightPhase({ state: { spec: { ...spec, resumeFrom: 'exec-A' } } as never, slot: 'preflight', execution: 'exec-C' }, { db: db.executor });
    expect(resumed.resume).toEqual({ skip: { [Gate.Start]: true, [Gate.ReadFromNewDeployed]: true, Soak: true } });
    // …unless asked to repeat the gates.
    const repeated = await preflightPhase({ state: { spec: { ...spec, resumeFrom: 'exec-A', repeatGates: true } } as never, slot: 'preflight', execution: 'exec-C' }, { db: db.executor });
    expect(repeated.resume).toBeUndefined();

    // A finished migration claimed again starts with nothing passed.
    await markPhase(db.executor, spec.name, Phase.Rollback, MigrationStatus.RolledBack);
    await claimMigration(db.executor, parseSpec(spec), 300, 'exec-D');
    expect(await readResumePoint(db.executor, spec.name)).toEqual({ gatesPassed: [], soakServedAt: null });
  });

  it('resumeFrom takes the row over from the execution it names, and from no other', async () => {
    const spec = runbookSpec();
    await claimMigration(db.executor, parseSpec(spec), 300, 'exec-A');
    const before = await tableSchema(db.pg, 'Product');

    const wrong = parseSpec({ ...spec, resumeFrom: 'exec-X' });
    expect((await errorOf(preflightPhase({ state: { spec: wrong } as never, slot: 'preflight', execution: 'exec-B' }, { db: db.executor })))!.code).toBe('SW_MIGRATION_RUNNING');
    expect((await errorOf(claimMigration(db.executor, wrong, 300, 'exec-B')))!.code).toBe('SW_MIGRATION_RUNNING');
    expect((await readMigrationOwner(db.executor, spec.name))!.execution).toBe('exec-A');
    expect(await tableSchema(db.pg, 'Product')).toBe(before);

    const right = parseSpec({ ...spec, resumeFrom: 'exec-A' });
    await preflightPhase({ state: { spec: right } as never, slot: 'preflight', execution: 'exec-B' }, { db: db.executor });
    await claimMigration(db.executor, right, 300, 'exec-B');
    expect(await readMigrationOwner(db.executor, spec.name)).toMatchObject({ execution: 'exec-B', status: 'running' });
  });
});
