import { CronExpressionParser } from 'cron-parser';
import { ConfigError } from '../errors';

/**
 * Maintenance-window arithmetic, pure (no I/O, no clock): when does the next window of an EventBridge Scheduler cron
 * expression open, in a time zone, after a given instant?
 *
 * The schedule is written exactly as EventBridge Scheduler takes it, `cron(minutes hours day-of-month month
 * day-of-week year)`, so the same string drives the `windowSchedule` schedule and this calculator. Daylight saving
 * time follows EventBridge Scheduler's documented rules:
 * - spring forward: an occurrence whose local time does not exist that day (02:30 in Europe/Berlin on the last
 *   Sunday of March) is skipped, not moved to 03:30;
 * - fall back: an occurrence whose local time happens twice (02:30 on the last Sunday of October) runs once, at the
 *   first of the two instants.
 */

/** `cron(...)` with its six AWS fields. */
const AWS_CRON = /^cron\(\s*(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s*\)$/;

/** How many occurrences the calculator inspects before it declares the schedule empty (a year filter, Feb 30th). */
const MAX_CANDIDATES = 5000;

/** An EventBridge Scheduler cron expression, split into its six fields. */
export interface AwsCron {
  readonly minutes: string;
  readonly hours: string;
  readonly dayOfMonth: string;
  readonly month: string;
  readonly dayOfWeek: string;
  readonly year: string;
}

/**
 * Parses `cron(0 2 ? * SAT *)` into its fields and checks what EventBridge Scheduler checks: six fields, exactly one
 * of day-of-month and day-of-week is `?`, day-of-week numbers 1–7 (1 = Sunday). Throws `ConfigError` otherwise.
 */
export function parseAwsCron(schedule: string): AwsCron {
  const m = AWS_CRON.exec(schedule.trim());
  if (!m) {
    throw new ConfigError(
      `windowSchedule must be an EventBridge Scheduler cron expression with six fields, got ${JSON.stringify(schedule)}.`,
      'Write it as cron(minutes hours day-of-month month day-of-week year), for example cron(0 2 ? * SAT *).',
      { schedule },
    );
  }
  const [, minutes, hours, dayOfMonth, month, dayOfWeek, year] = m as unknown as [string, string, string, string, string, string, string];
  const problems: string[] = [];
  if ((dayOfMonth === '?') === (dayOfWeek === '?')) problems.push('exactly one of day-of-month and day-of-week must be "?"');
  if (/W/i.test(dayOfMonth)) problems.push('the W (nearest weekday) day-of-month option is not supported by the window calculator');
  for (const n of dayOfWeek.match(/(?:^|[,-])(\d+)/g) ?? []) {
    const value = Number(n.replace(/^[,-]/, ''));
    if (value < 1 || value > 7) problems.push(`day-of-week ${value} is out of range (1-7, 1 = Sunday)`);
  }
  if (!/^(\*|\d{4}(-\d{4})?(,\d{4}(-\d{4})?)*)$/.test(year)) problems.push(`year must be *, a year, a range or a list of them, got ${JSON.stringify(year)}`);
  if (problems.length > 0) {
    throw new ConfigError(`windowSchedule ${JSON.stringify(schedule)} is not valid: ${problems.join('; ')}.`, 'Fix the cron expression; for example cron(0 2 ? * SAT *) is Saturdays at 02:00.', { schedule, problems });
  }
  return { minutes, hours, dayOfMonth, month, dayOfWeek, year };
}

/** Checks an IANA time zone name (`Europe/Berlin`); throws `ConfigError` for anything `Intl` does not know. */
export function assertTimeZone(timeZone: string): void {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone }).format(0);
  } catch {
    throw new ConfigError(`windowTimezone ${JSON.stringify(timeZone)} is not an IANA time zone.`, 'Use a name such as Europe/Berlin, America/New_York or UTC.', { timeZone });
  }
}

/**
 * The start of the next maintenance window at or after `from`.
 *
 * - `schedule`: EventBridge Scheduler cron, e.g. `cron(0 2 ? * SAT *)` (Saturdays 02:00).
 * - `timeZone`: IANA name the schedule is read in, e.g. `Europe/Berlin`.
 * - `durationMinutes`: how long a window stays open. When given and `from` falls inside a window that has already
 *   opened, `from` itself is returned (the work may start now); otherwise the next opening is returned.
 *
 * @example
 * nextWindowStart('cron(0 2 ? * SAT *)', 'Europe/Berlin', new Date('2026-03-25T12:00:00Z'));
 * // 2026-03-28T01:00:00.000Z (Saturday 02:00 CET)
 */
export function nextWindowStart(schedule: string, timeZone: string, from: Date, durationMinutes?: number): Date {
  if (Number.isNaN(from.getTime())) throw new ConfigError('nextWindowStart: from is not a valid date.', 'Pass a valid Date.', {});
  if (durationMinutes !== undefined && !(Number.isFinite(durationMinutes) && durationMinutes > 0)) {
    throw new ConfigError(`window duration must be a positive number of minutes, got ${durationMinutes}.`, 'Pass durationMinutes > 0, or leave it out.', { durationMinutes });
  }
  const cron = parseAwsCron(schedule);
  assertTimeZone(timeZone);

  if (durationMinutes !== undefined) {
    const opened = previousOccurrence(cron, timeZone, from);
    if (opened !== undefined && from.getTime() < opened.getTime() + durationMinutes * 60_000) return new Date(from.getTime());
  }
  const next = occurrences(cron, timeZone, new Date(from.getTime() - 1), 'next').next().value;
  if (next === undefined) throw emptySchedule(schedule);
  return next;
}

/** The last window start at or before `at`, or undefined when there is none within the search horizon. */
function previousOccurrence(cron: AwsCron, timeZone: string, at: Date): Date | undefined {
  return occurrences(cron, timeZone, new Date(at.getTime() + 1), 'prev').next().value ?? undefined;
}

/** Valid occurrences (DST rules and year field applied), walking from `start` (exclusive) in one direction. */
function* occurrences(cron: AwsCron, timeZone: string, start: Date, direction: 'next' | 'prev'): Generator<Date, undefined> {
  const iterator = CronExpressionParser.parse(toCronParser(cron), { currentDate: start, tz: timeZone });
  const naive = CronExpressionParser.parse(toCronParser(cron), { tz: 'UTC' });
  const years = yearFilter(cron.year);
  for (let i = 0; i < MAX_CANDIDATES; i++) {
    let candidate: Date;
    try {
      candidate = (direction === 'next' ? iterator.next() : iterator.prev()).toDate();
    } catch {
      return undefined; // out of range: the expression has no further occurrence
    }
    const wall = wallClock(candidate, timeZone);
    if (!years(wall.year)) {
      if (direction === 'next' && wall.year > years.max) return undefined;
      if (direction === 'prev' && wall.year < years.min) return undefined;
      continue;
    }
    // Spring forward: the library moves a nonexistent local time (02:30) to the next hour; EventBridge skips it.
    if (!matchesWallClock(naive, wall)) continue;
    // Fall back: the same local time one hour earlier means this is the second of two instants; EventBridge runs once.
    if (sameWall(wallClock(new Date(candidate.getTime() - 3_600_000), timeZone), wall)) continue;
    yield candidate;
  }
  return undefined;
}

/** AWS fields → cron-parser's six fields (seconds first, day-of-week 0–6 with 0 = Sunday, no year). */
function toCronParser(cron: AwsCron): string {
  const dayOfWeek = cron.dayOfWeek.replace(/(^|[,-])(\d+)/g, (_, sep: string, n: string) => `${sep}${Number(n) - 1}`);
  return `0 ${cron.minutes} ${cron.hours} ${cron.dayOfMonth} ${cron.month} ${dayOfWeek}`;
}

interface WallClock {
  readonly year: number;
  readonly month: number;
  readonly day: number;
  readonly hour: number;
  readonly minute: number;
}

/** Local date and time of an instant in a time zone. */
function wallClock(instant: Date, timeZone: string): WallClock {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
  }).formatToParts(instant);
  const get = (type: Intl.DateTimeFormatPartTypes): number => Number(parts.find((p) => p.type === type)?.value);
  return { year: get('year'), month: get('month'), day: get('day'), hour: get('hour'), minute: get('minute') };
}

function sameWall(a: WallClock, b: WallClock): boolean {
  return a.year === b.year && a.month === b.month && a.day === b.day && a.hour === b.hour && a.minute === b.minute;
}

/** Whether the local time itself is an occurrence of the expression (evaluated on a clock without DST). */
function matchesWallClock(naive: ReturnType<typeof CronExpressionParser.parse>, wall: WallClock): boolean {
  const asUtc = Date.UTC(wall.year, wall.month - 1, wall.day, wall.hour, wall.minute);
  naive.reset(new Date(asUtc - 1));
  return naive.next().toDate().getTime() === asUtc;
}

/** The year field as a predicate, with its bounds (for stopping early). */
function yearFilter(field: string): ((year: number) => boolean) & { min: number; max: number } {
  if (field === '*') return Object.assign(() => true, { min: -Infinity, max: Infinity });
  const ranges = field.split(',').map((part) => {
    const [a, b = a] = part.split('-').map(Number) as [number, number?];
    return [a, b] as const;
  });
  const test = (year: number): boolean => ranges.some(([a, b]) => year >= a && year <= b);
  return Object.assign(test, { min: Math.min(...ranges.map(([a]) => a)), max: Math.max(...ranges.map(([, b]) => b)) });
}

function emptySchedule(schedule: string): ConfigError {
  return new ConfigError(`windowSchedule ${JSON.stringify(schedule)} has no upcoming occurrence.`, 'Check the day, month and year fields (for example a 30th of February never comes).', { schedule });
}
