import { rollbackResult, type RollbackFacts } from '../../lib/phases/rollback-summary';

const base: RollbackFacts = { migration: 'm', outcome: 'rolled-back', oldColumn: 'price', newColumn: 'price_cents', dropped: [], kept: [], steps: [], seconds: 0 };

describe('rollbackResult: every sentence follows from the catalog facts it is given', () => {
  it('rolled back with objects dropped names exactly those', () => {
    const r = rollbackResult({ ...base, dropped: ['column "price_cents" of public."T"', 'backup table x'] });
    expect(r.headline).toBe('rolled back');
    expect(r.summary).toBe('Rolled back: dropped column "price_cents" of public."T", backup table x. The old column "price" and its data were never touched; the table is as before the migration.');
    expect(r).toMatchObject({ outcome: 'rolled-back', reason: null, command: null, kept: [] });
  });

  it('rolled back with nothing dropped says no lock was taken, never "dropped"', () => {
    const r = rollbackResult(base);
    expect(r.summary).toBe('Rolled back: the migration had added nothing to the table (checked in the catalog), so nothing was dropped and no lock was taken; the table is as before the migration.');
  });

  it('released says what it kept, why, what it dropped and the SQL left to run', () => {
    const r = rollbackResult({ ...base, outcome: 'released', dropped: ['trigger t'], kept: ['column c', 'backup table b'], reason: 'constrain finished (recorded 2026-12-04)', command: 'DROP …;' });
    expect(r.headline).toBe('sync removed, new column "price_cents" kept');
    expect(r.summary).toBe(
      'Rolled back the sync only: kept column c, backup table b because constrain finished (recorded 2026-12-04); an automatic rollback never drops what the application reads or writes. ' +
        'Dropped trigger t: "price_cents" is no longer kept equal to "price". Deploy the application version that reads and writes only "price", then drop what was kept: DROP …;',
    );
  });

  it('released with nothing to remove (application dual-write) does not claim the sync was removed', () => {
    const r = rollbackResult({ ...base, outcome: 'released', kept: ['column c'], reason: 'dual-write', command: 'DROP …;' });
    expect(r.headline).toBe('new column "price_cents" kept');
    expect(r.summary).toContain('Nothing else to remove (no sync trigger or NOT NULL was left).');
    expect(r.summary).not.toMatch(/Dropped/);
  });

  it('skipped says nothing was rolled back, why, what is still there and the command', () => {
    const r = rollbackResult({ ...base, outcome: 'skipped', kept: ['column c'], reason: 'another execution owns it', command: 'stepwise rollback --spec F' });
    expect(r.headline).toBe('NOT rolled back');
    expect(r.summary).toBe('Nothing was rolled back: another execution owns it. Still in place: column c. To undo it: stepwise rollback --spec F');
  });

  it('nothing to do says so with the reason', () => {
    const r = rollbackResult({ ...base, outcome: 'nothing-to-do', reason: 'no migration "m" was claimed' });
    expect(r.summary).toBe('Nothing was rolled back, and nothing needed to be: no migration "m" was claimed.');
  });
});
