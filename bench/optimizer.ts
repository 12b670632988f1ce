/**
 * Optimizer benchmark (not a test): `npm run bench:optimizer` (env BENCH_N = repetitions, default 30).
 * Reports p50/p99 wall time over N repetitions after warm-up runs (excluded), and ratios against the baseline
 * measured in this run (Greedy end-to-end on sample-data/large). Cases:
 *  - Greedy on sample-data/large: end to end `solve(system)` (candidates + greedy) and greedy phase only;
 *  - a seeded synthetic instance, 1,000 servers × 20 accelerator types: Greedy (end to end, greedy phase) and
 *    MILP SINGLE unlimited (HiGHS, capped by a time limit; candidates built once, outside the timing);
 *  - beyond Inferno: the cluster optimizer (MIG slices as accelerator types, capacity packed by geometry) on the
 *    shipped model catalog, 40 services on 64 A100-40GB + 32 H100-80GB (what the evaluate stage solves per sample).
 */
import { join } from 'node:path';
import { indexSystem } from '../core/optimizer/allocation';
import { loadInfernoSystem, type InfernoSystem } from '../core/optimizer/data';
import { solveMilp } from '../core/optimizer/milp';
import { loadHighsSolver } from '../infra/solver/highs';
import { buildCandidates, solve, solveGreedy } from '../core/optimizer/solver';
import { optimizeCluster, type ClusterService } from '../core/optimizer/cluster-system';
import { configurationFrom } from '../infra/config/from-configmaps';
import { loadManifests } from '../infra/knative/manifests';
import { loadInfernoFolder } from '../infra/optimizer/inferno-files';
import { mulberry32 as prng } from '../core/common/prng';

const REF = join(__dirname, '../../shared/reference/inferno');
const N = Number(process.env['BENCH_N'] ?? 30);
const MILP_TIME_LIMIT_SEC = 30;

function loadDataset(dir: string): InfernoSystem {
  return loadInfernoFolder(join(REF, dir), { includeSystemData: false });
}

/** Synthetic instance with α/β/γ in the ranges of sample-data/large (α 3–490 ms, β 0.011–7 ms, γ 0.0003–0.22 ms). */
function synthetic(seed: number, numServers: number, numTypes: number): InfernoSystem {
  const rnd = prng(seed);
  const uni = (lo: number, hi: number) => lo + (hi - lo) * rnd();
  const logUni = (lo: number, hi: number) => Math.exp(uni(Math.log(lo), Math.log(hi)));
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const round = (x: number, d: number) => Number(x.toFixed(d));
  const accelerators = Array.from({ length: numTypes }, (_, j) => ({
    name: `T${String(j).padStart(2, '0')}`, type: `T${String(j).padStart(2, '0')}`, multiplicity: 1, memSize: 80, memBW: 2000,
    power: { idle: 50, full: 350, midPower: 250, midUtil: 0.6 }, cost: round(logUni(3, 80), 2),
  }));
  const models = Array.from({ length: 12 }, (_, m) => `model_${m}`);
  const size = models.map(() => logUni(1, 8)); // relative model size: heavier models are slower everywhere
  const speed = accelerators.map(() => logUni(0.5, 4)); // relative accelerator speed
  const modelData = models.flatMap((name, m) => accelerators.map((a, j) => {
    const f = size[m]! / speed[j]!;
    return {
      name, acc: a.name, accCount: f > 4 ? pick([2, 4]) : 1, maxBatchSize: Math.round(uni(16, 256)), atTokens: 512,
      perfParms: { alpha: round(Math.min(490, 3 + 6 * f * uni(0.5, 2)), 3), beta: round(Math.min(7, 0.011 + 0.05 * f * uni(0.5, 2)), 4), gamma: round(Math.min(0.22, 0.0003 + 0.002 * f * uni(0.5, 2)), 6) },
    };
  }));
  const classes = [['Premium', 1, 40, 1000], ['Bronze', 2, 80, 2000], ['Free', 3, 160, 4000]] as const;
  const serviceClasses = classes.map(([name, priority, itl, ttft]) => ({
    name, priority, modelTargets: models.map((model, m) => ({ model, 'slo-itl': size[m]! > 4 ? itl * 2 : itl, 'slo-ttft': ttft })),
  }));
  const servers = Array.from({ length: numServers }, (_, i) => {
    const [cls] = pick(classes);
    const model = pick(models);
    return { name: `${cls}-${model}-${i}`, class: cls, model, currentAlloc: { load: { arrivalRate: Math.round(uni(10, 600)), avgInTokens: Math.round(logUni(64, 2048)), avgOutTokens: Math.round(logUni(64, 2048)) } } };
  });
  return loadInfernoSystem({
    'accelerator-data.json': { accelerators },
    'capacity-data.json': { count: accelerators.map((a) => ({ type: a.type, count: 4000 })) },
    'model-data.json': { models: modelData },
    'serviceclass-data.json': { serviceClasses },
    'server-data.json': { servers },
    'optimizer-data.json': { optimizer: { unlimited: false, saturationPolicy: 'None' } },
  });
}

interface Stats { p50: number; p99: number; n: number }

function measure(fn: () => void, n: number, warmup: number): Stats {
  for (let k = 0; k < warmup; k++) fn();
  const t: number[] = [];
  for (let k = 0; k < n; k++) {
    const t0 = process.hrtime.bigint();
    fn();
    t.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  t.sort((a, b) => a - b);
  const q = (p: number) => t[Math.min(t.length - 1, Math.ceil(p * t.length) - 1)]!;
  return { p50: q(0.5), p99: q(0.99), n };
}

async function main(): Promise<void> {
  const rows: { name: string; s: Stats; note: string }[] = [];
  const large = loadDataset('sample-data/large');
  const largeIndex = indexSystem(large);
  const largeEntries = buildCandidates(largeIndex);
  const greedyOpts = { delayedBestEffort: large.optimizer.delayedBestEffort, saturationPolicy: large.optimizer.saturationPolicy };
  let cost = 0;
  const base = measure(() => { cost = solve(large).totalCost; }, N, 3);
  rows.push({ name: 'Greedy large (27 srv × 21 acc), end to end', s: base, note: `cost ${cost}` });
  rows.push({ name: 'Greedy large, greedy phase only', s: measure(() => { solveGreedy(largeEntries, largeIndex.capacity, greedyOpts); }, N, 3), note: '' });

  const t0 = Date.now();
  const syn = synthetic(20240901, 1000, 20);
  const synIndex = indexSystem(syn);
  const synEntries = buildCandidates(synIndex);
  const feasible = synEntries.filter((e) => e.candidates.length > 0).length;
  const pairs = synEntries.reduce((s, e) => s + e.candidates.length, 0);
  console.log(`synthetic: seed 20240901, ${syn.servers.length} servers × ${syn.accelerators.length} accelerator types, ${syn.models.length} perf rows; ` +
    `${pairs} feasible pairs, ${feasible} servers with ≥1 candidate; generated + candidates in ${Date.now() - t0} ms`);
  const nSyn = Math.max(3, Math.round(N / 6));
  rows.push({ name: 'Greedy synthetic 1000×20, end to end', s: measure(() => { cost = solve(syn).totalCost; }, nSyn, 1), note: `cost ${cost.toFixed(0)}` });
  const synOpts = { delayedBestEffort: false, saturationPolicy: 'None' as const };
  rows.push({ name: 'Greedy synthetic 1000×20, greedy phase only', s: measure(() => { solveGreedy(synEntries, synIndex.capacity, synOpts); }, N, 3), note: '' });
  const unlimitedCost = solve(syn, { optimizer: { unlimited: true } }).totalCost;

  const highs = await loadHighsSolver();
  let note = '';
  const milp = measure(() => {
    const sol = solveMilp(synIndex, synEntries, highs, { mode: 'single', limited: false, timeLimitSec: MILP_TIME_LIMIT_SEC });
    note = `status ${sol.status} (${sol.solverStatus}), cost ${sol.totalCost.toFixed(0)} vs Unlimited ${unlimitedCost.toFixed(0)}, unmet ${sol.unmet.length}, cap ${MILP_TIME_LIMIT_SEC}s`;
  }, nSyn, 1);
  rows.push({ name: 'MILP SINGLE unlimited synthetic 1000×20 (HiGHS)', s: milp, note });
  const milpLarge = measure(() => {
    const sol = solveMilp(largeIndex, largeEntries, highs, { mode: 'single', limited: true, timeLimitSec: MILP_TIME_LIMIT_SEC });
    note = `status ${sol.status}, cost ${sol.totalCost.toFixed(0)}`;
  }, N, 3);
  rows.push({ name: 'MILP SINGLE limited large (HiGHS)', s: milpLarge, note });

  const catalog = configurationFrom(loadManifests(join(__dirname, '../knative')).configMaps).catalog;
  const modelIds = [...catalog.keys()];
  const rnd = prng(7);
  const services: ClusterService[] = Array.from({ length: 40 }, (_, i) => ({
    service: `svc-${i}`, modelId: modelIds[i % modelIds.length]!, serviceClass: i % 3 === 0 ? 'premium' : 'standard',
    arrivalRatePerSec: 0.2 + 6 * rnd() ** 2, avgInputTokens: 64 + Math.round(900 * rnd()), avgOutputTokens: 32 + Math.round(400 * rnd()),
    current: null, minReplicas: 1, maxReplicas: 16,
  }));
  const clusterInput = {
    catalog, services, gpus: new Map([['A100-SXM4-40GB', 64], ['H100-80GB', 32]]),
    classes: [{ name: 'premium', priority: 1, sloFor: () => ({ ttftMs: 500, itlMs: 40 }) }, { name: 'standard', priority: 10, sloFor: () => ({ ttftMs: 2000, itlMs: 80 }) }],
  };
  const mig = measure(() => {
    const sol = optimizeCluster(clusterInput);
    const slices = [...sol.targets.values()].filter((t) => t.kind === 'mig').length;
    note = `${sol.targets.size} allocated (${slices} on MIG slices), ${sol.unallocated.length} not, cost ${sol.totalCostCentsPerHour.toFixed(0)} ¢/h`;
  }, N, 3);
  rows.push({ name: 'SSIS cluster optimizer: 40 services, 96 GPUs, MIG', s: mig, note });

  console.log(`node ${process.version}; N = ${N} (synthetic end-to-end / MILP: ${nSyn}); warm-up excluded; baseline = Greedy large end to end`);
  const w = Math.max(...rows.map((r) => r.name.length));
  console.log(`${'case'.padEnd(w)}  ${'p50 ms'.padStart(9)}  ${'p99 ms'.padStart(9)}  ${'×base p50'.padStart(10)}  notes`);
  for (const r of rows) {
    console.log(`${r.name.padEnd(w)}  ${r.s.p50.toFixed(3).padStart(9)}  ${r.s.p99.toFixed(3).padStart(9)}  ${(r.s.p50 / base.p50).toFixed(2).padStart(10)}  ${r.note}`);
  }
  console.log(`target: Greedy on large ≤ 100 ms → p99 ${base.p99.toFixed(3)} ms: ${base.p99 <= 100 ? 'MET' : 'NOT MET'}`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
