/**
 * The cron dialect of Knative's PingSource (robfig/cron with SecondOptional|Descriptor, notes/
 * knative-kafka.md §1.9): 5 fields, or 6 with leading seconds; `*`, `*` with a step `/n`, `a-b`, `a-b/n`, lists;
 * descriptors @yearly/@annually/@monthly/@weekly/@daily/@midnight/@hourly. `@every` is refused,
 * as Knative refuses it. Times are matched in UTC.
 */
import { SsisError } from '../../core/errors';

export interface CronSchedule {
  readonly source: string;
  matches(date: Date): boolean;
}

const DESCRIPTORS: Record<string, string> = {
  '@yearly': '0 0 0 1 1 *', '@annually': '0 0 0 1 1 *', '@monthly': '0 0 0 1 * *', '@weekly': '0 0 0 * * 0',
  '@daily': '0 0 0 * * *', '@midnight': '0 0 0 * * *', '@hourly': '0 0 * * * *',
};
const RANGES: readonly [number, number][] = [[0, 59], [0, 59], [0, 23], [1, 31], [1, 12], [0, 6]];
const NAMES = ['second', 'minute', 'hour', 'day of month', 'month', 'day of week'];

function parseField(text: string, index: number, schedule: string): Set<number> {
  const [lo, hi] = RANGES[index]!;
  const out = new Set<number>();
  const bad = (why: string): SsisError =>
    new SsisError('SSIS_INVALID_CONFIG', `schedule "${schedule}": ${NAMES[index]} field "${text}" ${why}`, { issues: [{ field: 'spec.schedule', message: `${NAMES[index]}: ${why}` }] });
  for (const part of text.split(',')) {
    const [range, stepText] = part.split('/');
    const step = stepText === undefined ? 1 : Number(stepText);
    if (!Number.isInteger(step) || step < 1) throw bad(`has an invalid step "${stepText ?? ''}"`);
    let from: number;
    let to: number;
    if (range === '*' || range === '?') [from, to] = [lo, hi];
    else if (range?.includes('-')) [from, to] = range.split('-').map(Number) as [number, number];
    else {
      from = Number(range);
      to = stepText === undefined ? from : hi;
    }
    if (!Number.isInteger(from) || !Number.isInteger(to) || from < lo || to > hi || from > to) throw bad(`is out of range ${lo}-${hi}`);
    for (let v = from; v <= to; v += step) out.add(v);
  }
  return out;
}

export function parseCron(schedule: string): CronSchedule {
  const trimmed = schedule.trim();
  if (trimmed.startsWith('@every')) {
    throw new SsisError('SSIS_INVALID_CONFIG', `schedule "${schedule}": @every is not supported by PingSource`, { issues: [{ field: 'spec.schedule', message: '@every is rejected by Knative' }] });
  }
  const expanded = DESCRIPTORS[trimmed] ?? trimmed;
  let fields = expanded.split(/\s+/);
  if (fields.length === 5) fields = ['0', ...fields];
  if (fields.length !== 6) {
    throw new SsisError('SSIS_INVALID_CONFIG', `schedule "${schedule}": expected 5 or 6 fields, got ${fields.length}`, { issues: [{ field: 'spec.schedule', message: 'expected 5 or 6 fields' }] });
  }
  const sets = fields.map((f, i) => parseField(f, i, schedule));
  const [sec, min, hour, dom, mon, dow] = sets as [Set<number>, Set<number>, Set<number>, Set<number>, Set<number>, Set<number>];
  return {
    source: schedule,
    matches: (d) => sec.has(d.getUTCSeconds()) && min.has(d.getUTCMinutes()) && hour.has(d.getUTCHours()) && dom.has(d.getUTCDate()) && mon.has(d.getUTCMonth() + 1) && dow.has(d.getUTCDay()),
  };
}
