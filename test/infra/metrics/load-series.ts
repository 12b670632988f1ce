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

/** "a+bxN" expands to N+1 values a, a+b, ...; "axN" repeats a N+1 times; NaN, Inf, _ and stale are literal steps. */
export function expandValues(text: string): Step[] {
  const steps: Step[] = [];
  for (const token of text.trim().split(/\s+/)) {
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
      const start = Number(series[1]);
      const increment = series[2] === undefined ? 0 : Number(series[2]);
      const repeats = series[3] === undefined ? 0 : Number(series[3]);
      for (let i = 0; i <= repeats; i++) steps.push(start + i * increment);
    }
  }
  return steps;
}
