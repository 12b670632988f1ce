/**
 * The cron dialect of Knative's PingSource: robfig/cron v3 with SecondOptional|Descriptor
 * (notes/knative-kafka.md §1.9), reproduced rule for rule from its parser and `dayMatches`:
 * - 5 fields (minute hour day-of-month month day-of-week), or 6 with leading seconds;
 * - each field a list of `*`, `?`, `n`, `a-b`, any of them with a step `/n` (`n/s` = `n-max/s`);
 *   months JAN–DEC and weekdays SUN–SAT by name too, in any case; weekdays 0–6 (7 is refused);
 * - day of month and day of week are ANDed when either field starts with `*` or `?` (without a
 *   step above 1), and ORed when both are restricted: `0 0 13 * 5` fires on the 13th and on Fridays;
 * - descriptors @yearly/@annually/@monthly/@weekly/@daily/@midnight/@hourly; `@every` is refused,
 *   as Knative's validation refuses it;
 * - a `CRON_TZ=<zone> ` or `TZ=<zone> ` prefix (what Knative builds from spec.timezone) matches in
 *   that IANA zone's wall-clock time; without one, times are matched in UTC (the zone of
 *   Knative's adapter pod).
 */
import { SsisError } from '../../core/errors';

export interface CronSchedule {
  readonly source: string;
  matches(date: Date): boolean;
}

interface Bounds {
  readonly label: string;
  readonly min: number;
  readonly max: number;
  readonly names?: Readonly<Record<string, number>>;
}

const MONTH_NAMES = { jan: 1, feb: 2, mar: 3, apr: 4, may: 5, jun: 6, jul: 7, aug: 8, sep: 9, oct: 10, nov: 11, dec: 12 };
const WEEKDAY_NAMES = { sun: 0, mon: 1, tue: 2, wed: 3, thu: 4, fri: 5, sat: 6 };

/** Field order of the 6-field form (robfig's `places`). */
const FIELD_BOUNDS: readonly Bounds[] = [
  { label: 'second', min: 0, max: 59 },
  { label: 'minute', min: 0, max: 59 },
  { label: 'hour', min: 0, max: 23 },
  { label: 'day of month', min: 1, max: 31 },
  { label: 'month', min: 1, max: 12, names: MONTH_NAMES },
  { label: 'day of week', min: 0, max: 6, names: WEEKDAY_NAMES },
];

/** A parsed field: the values it allows, and whether it was written as `*` or `?` (robfig's starBit). */
interface Field {
  readonly values: ReadonlySet<number>;
  readonly star: boolean;
}

interface Spec {
  readonly second: Field;
  readonly minute: Field;
  readonly hour: Field;
  readonly dayOfMonth: Field;
  readonly month: Field;
  readonly dayOfWeek: Field;
}

/** Wall-clock fields of an instant in the schedule's zone. */
interface WallClock {
  readonly second: number;
  readonly minute: number;
  readonly hour: number;
  readonly dayOfMonth: number;
  readonly month: number;
  readonly dayOfWeek: number;
}

/** A field written `*`: every value, with the star. */
const everyValue = (b: Bounds): Field => ({ values: range(b.min, b.max, 1), star: true });
const only = (value: number): Field => ({ values: new Set([value]), star: false });
const [, , HOUR, DAY_OF_MONTH, MONTH, DAY_OF_WEEK] = FIELD_BOUNDS as [Bounds, Bounds, Bounds, Bounds, Bounds, Bounds];

/** robfig's parseDescriptor; `*`-fields carry the star, so @weekly ANDs "any day of month" with Sunday. */
const DESCRIPTORS: Readonly<Record<string, Spec>> = (() => {
  const midnight = { second: only(0), minute: only(0), hour: only(0) };
  const yearly: Spec = { ...midnight, dayOfMonth: only(1), month: only(1), dayOfWeek: everyValue(DAY_OF_WEEK) };
  const daily: Spec = { ...midnight, dayOfMonth: everyValue(DAY_OF_MONTH), month: everyValue(MONTH), dayOfWeek: everyValue(DAY_OF_WEEK) };
  return {
    '@yearly': yearly,
    '@annually': yearly,
    '@monthly': { ...midnight, dayOfMonth: only(1), month: everyValue(MONTH), dayOfWeek: everyValue(DAY_OF_WEEK) },
    '@weekly': { ...midnight, dayOfMonth: everyValue(DAY_OF_MONTH), month: everyValue(MONTH), dayOfWeek: only(0) },
    '@daily': daily,
    '@midnight': daily,
    '@hourly': { second: only(0), minute: only(0), hour: everyValue(HOUR), dayOfMonth: everyValue(DAY_OF_MONTH), month: everyValue(MONTH), dayOfWeek: everyValue(DAY_OF_WEEK) },
  };
})();

class CronSyntaxError extends Error {
  constructor(
    message: string,
    readonly badLocation = false,
  ) {
    super(message);
  }
}

/**
 * Parses a PingSource schedule. `timezone` is spec.timezone, applied as Knative does, by
 * prefixing `CRON_TZ=<timezone> `.
 * @throws {SsisError} SSIS_INVALID_CONFIG on spec.schedule (or spec.timezone for an unknown zone) with robfig's reason
 */
export function parseCron(schedule: string, timezone?: string): CronSchedule {
  if (schedule.includes('@every')) {
    throw new SsisError('SSIS_INVALID_CONFIG', `schedule "${schedule}": @every is not supported by PingSource`, { issues: [{ field: 'spec.schedule', message: '@every is rejected by Knative' }] });
  }
  const spec = timezone === undefined || timezone === '' ? schedule : `CRON_TZ=${timezone} ${schedule}`;
  try {
    const { zone, expression } = splitZone(spec);
    const parsed = parseExpression(expression);
    const wallClock = wallClockIn(zone);
    return { source: schedule, matches: (date) => specMatches(parsed, wallClock(date)) };
  } catch (err) {
    if (!(err instanceof CronSyntaxError)) throw err;
    const field = err.badLocation && timezone !== undefined && timezone !== '' ? 'spec.timezone' : 'spec.schedule';
    throw new SsisError('SSIS_INVALID_CONFIG', `schedule "${schedule}": ${err.message}`, { issues: [{ field, message: err.message }], cause: err });
  }
}

/** The `CRON_TZ=`/`TZ=` prefix, up to the first space (robfig reads it the same way). */
function splitZone(spec: string): { zone: string | undefined; expression: string } {
  if (!spec.startsWith('TZ=') && !spec.startsWith('CRON_TZ=')) return { zone: undefined, expression: spec };
  const space = spec.indexOf(' ');
  const zone = spec.slice(spec.indexOf('=') + 1, space === -1 ? undefined : space);
  if (space === -1) throw new CronSyntaxError(`provided bad location ${zone}: no schedule after the time zone`, true);
  return { zone, expression: spec.slice(space).trim() };
}

function parseExpression(expression: string): Spec {
  if (expression.length === 0) throw new CronSyntaxError('empty spec string');
  if (expression.startsWith('@')) {
    const descriptor = DESCRIPTORS[expression];
    if (!descriptor) throw new CronSyntaxError(`unrecognized descriptor: ${expression}`);
    return descriptor;
  }
  const given = expression.split(/\s+/).filter((f) => f !== '');
  if (given.length < 5 || given.length > 6) throw new CronSyntaxError(`expected 5 to 6 fields, found ${given.length}: [${given.join(' ')}]`);
  // SecondOptional: the 5-field form gets second 0.
  const fields = given.length === 5 ? ['0', ...given] : given;
  const [second, minute, hour, dayOfMonth, month, dayOfWeek] = FIELD_BOUNDS.map((bounds, i) => parseField(fields[i] ?? '', bounds)) as [Field, Field, Field, Field, Field, Field];
  return { second, minute, hour, dayOfMonth, month, dayOfWeek };
}

/** robfig's getField: a comma-separated list of ranges; empty list items are skipped, as strings.FieldsFunc does. */
function parseField(text: string, bounds: Bounds): Field {
  const values = new Set<number>();
  let star = false;
  for (const part of text.split(',')) {
    if (part === '') continue;
    const parsed = parseRange(part, bounds);
    for (const v of parsed.values) values.add(v);
    star ||= parsed.star;
  }
  return { values, star };
}

/** robfig's getRange: `*`, `?`, `n` or `a-b`, optionally `/step`. */
function parseRange(expr: string, bounds: Bounds): Field {
  const bad = (why: string): CronSyntaxError => new CronSyntaxError(`${bounds.label}: ${why}`);
  const rangeAndStep = expr.split('/');
  const lowAndHigh = (rangeAndStep[0] ?? '').split('-');
  let start: number;
  let end: number;
  let star = false;
  if (lowAndHigh[0] === '*' || lowAndHigh[0] === '?') {
    [start, end, star] = [bounds.min, bounds.max, true];
  } else {
    start = parseIntOrName(lowAndHigh[0] ?? '', bounds);
    if (lowAndHigh.length === 1) end = start;
    else if (lowAndHigh.length === 2) end = parseIntOrName(lowAndHigh[1] ?? '', bounds);
    else throw bad(`too many hyphens: ${expr}`);
  }
  let step = 1;
  if (rangeAndStep.length === 2) {
    step = parseNumber(rangeAndStep[1] ?? '', bounds);
    // "n/step" means "n-max/step".
    if (lowAndHigh.length === 1) end = bounds.max;
    if (step > 1) star = false;
  } else if (rangeAndStep.length > 2) {
    throw bad(`too many slashes: ${expr}`);
  }
  if (start < bounds.min) throw bad(`beginning of range (${start}) below minimum (${bounds.min}): ${expr}`);
  if (end > bounds.max) throw bad(`end of range (${end}) above maximum (${bounds.max}): ${expr}`);
  if (start > end) throw bad(`beginning of range (${start}) beyond end of range (${end}): ${expr}`);
  if (step === 0) throw bad(`step of range should be a positive number: ${expr}`);
  return { values: range(start, end, step), star };
}

function parseIntOrName(text: string, bounds: Bounds): number {
  const named = bounds.names?.[text.toLowerCase()];
  return named ?? parseNumber(text, bounds);
}

/** Go's strconv.Atoi (optional sign, decimal digits), then robfig's refusal of negatives. */
function parseNumber(text: string, bounds: Bounds): number {
  if (!/^[+-]?\d+$/.test(text)) throw new CronSyntaxError(`${bounds.label}: failed to parse int from ${text}`);
  const value = Number(text);
  if (value < 0) throw new CronSyntaxError(`${bounds.label}: negative number (${value}) not allowed: ${text}`);
  return value;
}

function range(from: number, to: number, step: number): Set<number> {
  const values = new Set<number>();
  for (let v = from; v <= to; v += step) values.add(v);
  return values;
}

/** robfig's SpecSchedule: every field must match, with its dayMatches rule for the two day fields. */
function specMatches(spec: Spec, t: WallClock): boolean {
  const dayOfMonth = spec.dayOfMonth.values.has(t.dayOfMonth);
  const dayOfWeek = spec.dayOfWeek.values.has(t.dayOfWeek);
  const day = spec.dayOfMonth.star || spec.dayOfWeek.star ? dayOfMonth && dayOfWeek : dayOfMonth || dayOfWeek;
  return day && spec.second.values.has(t.second) && spec.minute.values.has(t.minute) && spec.hour.values.has(t.hour) && spec.month.values.has(t.month);
}

const WEEKDAYS: Readonly<Record<string, number>> = { Sun: 0, Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6 };

/** UTC by default (also for Go's `UTC`, `Local` and empty zone names); any other zone through Intl. */
function wallClockIn(zone: string | undefined): (date: Date) => WallClock {
  if (zone === undefined || zone === '' || zone === 'UTC' || zone === 'Local') {
    return (d) => ({ second: d.getUTCSeconds(), minute: d.getUTCMinutes(), hour: d.getUTCHours(), dayOfMonth: d.getUTCDate(), month: d.getUTCMonth() + 1, dayOfWeek: d.getUTCDay() });
  }
  let format: Intl.DateTimeFormat;
  try {
    format = new Intl.DateTimeFormat('en-US', { timeZone: zone, hourCycle: 'h23', weekday: 'short', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' });
  } catch {
    throw new CronSyntaxError(`provided bad location ${zone}: unknown time zone ${zone}`, true);
  }
  return (date) => {
    const parts: Record<string, string> = {};
    for (const part of format.formatToParts(date)) parts[part.type] = part.value;
    return {
      second: Number(parts['second']),
      minute: Number(parts['minute']),
      hour: Number(parts['hour']),
      dayOfMonth: Number(parts['day']),
      month: Number(parts['month']),
      dayOfWeek: WEEKDAYS[parts['weekday'] ?? ''] ?? -1,
    };
  };
}
