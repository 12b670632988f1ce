/**
 * What-if replay: recorded metrics samples run again, offline, through the evaluate function with
 * another policy or other scaler settings, its new decisions set beside the ones recorded in the
 * topic. Open loop: each sample is evaluated as it was recorded (its replicas, tier and generation
 * reflect what was actually decided), so the comparison is "what would the policy have decided
 * seeing the same state", not a re-simulation (sim/ does that).
 *
 * The evaluate function runs unchanged in virtual time: its clock is each event's time.
 */
import type { Clock, IdSource } from '../core/common/ports';
import { silentLogger } from '../core/common/ports';
import type { SsisEvent } from '../events/envelope';
import { METRICS_SAMPLED, type MetricsSampled } from '../events/metrics-sampled';
import { PLACEMENT_FAILED } from '../events/placement-failed';
import { ROLLOUT_COMPLETED } from '../events/rollout-completed';
import { SCALE_DECIDED, type ScaleDecided } from '../events/scale-decided';
import { buildEvaluateFunction, type EvaluateDeps } from '../functions/evaluate/index';
import { createFunctionRegistry } from '../functions/runtime/server';

/** The policies the evaluate function can be forced to (whatever functions/evaluate offers). */
export type WhatIfPolicy = NonNullable<EvaluateDeps['policyOverride']>;

export interface DecisionSummary {
  readonly decisionId: string;
  readonly action: string;
  readonly target: string;
  readonly policy: string;
}

export interface WhatIfRow {
  readonly time: string;
  readonly service: string;
  readonly generation: number;
  /** What the sample saw: tier × replicas. */
  readonly current: string;
  readonly recorded?: DecisionSummary;
  readonly replayed?: DecisionSummary;
  readonly differs: boolean;
}

export interface WhatIfReport {
  readonly samples: number;
  readonly rows: readonly WhatIfRow[];
  readonly recordedDecisions: number;
  readonly replayedDecisions: number;
  readonly differing: number;
}

export type WhatIfDeps = Omit<EvaluateDeps, 'clock' | 'ids' | 'policyOverride'>;

function summary(d: ScaleDecided): DecisionSummary {
  return { decisionId: d.decisionId, action: d.action, target: `${d.target.profile}x${d.target.replicas}`, policy: d.policy };
}

function same(a: DecisionSummary | undefined, b: DecisionSummary | undefined): boolean {
  return a?.action === b?.action && a?.target === b?.target;
}

/**
 * Replays `events` (time order) through a fresh evaluate function. A recorded decision is paired
 * with the sample it answered: the latest earlier sample of its service with its fromGeneration.
 */
export async function whatIf(events: readonly SsisEvent[], deps: WhatIfDeps, policy?: WhatIfPolicy): Promise<WhatIfReport> {
  let now = 0;
  const clock: Clock = { nowMs: () => now };
  let n = 0;
  const ids: IdSource = { next: () => `what-if-${++n}` };
  const evaluate = buildEvaluateFunction({ ...deps, clock, ids, ...(policy ? { policyOverride: policy } : {}) });
  const ctx = { logger: silentLogger, publisher: { publish: () => Promise.resolve() }, registry: createFunctionRegistry('evaluate-what-if') };

  const rows: (WhatIfRow & { recorded?: DecisionSummary })[] = [];
  /** service → index in rows of its latest sample. */
  const lastSample = new Map<string, number>();
  let samples = 0;
  let recordedDecisions = 0;
  let replayedDecisions = 0;
  for (const event of events) {
    const t = Date.parse(event.time ?? '');
    if (Number.isFinite(t)) now = t;
    if (event.type === SCALE_DECIDED) {
      const d = event.data as ScaleDecided;
      if (d.policy === 'cold-start') continue; // the request function's, not a policy's
      recordedDecisions++;
      const i = lastSample.get(d.service);
      const row = i === undefined ? undefined : rows[i];
      if (row && row.generation === d.fromGeneration && !row.recorded) rows[i!] = { ...row, recorded: summary(d) };
      else rows.push({ time: event.time ?? '', service: d.service, generation: d.fromGeneration, current: `${d.current.profile ?? '-'}x${d.current.replicas}`, recorded: summary(d), differs: true });
      continue;
    }
    if (event.type !== METRICS_SAMPLED && event.type !== ROLLOUT_COMPLETED && event.type !== PLACEMENT_FAILED) continue;
    const reply = await evaluate.onEvent(event, ctx);
    if (event.type !== METRICS_SAMPLED) continue;
    samples++;
    const s = event.data as MetricsSampled;
    const replayed = reply?.type === SCALE_DECIDED ? summary(reply.data as ScaleDecided) : undefined;
    if (replayed) replayedDecisions++;
    rows.push({ time: event.time ?? '', service: s.service, generation: s.generation, current: `${s.profile ?? '-'}x${s.replicas}`, ...(replayed ? { replayed } : {}), differs: false });
    lastSample.set(s.service, rows.length - 1);
  }
  const decided = rows.filter((r) => r.recorded || r.replayed).map((r) => ({ ...r, differs: !same(r.recorded, r.replayed) }));
  return { samples, rows: decided, recordedDecisions, replayedDecisions, differing: decided.filter((r) => r.differs).length };
}

/**
 * The report narrowed to one service. The replay itself must run over every service (the inferno policy
 * optimizes them jointly, so one service alone would be given the whole cluster); only the rows are narrowed.
 */
export function narrowWhatIf(report: WhatIfReport, service: string): WhatIfReport {
  const rows = report.rows.filter((r) => r.service === service);
  return {
    samples: report.samples,
    rows,
    recordedDecisions: rows.filter((r) => r.recorded).length,
    replayedDecisions: rows.filter((r) => r.replayed).length,
    differing: rows.filter((r) => r.differs).length,
  };
}

/** The table `ssis replay --what-if` prints. */
export function formatWhatIf(report: WhatIfReport, label: string): string {
  const cell = (d: DecisionSummary | undefined): string => (d ? `${d.action} → ${d.target}` : '—');
  const header = ['time', 'service', 'gen', 'current', 'recorded', label, ''];
  const lines = report.rows.map((r) => [r.time.slice(11, 23), r.service, String(r.generation), r.current, cell(r.recorded), cell(r.replayed), r.differs ? '≠' : '=']);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const fmt = (cols: string[]): string => cols.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [
    fmt(header),
    ...lines.map(fmt),
    '',
    `${report.samples} samples replayed; ${report.recordedDecisions} recorded decisions, ${report.replayedDecisions} with ${label}; ${report.differing} of ${report.rows.length} decision points differ`,
  ].join('\n');
}
