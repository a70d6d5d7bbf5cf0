import { ConfigError } from '../../lib/errors';
import { nextWindowStart, parseAwsCron } from '../../lib/window';

const at = (iso: string) => new Date(iso);
const next = (schedule: string, tz: string, from: string, duration?: number) => nextWindowStart(schedule, tz, at(from), duration).toISOString();

describe('nextWindowStart', () => {
  it('finds the next Saturday 02:00 in Berlin, in winter (CET, UTC+1) and summer (CEST, UTC+2)', () => {
    expect(next('cron(0 2 ? * SAT *)', 'Europe/Berlin', '2026-01-14T12:00:00Z')).toBe('2026-01-17T01:00:00.000Z');
    expect(next('cron(0 2 ? * SAT *)', 'Europe/Berlin', '2026-07-01T12:00:00Z')).toBe('2026-07-04T00:00:00.000Z');
  });

  it('returns from itself when it is exactly a window start, the next one just after', () => {
    expect(next('cron(0 2 ? * SAT *)', 'UTC', '2026-01-17T02:00:00Z')).toBe('2026-01-17T02:00:00.000Z');
    expect(next('cron(0 2 ? * SAT *)', 'UTC', '2026-01-17T02:00:00.001Z')).toBe('2026-01-24T02:00:00.000Z');
  });

  it('returns now when a window of durationMinutes is open, the next start once it has closed', () => {
    expect(next('cron(0 2 ? * SAT *)', 'UTC', '2026-01-17T03:59:00Z', 120)).toBe('2026-01-17T03:59:00.000Z');
    expect(next('cron(0 2 ? * SAT *)', 'UTC', '2026-01-17T04:00:00Z', 120)).toBe('2026-01-24T02:00:00.000Z');
    expect(next('cron(0 2 ? * SAT *)', 'UTC', '2026-01-17T01:59:00Z', 120)).toBe('2026-01-17T02:00:00.000Z');
  });

  describe('daylight saving time', () => {
    it('Europe/Berlin spring forward (2026-03-29, 02:00 -> 03:00): the nonexistent 02:30 is skipped, as Scheduler does', () => {
      expect(next('cron(30 2 * * ? *)', 'Europe/Berlin', '2026-03-28T12:00:00Z')).toBe('2026-03-30T00:30:00.000Z');
      // 01:30 and 03:30 exist and keep their local time across the change.
      expect(next('cron(30 1 * * ? *)', 'Europe/Berlin', '2026-03-28T12:00:00Z')).toBe('2026-03-29T00:30:00.000Z');
      expect(next('cron(30 3 * * ? *)', 'Europe/Berlin', '2026-03-28T12:00:00Z')).toBe('2026-03-29T01:30:00.000Z');
    });

    it('Europe/Berlin fall back (2026-10-25, 03:00 -> 02:00): the doubled 02:30 runs once, at its first instant', () => {
      expect(next('cron(30 2 * * ? *)', 'Europe/Berlin', '2026-10-24T12:00:00Z')).toBe('2026-10-25T00:30:00.000Z');
      expect(next('cron(30 2 * * ? *)', 'Europe/Berlin', '2026-10-25T00:31:00Z')).toBe('2026-10-26T01:30:00.000Z');
      expect(next('cron(30 * * * ? *)', 'Europe/Berlin', '2026-10-25T00:31:00Z')).toBe('2026-10-25T02:30:00.000Z');
    });

    it('America/New_York across both changes (2026-03-08 and 2026-11-01)', () => {
      // Saturday 23:00 before the spring change (EST, UTC-5), Saturday 02:00 after it (EDT, UTC-4).
      expect(next('cron(0 23 ? * SAT *)', 'America/New_York', '2026-03-02T00:00:00Z')).toBe('2026-03-08T04:00:00.000Z');
      expect(next('cron(0 2 ? * SAT *)', 'America/New_York', '2026-03-08T12:00:00Z')).toBe('2026-03-14T06:00:00.000Z');
      // 02:30 on 2026-03-08 does not exist in New York: the next is Monday's.
      expect(next('cron(30 2 * * ? *)', 'America/New_York', '2026-03-08T00:00:00Z')).toBe('2026-03-09T06:30:00.000Z');
      // 01:30 on 2026-11-01 happens twice (EDT then EST): once, at 05:30Z.
      expect(next('cron(30 1 * * ? *)', 'America/New_York', '2026-11-01T00:00:00Z')).toBe('2026-11-01T05:30:00.000Z');
      expect(next('cron(30 1 * * ? *)', 'America/New_York', '2026-11-01T05:31:00Z')).toBe('2026-11-02T06:30:00.000Z');
    });

    it('a window open across the change keeps its real length', () => {
      // Window opens 01:00 CET on 2026-03-29 (00:00Z) for 180 minutes: until 03:00Z = 05:00 CEST.
      expect(next('cron(0 1 * * ? *)', 'Europe/Berlin', '2026-03-29T02:59:00Z', 180)).toBe('2026-03-29T02:59:00.000Z');
      expect(next('cron(0 1 * * ? *)', 'Europe/Berlin', '2026-03-29T03:00:00Z', 180)).toBe('2026-03-29T23:00:00.000Z');
    });
  });

  describe('month ends', () => {
    it('L is the last day of each month, leap years included', () => {
      expect(next('cron(0 2 L * ? *)', 'UTC', '2026-02-01T00:00:00Z')).toBe('2026-02-28T02:00:00.000Z');
      expect(next('cron(0 2 L * ? *)', 'UTC', '2028-02-01T00:00:00Z')).toBe('2028-02-29T02:00:00.000Z');
      expect(next('cron(0 2 L * ? *)', 'America/New_York', '2026-04-01T00:00:00Z')).toBe('2026-04-30T06:00:00.000Z');
    });

    it('the 31st skips months without one; 29 February waits for a leap year', () => {
      expect(next('cron(0 2 31 * ? *)', 'UTC', '2026-04-01T00:00:00Z')).toBe('2026-05-31T02:00:00.000Z');
      expect(next('cron(0 2 29 2 ? *)', 'UTC', '2026-03-01T00:00:00Z')).toBe('2028-02-29T02:00:00.000Z');
    });

    it('crosses the year end in the local zone, not UTC', () => {
      // 00:30 on 1 January in Berlin is 23:30 on 31 December UTC.
      expect(next('cron(30 0 1 1 ? *)', 'Europe/Berlin', '2026-12-31T12:00:00Z')).toBe('2026-12-31T23:30:00.000Z');
      expect(next('cron(0 22 L 12 ? *)', 'America/New_York', '2026-12-01T00:00:00Z')).toBe('2027-01-01T03:00:00.000Z');
    });

    it('the last Friday of the month (6L) and the first Monday (2#1), AWS numbering (1 = Sunday)', () => {
      expect(next('cron(0 2 ? * 6L *)', 'UTC', '2026-01-01T00:00:00Z')).toBe('2026-01-30T02:00:00.000Z');
      expect(next('cron(0 2 ? * 2#1 *)', 'UTC', '2026-02-03T00:00:00Z')).toBe('2026-03-02T02:00:00.000Z');
      expect(next('cron(0 2 ? * 1 *)', 'UTC', '2026-03-25T00:00:00Z')).toBe('2026-03-29T02:00:00.000Z');
    });
  });

  it('honours the year field', () => {
    expect(next('cron(0 2 1 1 ? 2028-2030)', 'UTC', '2026-06-01T00:00:00Z')).toBe('2028-01-01T02:00:00.000Z');
    expect(() => nextWindowStart('cron(0 2 1 1 ? 2020)', 'UTC', at('2026-06-01T00:00:00Z'))).toThrow(/no upcoming occurrence/);
  });

  it('refuses malformed input with a ConfigError and a hint', () => {
    expect(() => parseAwsCron('0 2 * * SAT')).toThrow(ConfigError);
    expect(() => parseAwsCron('cron(0 2 * * SAT *)')).toThrow(/exactly one of day-of-month and day-of-week/);
    expect(() => parseAwsCron('cron(0 2 ? * 8 *)')).toThrow(/day-of-week 8 is out of range/);
    expect(() => parseAwsCron('cron(0 2 15W * ? *)')).toThrow(/W \(nearest weekday\)/);
    expect(() => nextWindowStart('cron(0 2 ? * SAT *)', 'Nowhere/City', at('2026-01-01T00:00:00Z'))).toThrow(/not an IANA time zone/);
    expect(() => nextWindowStart('cron(0 2 ? * SAT *)', 'UTC', at('2026-01-01T00:00:00Z'), 0)).toThrow(/positive number of minutes/);
  });
});
