import { backfillTriggersCheck, triggersTheBackfillFires, type UpdateTrigger } from '../../lib/catalog/backfill-triggers';

const table = { schema: 'public', name: 'Product' };
const triggers: UpdateTrigger[] = [
  { name: 'audit', kind: 'AFTER ROW', enabled: 'A' },
  { name: 'cdc', kind: 'AFTER ROW', enabled: 'R' },
  { name: 'touch', kind: 'BEFORE ROW', enabled: 'O' },
];

describe('which application triggers the backfill fires', () => {
  it('with replica: ALWAYS and REPLICA ones; without: ORIGIN (default) and ALWAYS ones', () => {
    expect(triggersTheBackfillFires(triggers, true).map((t) => t.name)).toEqual(['audit', 'cdc']);
    expect(triggersTheBackfillFires(triggers, false).map((t) => t.name)).toEqual(['audit', 'touch']);
  });
  it('fails naming each unacknowledged one with its kind, warns for acknowledged ones, passes without any', () => {
    const fail = backfillTriggersCheck(triggers, false, ['audit'], table);
    expect(fail).toMatchObject({ status: 'fail', code: 'SW_BACKFILL_FIRES_TRIGGERS' });
    expect(fail.message).toBe(
      'the backfill would fire touch (BEFORE ROW) on public.Product once per row it writes (the migration role may not set session_replication_role, so every enabled trigger fires)',
    );
    expect(fail.hint).toContain('["touch"]');
    expect(backfillTriggersCheck(triggers, true, ['audit', 'cdc'], table).status).toBe('warn');
    expect(backfillTriggersCheck([triggers[2]!], true, [], table)).toMatchObject({ status: 'pass', message: expect.stringContaining('which skips touch') });
    expect(backfillTriggersCheck([], false, [], table)).toMatchObject({ status: 'pass', message: expect.stringContaining('no UPDATE trigger') });
  });
});
