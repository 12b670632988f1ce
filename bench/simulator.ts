/**
 * Simulator benchmark (not a test): `npm run bench:sim`. Reports simulated requests per minute of
 * wall time on one core, and each case's ratio against the baseline measured in this run (a single
 * replica on one GPU: the engine's hot path with nothing else). Cases: the 1-GPU baseline, the
 * bimodal scenario under each configuration, and (BENCH_LARGE=1) the 1,000-GPU scenario under static-gpu.
 * A bare event-queue figure (push + pop per second) is printed for scale.
 */
import { loadScenario, loadSsisConfiguration, loadTraces } from '../sim/io/files';
import { EventQueue } from '../sim/event-queue';
import { staticGpuPolicy } from '../sim/policies/static-gpu';
import type { PolicyId } from '../sim/policies/port';
import { buildPolicy, effectiveConfig, placementFor, POLICY_IDS } from '../sim/run';
import { parseScenario, type Scenario } from '../sim/scenario';
import { simulate } from '../sim/simulator';

const configuration = loadSsisConfiguration();

function perMinute(requests: number, wallMs: number): number {
  return (requests / wallMs) * 60_000;
}

function bareQueue(n: number): number {
  const q = new EventQueue();
  const t0 = performance.now();
  for (let i = 0; i < 1024; i++) q.push(Math.random() * 1000, 0, i);
  for (let i = 0; i < n; i++) {
    q.pop();
    q.push(q.time + Math.random() * 1000, 0, i);
  }
  return (n / (performance.now() - t0)) * 1000;
}

function run(scenario: Scenario, policy: PolicyId, traces = {}): { requests: number; wallMs: number } {
  const config = effectiveConfig(configuration.ssis, scenario);
  const t0 = performance.now();
  const r = simulate({ scenario, catalog: configuration.catalog, config, autoscaler: configuration.autoscaler, traces, policy: policy === 'static-gpu' ? staticGpuPolicy() : buildPolicy(policy, scenario, config), placement: placementFor(policy) });
  return { requests: r.requests, wallMs: performance.now() - t0 };
}

const oneGpu = parseScenario({
  name: 'one-gpu', seed: 1, durationSec: 3600, cluster: { gpus: [{ model: 'A100-SXM4-40GB', count: 1 }] },
  services: [{ name: 'chat', model: 'meta-llama/Llama-3.2-1B-Instruct', slo: { ttftMs: 1000, itlMs: 50 } }],
  workload: [{ kind: 'gamma', name: 'poisson', services: ['chat'], ratePerSec: 40, cv: 1, inputTokens: { mean: 300, cv: 0.5 }, outputTokens: { mean: 60, cv: 0.5 } }],
});

const rows: [string, number, number][] = [];
run(oneGpu, 'static-gpu'); // warm-up
const base = run(oneGpu, 'static-gpu');
const baseRate = perMinute(base.requests, base.wallMs);
rows.push(['1 GPU, 1 replica (baseline)', base.requests, base.wallMs]);
const bimodal = loadScenario('bimodal').scenario;
for (const p of POLICY_IDS) {
  run(bimodal, p); // warm-up: the first run of a policy pays for loading and compiling its modules
  const r = run(bimodal, p);
  rows.push([`bimodal ${p}`, r.requests, r.wallMs]);
}
if (process.env['BENCH_LARGE'] === '1') {
  const large = loadScenario('large-1000gpu');
  const r = run(large.scenario, 'static-gpu', loadTraces(large.scenario, large.file));
  rows.push(['large-1000gpu static-gpu', r.requests, r.wallMs]);
}
process.stdout.write(`event queue alone: ${(bareQueue(2_000_000) / 1e6).toFixed(1)} M push+pop per second\n\n`);
process.stdout.write('| case | simulated requests | wall s | requests per wall minute | vs baseline |\n| --- | ---: | ---: | ---: | ---: |\n');
for (const [name, requests, wallMs] of rows) {
  const rate = perMinute(requests, wallMs);
  process.stdout.write(`| ${name} | ${requests} | ${(wallMs / 1000).toFixed(2)} | ${Math.round(rate).toLocaleString('en-US')} | ${(rate / baseRate).toFixed(2)}× |\n`);
}
