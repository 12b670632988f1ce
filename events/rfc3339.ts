/**
 * RFC 3339 `date-time` (section 5.6), the format of the CloudEvents `time` attribute and of every
 * `...At` field in SSIS event data. Written here rather than taken from ajv-formats, which is not a
 * dependency of ours (it only arrives through cloudevents).
 */

// full-date "T" full-time, with optional fractional seconds and a mandatory offset (Z or ±hh:mm).
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(?:[Zz]|[+-](\d{2}):(\d{2}))$/;

function daysInMonth(year: number, month: number): number {
  if (month === 2) {
    const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
    return leap ? 29 : 28;
  }
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/** True when `s` is an RFC 3339 date-time with real calendar values (no 2026-02-30, no 25:00). */
export function isRfc3339DateTime(s: string): boolean {
  const m = DATE_TIME.exec(s);
  if (m === null) return false;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const offsetHour = m[7] === undefined ? 0 : Number(m[7]);
  const offsetMinute = m[8] === undefined ? 0 : Number(m[8]);
  return (
    month >= 1 && month <= 12 &&
    day >= 1 && day <= daysInMonth(year, month) &&
    hour <= 23 && minute <= 59 &&
    second <= 60 && // 60 = leap second, allowed by RFC 3339
    offsetHour <= 23 && offsetMinute <= 59
  );
}
