import { FakeExecutor } from '../helpers/fake-executor';
import { windowPhase } from '../../lib/phases/window';
import { parseSpec, SpecError } from '../../lib';
import runbook from '../../examples/product-price-cents.json';

const at = (iso: string) => ({ db: new FakeExecutor(), now: () => Date.parse(iso) });
const event = (spec: unknown, slot: string) => ({ state: { spec }, slot });
// Saturdays 02:00 Berlin, open 2 hours.
const saturdayNights = { schedule: 'cron(0 2 ? * SAT *)', timezone: 'Europe/Berlin', durationMinutes: 120 };

describe('windowPhase', () => {
  it('lets a phase start at once when the spec has no window', async () => {
    const result = await windowPhase(event(runbook, 'windowConstrain'), at('2026-11-25T15:00:00.123Z'));
    expect(result).toEqual({ phase: 'constrain', waitUntil: '2026-11-25T15:00:01Z', waiting: false });
  });

  it('holds constrain until the next window opens (Saturday 02:00 CET = 01:00 UTC)', async () => {
    const result = await windowPhase(event({ ...runbook, window: saturdayNights }, 'windowConstrain'), at('2026-11-25T15:00:00Z'));
    expect(result).toEqual({ phase: 'constrain', waitUntil: '2026-11-28T01:00:00Z', waiting: true });
  });

  it('lets a phase start while its window is open', async () => {
    const result = await windowPhase(event({ ...runbook, window: saturdayNights }, 'windowContract'), at('2026-11-28T02:30:00Z'));
    expect(result).toEqual({ phase: 'contract', waitUntil: '2026-11-28T02:30:00Z', waiting: false });
  });

  it('does not hold phases the window does not list', async () => {
    const spec = { ...runbook, window: { ...saturdayNights, phases: ['contract'] } };
    expect((await windowPhase(event(spec, 'windowConstrain'), at('2026-11-25T15:00:00Z'))).waiting).toBe(false);
    expect((await windowPhase(event(spec, 'windowContract'), at('2026-11-25T15:00:00Z'))).waiting).toBe(true);
  });
});

describe('spec.window', () => {
  it('fills in defaults', () => {
    expect(parseSpec({ ...runbook, window: { schedule: 'cron(0 2 ? * SAT *)' } }).window).toEqual({
      schedule: 'cron(0 2 ? * SAT *)', timezone: 'UTC', durationMinutes: 120, phases: ['constrain', 'contract'],
    });
  });
  it.each([
    [{ schedule: '0 2 * * 6' }, /\$\.window\.schedule: must be an EventBridge cron/],
    [{ schedule: 'cron(0 2 ? * SAT *)', timezone: 'Mars/Olympus' }, /\$\.window\.timezone: must be an IANA time zone/],
    [{ schedule: 'cron(0 2 ? * SAT *)', phases: ['backfill'] }, /\$\.window\.phases\[0\]/],
  ])('refuses %p', (window, message) => {
    expect(() => parseSpec({ ...runbook, window })).toThrow(SpecError);
    expect(() => parseSpec({ ...runbook, window })).toThrow(message);
  });
});
