/**
 * Test helper in the style of Prometheus' promqltest `load` blocks: each series is written as
 * `name{labels}` with a value list such as "0+15x4" (0 15 30 45 60), "1 2 _ 4" (_ = no sample at
 * that step) or "3 stale" (a staleness marker). Each series is scraped as its own target whose
 * target labels are the series' labels, so series never interfere through staleness tracking.
 */
import { parseExposition } from '../../../infra/metrics/exposition';
import type { SeriesStore } from '../../../infra/metrics/series-store';

type Step = number | 'missing' | 'stale';

export function loadSeries(store: SeriesStore, stepMs: number, series: Readonly<Record<string, string>>, startMs = 0): void {
  for (const [descriptor, values] of Object.entries(series)) {
    const [parsed] = parseExposition(`${descriptor} 0`);
    if (!parsed) throw new Error(`bad series descriptor ${descriptor}`);
    const target = parsed.labels;
    expandValues(values).forEach((step, index) => {
      const atMs = startMs + index * stepMs;
      if (step === 'missing') return;
      if (step === 'stale') store.markStale(target, atMs);
      else store.append([{ name: parsed.name, labels: {}, value: step }], atMs, target);
    });
  }
}

/**
 * Expands promqltest value notation the way Prometheus does: "a+bxN" is N+1 values a, a+b, ...
 * (accumulated by repeated addition), "axN" repeats a N+1 times, "_xN" is N missing steps;
 * NaN, Inf, -Inf, _ and stale are single steps.
 */
export function expandValues(text: string): Step[] {
  const steps: Step[] = [];
  for (const token of text.trim().split(/\s+/)) {
    const blanks = /^_x(\d+)$/.exec(token);
    if (blanks) {
      for (let i = 0; i < Number(blanks[1]); i++) steps.push('missing');
      continue;
    }
    if (token === '_') steps.push('missing');
    else if (token === 'stale') steps.push('stale');
    else {
      const series = /^(-?[\d.]+(?:e-?\d+)?)(?:([+-][\d.]+)?x(\d+))?$/.exec(token);
      if (!series) {
        const special = { NaN, Inf: Infinity, '-Inf': -Infinity }[token];
        if (special === undefined) throw new Error(`bad value ${token}`);
        steps.push(special);
        continue;
      }
      let value = Number(series[1]);
      const increment = series[2] === undefined ? 0 : Number(series[2]);
      const repeats = series[3] === undefined ? 0 : Number(series[3]);
      for (let i = 0; i <= repeats; i++) {
        steps.push(value);
        value += increment;
      }
    }
  }
  return steps;
}
