/**
 * The comparison report: a Markdown page (tables, the literature's bar checked for (e), the
 * per-service breakdown, definitions, trace attribution) and its SVG plots. Pure: returns files
 * as strings; the CLI writes them.
 */
import { policyTag } from '../policies/ids';
import type { PolicyId } from '../policies/port';
import type { RunResult } from '../results';
import type { Scenario } from '../scenario';
import { lineChart } from './svg';

export interface SweepRow {
  readonly parameter: string;
  readonly value: number;
  readonly result: RunResult;
}

export interface ReportInput {
  readonly scenario: Scenario;
  readonly results: readonly RunResult[];
  readonly sweep?: readonly SweepRow[];
  /** e.g. the command line that produced it. */
  readonly command?: string;
}

const pct = (x: number): string => (Number.isFinite(x) ? `${(100 * x).toFixed(1)} %` : '—');
const sec = (ms: number): string => (Number.isFinite(ms) ? (ms / 1000).toFixed(2) : '—');
const num = (x: number, d = 0): string => (Number.isFinite(x) ? x.toFixed(d) : '—');
const change = (x: number, base: number): string => (base > 0 && Number.isFinite(x) ? `${x >= base ? '+' : '−'}${Math.abs((100 * (x - base)) / base).toFixed(1)} %` : '—');

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]): string => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map((_, i) => (i === 0 ? '---' : '---:'))), ...rows.map(line)].join('\n');
}

function label(r: RunResult): string {
  return `${policyTag(r.policy)} ${r.title}`;
}

export function comparisonTable(results: readonly RunResult[]): string {
  return table(
    ['configuration', 'avg JCT s', 'p50 JCT s', 'p99 JCT s', 'makespan s', 'throughput req/s', 'TTFT SLO', 'ITL SLO', 'both SLOs', 'GPU-s (slices)', 'GPU-s (GPUs occupied)', 'idle while queued', 'reconfig.', 'replica moves', 'unfinished'],
    results.map((r) => [
      label(r), sec(r.jct.mean), sec(r.jct.p50), sec(r.jct.p99), num(r.makespanSec), num(r.throughputPerSec, 3), pct(r.ttftAttainment), pct(r.itlAttainment), pct(r.sloAttainment),
      num(r.gpuSeconds), num(r.occupiedGpuSeconds), pct(r.idleWhileQueuedFraction), String(r.reconfigurations), String(r.replicaMoves), String(r.unfinished),
    ]),
  );
}

/** SSIS in full (e) against each baseline, and the bar set by the literature (notes/perf.md §7). */
export function versusTable(results: readonly RunResult[], subject: PolicyId = 'ssis-full'): string {
  const e = results.find((r) => r.policy === subject);
  if (!e) return '';
  const rows = results.filter((r) => r !== e).map((b) => [
    label(b), change(e.jct.mean, b.jct.mean), change(e.gpuSeconds, b.gpuSeconds), change(e.occupiedGpuSeconds, b.occupiedGpuSeconds),
    b.throughputPerSec > 0 ? `${(e.throughputPerSec / b.throughputPerSec).toFixed(3)}×` : '—',
    `${e.sloAttainment >= b.sloAttainment ? '+' : '−'}${Math.abs((e.sloAttainment - b.sloAttainment) * 100).toFixed(1)} pt`,
  ]);
  return table([`${policyTag(subject)} versus`, 'avg JCT', 'GPU-s (slices)', 'GPU-s (occupied)', 'throughput ratio', 'SLO attainment (both)'], rows);
}

export function barCheck(results: readonly RunResult[]): string {
  const e = results.find((r) => r.policy === 'ssis-full');
  const a = results.find((r) => r.policy === 'static-gpu');
  if (!e || !a) return 'The bar needs runs of (a) and (e).';
  const jct = a.jct.mean > 0 ? 1 - e.jct.mean / a.jct.mean : NaN;
  const gpu = a.gpuSeconds > 0 ? 1 - e.gpuSeconds / a.gpuSeconds : NaN;
  const slo = e.sloAttainment >= a.sloAttainment;
  const idle = e.idleWhileQueuedFraction <= 0.05;
  const mark = (ok: boolean): string => (ok ? 'met' : '**not met**');
  return [
    `- average JCT ${pct(Math.abs(jct))} ${jct >= 0 ? 'lower' : 'higher'} than (a) (bar: ≥ 30 % lower): ${mark(jct >= 0.3)}`,
    `- GPU-seconds ${pct(Math.abs(gpu))} ${gpu >= 0 ? 'fewer' : 'more'} than (a) (bar: ≥ 40 % fewer): ${mark(gpu >= 0.4)}`,
    `- SLO attainment (both) ${pct(e.sloAttainment)} vs (a) ${pct(a.sloAttainment)} (bar: equal or better): ${mark(slo)}`,
    `- idle capacity while requests queue ${pct(e.idleWhileQueuedFraction)} of cluster GPU time (bar: ≤ 5 %): ${mark(idle)}`,
  ].join('\n');
}

function perServiceTable(results: readonly RunResult[]): string {
  const rows: string[][] = [];
  for (const r of results) {
    for (const s of r.perService) {
      rows.push([policyTag(r.policy), s.service, s.model, String(s.completed), sec(s.jctMeanMs), pct(s.ttftAttainment), pct(s.itlAttainment), num(s.gpuSeconds)]);
    }
  }
  return table(['cfg', 'service', 'model', 'completed', 'avg JCT s', 'TTFT SLO', 'ITL SLO', 'GPU-s'], rows);
}

export function renderPlots(input: ReportInput): Record<string, string> {
  const { scenario, results } = input;
  const first = results[0];
  if (!first) return {};
  const files: Record<string, string> = {};
  files['load.svg'] = lineChart({
    title: `${scenario.name}: arrivals per service`,
    xLabel: 'time (s)',
    yLabel: 'requests / s',
    series: scenario.services.map((s, i) => ({ name: s.name, xs: first.series.tSec, ys: first.series.arrivalsPerSec[i] ?? [] })),
  });
  files['allocation.svg'] = lineChart({
    title: `${scenario.name}: GPUs allocated (slice fractions summed)`,
    xLabel: 'time (s)',
    yLabel: 'GPUs',
    series: results.map((r) => ({ name: policyTag(r.policy), xs: r.series.tSec, ys: r.series.tSec.map((_, k) => r.series.allocatedGpus.reduce((sum, col) => sum + (col[k] ?? 0), 0)) })),
  });
  files['queue.svg'] = lineChart({
    title: `${scenario.name}: requests waiting for a batch slot`,
    xLabel: 'time (s)',
    yLabel: 'requests',
    series: results.map((r) => ({ name: policyTag(r.policy), xs: r.series.tSec, ys: r.series.queued })),
  });
  files['jct.svg'] = lineChart({
    title: `${scenario.name}: job completion time distribution (CDF)`,
    xLabel: 'JCT (s, log scale)',
    yLabel: 'fraction of requests',
    logX: true,
    series: results.map((r) => ({ name: policyTag(r.policy), xs: r.jctQuantilesMs.map((ms) => ms / 1000), ys: r.jctQuantilesMs.map((_, k) => k / Math.max(1, r.jctQuantilesMs.length - 1)) })),
  });
  return files;
}

export function renderReport(input: ReportInput): Record<string, string> {
  const { scenario, results } = input;
  const plots = renderPlots(input);
  const d = scenario.delays;
  const lines: string[] = [];
  lines.push(`# Simulation report: ${scenario.name}`, '');
  if (scenario.description) lines.push(scenario.description, '');
  if (input.command) lines.push(`Produced by \`${input.command}\` (seed ${results[0]?.seed ?? scenario.seed}).`, '');
  lines.push(`Cluster: ${scenario.cluster.gpus.map((g) => `${g.count} × ${g.model}`).join(', ')}. Arrivals for ${scenario.durationSec} s, then the queues drain (limit ${scenario.drainLimitSec} s).`, '');
  lines.push(`Control-plane delays: metrics every ${d.metricIntervalSec} s, decision ${d.decisionSec} s, MIG repartition ${d.migRepartitionSec} s, pod start ${d.podStartSec} s, model load = catalog loadSeconds × ${d.loadTimeScale}.`, '');
  lines.push(table(['service', 'model', 'TTFT SLO ms', 'ITL SLO ms'], scenario.services.map((s) => [s.name, s.model, String(s.slo.ttftMs), String(s.slo.itlMs)])), '');
  const r0 = results[0];
  if (r0) lines.push(`${r0.requests} requests${r0.truncated > 0 ? ` (${r0.truncated} cut to their model's context length)` : ''}.`, '');
  lines.push('## Comparison', '', comparisonTable(results), '');
  if (results.some((r) => r.policy === 'ssis-full')) {
    lines.push('## (e) against every baseline', '', versusTable(results), '', 'The bar from the literature (notes/perf.md §7):', '', barCheck(results), '');
  }
  lines.push('## Plots', '');
  for (const name of Object.keys(plots)) lines.push(`![${name}](${name})`, '');
  if (input.sweep && input.sweep.length > 0) {
    lines.push('## Sweep', '', table(['parameter', 'value', 'configuration', 'avg JCT s', 'p99 JCT s', 'both SLOs', 'GPU-s (slices)', 'reconfig.'], input.sweep.map((s) => [
      s.parameter, String(s.value), label(s.result), sec(s.result.jct.mean), sec(s.result.jct.p99), pct(s.result.sloAttainment), num(s.result.gpuSeconds), String(s.result.reconfigurations),
    ])), '');
  }
  lines.push('## Per service', '', perServiceTable(results), '');
  lines.push('## Definitions', '',
    '- JCT: arrival at the service to the last output token. Makespan: first arrival to last completion. Throughput: completed requests / makespan.',
    '- TTFT SLO: share of requests whose time to first token (from arrival, queueing included) is within the service’s TTFT SLO. ITL SLO: share whose mean time per output token is within its ITL SLO.',
    '- GPU-s (slices): Σ over replicas of slice compute fraction × time held (loading and draining included). GPU-s (GPUs occupied): time × GPUs holding at least one replica.',
    '- Idle while queued: capacity neither serving nor loading (free slices, unallocated GPUs, idle replicas) integrated over the time some request waited for a batch slot, as a share of cluster GPU time.',
    '- Reconfigurations: GPUs whose MIG layout changed to place a replica (each costs the repartition delay). Replica moves: replicas started on a new slice to replace a running one (tier changes, planner moves).',
    `- Placement: ${[...new Set(results.map((r) => `${policyTag(r.policy)} ${r.placement}`))].join('; ')}.`,
    '');
  if (scenario.workload.some((w) => w.kind === 'azure')) {
    lines.push('## Trace attribution', '',
      'Workload from the Azure LLM inference trace 2023 (Azure/AzurePublicDataset, `AzureLLMInferenceTrace_code.csv` and `AzureLLMInferenceTrace_conv.csv`), © Microsoft, licensed under CC BY 4.0 (https://creativecommons.org/licenses/by/4.0/). Changes: requests assigned to models at random (seeded), prompts cut to the model’s context length. Citation: Patel et al., "Splitwise: Efficient generative LLM inference using phase splitting", ISCA 2024.',
      '');
  }
  return { 'README.md': `${lines.join('\n')}`, ...plots };
}
