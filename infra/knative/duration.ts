/**
 * ISO-8601 durations as Knative's delivery spec writes them (`PT0.2S`, `PT10M`, `PT1H30M`, `P1D`),
 * turned into milliseconds the way eventing-kafka-broker does (rickb777/period, then truncation
 * to whole milliseconds).
 *
 * Years and months are refused: they have no fixed length, and a delivery delay or timeout
 * measured in them is a mistake.
 */

const MS_PER = { W: 604_800_000, D: 86_400_000, H: 3_600_000, M: 60_000, S: 1_000 } as const;

// P[nW][nD][T[nH][nM][nS]]; each number may carry a fraction (`.` or `,`, as ISO 8601 allows).
const NUMBER = String.raw`(\d+(?:[.,]\d+)?)`;
const DURATION = new RegExp(`^P(?:${NUMBER}W)?(?:${NUMBER}D)?(?:T(?:${NUMBER}H)?(?:${NUMBER}M)?(?:${NUMBER}S)?)?$`);

export type DurationResult = { readonly ok: true; readonly ms: number } | { readonly ok: false; readonly message: string };

export function parseIsoDurationMs(text: string): DurationResult {
  const invalid = (why: string): DurationResult => ({ ok: false, message: `${JSON.stringify(text)} is not an ISO-8601 duration: ${why}` });
  if (text.startsWith('-')) return invalid('negative durations are not allowed');
  const datePart = text.split('T')[0] ?? '';
  if (text.startsWith('P') && /\d[YM]/.test(datePart)) return invalid('years and months have no fixed length; use weeks, days or smaller units');
  const match = DURATION.exec(text);
  if (!match) return invalid('expected e.g. PT0.2S, PT30S, PT10M, PT1H30M or P1D');
  const [, weeks, days, hours, minutes, seconds] = match;
  const parts: [string | undefined, number][] = [
    [weeks, MS_PER.W],
    [days, MS_PER.D],
    [hours, MS_PER.H],
    [minutes, MS_PER.M],
    [seconds, MS_PER.S],
  ];
  if (parts.every(([value]) => value === undefined)) return invalid('it names no amount');
  if (text.endsWith('T')) return invalid('a "T" must be followed by hours, minutes or seconds');
  let micros = 0;
  for (const [value, unitMs] of parts) {
    // Rounding to whole microseconds first removes binary-fraction noise (0.29 * 1000 = 289.99…).
    if (value !== undefined) micros += Math.round(Number(value.replace(',', '.')) * unitMs * 1000);
  }
  return { ok: true, ms: Math.floor(micros / 1000) };
}
