/**
 * The layout-count integer program (mig.md §5.3's pattern ILP): the fewest GPUs any plan can use,
 * at any cluster size. bench:mig measures the planner against it from 128 GPUs up, where the
 * placement ILP (ilp.ts) no longer solves. The solver is injected, so this file stays pure.
 *
 * GPUs are grouped into classes: same model, same pinned slots (immovable replicas, replicas no
 * demand claims) and same pinned `+me`. Variables: n[c,L] = GPUs of class c given maximal layout L
 * (layouts.ts); z[s,c,p] = replicas of service s on profile p in class c; u[s] = new replicas of s
 * left unplaced. Rows: per class Σ_L n ≤ its GPUs; per class and profile Σ_s z ≤ Σ_L count_L(p)·n;
 * per service Σ z + u = running + new; running replicas keep their profile on their model
 * (Σ z ≥ running of that profile, = where new replicas may not use it), as in ilp.ts.
 * Objective, two lexicographic stages: unmet weighted by priority, then GPUs in use (a class with
 * pinned slots is in use whatever it gets).
 *
 * Positions, moves and make-before-break are not modelled, so the optimum is a lower bound on the
 * GPUs of any plan, and on an empty cluster (nothing pinned, nothing running) it is the optimum.
 */
import type { LpResult, LpSolver } from '../../ports/lp-solver';
import { maximalLayouts, type LayoutCounts } from './layouts.js';
import { buildProblem, type Service } from './problem.js';
import { priorityWeights } from './ilp.js';
import type { ModelGeometry, ProfileGeometry } from './tables.js';
import type { PlannerInput } from './types.js';
import { isMovable, PlanBuilder } from './plan-builder.js';

export interface LayoutCountOptions {
  /** Wall-clock limit per stage, seconds. Default 30. */
  readonly timeLimitSec?: number;
}

export interface LayoutCountResult {
  /** 'optimal' only when both stages were proven optimal. */
  readonly status: 'optimal' | 'time-limit' | 'infeasible' | 'error';
  /** Fewest GPUs in use at the fewest unmet (NaN without a solution). */
  readonly gpus: number;
  /** New replicas left unplaced at that optimum. */
  readonly unmet: number;
  /** GPUs in use at that optimum per model (canonical name). */
  readonly gpusByModel: ReadonlyMap<string, number>;
  /** New replicas left unplaced at that optimum per service (those with any). */
  readonly unmetByService: ReadonlyMap<string, number>;
  readonly classes: number;
  readonly layouts: number;
  readonly variables: number;
}

interface GpuClass {
  readonly name: string;
  readonly geometry: ModelGeometry;
  readonly pinnedMask: number;
  readonly pinnedMe: boolean;
  gpus: number;
  profiles: ProfileGeometry[];
  layouts: readonly LayoutCounts[];
}

/** `+ 3 x1 - x2 …` in CPLEX LP syntax, wrapped every ten terms. */
function sum(terms: readonly (readonly [number, string])[]): string {
  const parts = terms.filter(([c]) => c !== 0).map(([c, v], k) => `${c < 0 ? ' -' : k === 0 ? '' : ' +'} ${Math.abs(c)} ${v}`);
  if (parts.length === 0) return ' 0 zero';
  const lines: string[] = [];
  for (let k = 0; k < parts.length; k += 10) lines.push(parts.slice(k, k + 10).join(''));
  return lines.join('\n   ');
}

/** Solves the two stages (see the file comment). */
export function solveLayoutCountIlp(input: PlannerInput, solver: LpSolver, options: LayoutCountOptions = {}): LayoutCountResult {
  const problem = buildProblem(input);
  const builder = new PlanBuilder(problem);
  builder.releaseSurplus();
  const { services } = problem;

  // Classes, and the running movable replicas by (service, model, profile).
  const classes = new Map<string, GpuClass>();
  const running = new Map<Service, Map<ProfileGeometry, number>>();
  for (const gpu of builder.gpus) {
    const pinned = gpu.instances.filter((i) => !isMovable(i));
    const pinnedMask = pinned.reduce((m, i) => m | (i.profile.spec.wholeGpu ? gpu.geometry.fullMask : i.mask), 0);
    const pinnedMe = pinned.some((i) => i.profile.spec.mediaExtensions);
    const name = `${gpu.geometry.model.name}|${pinnedMask}|${pinnedMe ? 1 : 0}`;
    const known = classes.get(name);
    if (known === undefined) classes.set(name, { name, geometry: gpu.geometry, pinnedMask, pinnedMe, gpus: 1, profiles: [], layouts: [] });
    else known.gpus++;
    for (const i of gpu.instances.filter(isMovable)) {
      if (i.service === null) continue;
      const mine = running.get(i.service) ?? new Map<ProfileGeometry, number>();
      mine.set(i.profile, (mine.get(i.profile) ?? 0) + 1);
      running.set(i.service, mine);
    }
  }
  const list = [...classes.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const c of list) {
    const profiles = new Set<ProfileGeometry>();
    for (const s of services) {
      for (const p of s.acceptable(c.geometry)) profiles.add(p);
      for (const p of running.get(s)?.keys() ?? []) if (c.geometry.profile(p.name) === p) profiles.add(p);
    }
    c.profiles = [...profiles];
    c.layouts = maximalLayouts(c.geometry, c.pinnedMask, c.pinnedMe, c.profiles);
  }

  const rows: string[] = [];
  const bounds: string[] = [];
  const integers: string[] = [];
  const gpuTerms: [number, string][] = [];
  let fixedGpus = 0;
  const z = new Map<Service, [number, string][]>();
  const zByProfile = new Map<Service, Map<ProfileGeometry, string[]>>();
  list.forEach((c, ci) => {
    const nVars = c.layouts.map((_, li) => `n${ci}_${li}`);
    integers.push(...nVars);
    for (const v of nVars) bounds.push(` 0 <= ${v} <= ${c.gpus}`);
    if (nVars.length > 0) rows.push(` g${ci}: ${sum(nVars.map((v): [number, string] => [1, v]))} <= ${c.gpus}`);
    if (c.pinnedMask !== 0) fixedGpus += c.gpus;
    else for (const v of nVars) gpuTerms.push([1, v]);
    c.profiles.forEach((p, pi) => {
      const takers: [number, string][] = [];
      services.forEach((s, si) => {
        const acceptable = s.acceptable(c.geometry).includes(p) || (running.get(s)?.has(p) ?? false);
        if (!acceptable) return;
        const v = `z${si}_${ci}_${pi}`;
        integers.push(v);
        takers.push([1, v]);
        const mine = z.get(s) ?? [];
        mine.push([1, v]);
        z.set(s, mine);
        const byProfile = zByProfile.get(s) ?? new Map<ProfileGeometry, string[]>();
        byProfile.set(p, [...(byProfile.get(p) ?? []), v]);
        zByProfile.set(s, byProfile);
      });
      const capacity = c.layouts.map((l, li): [number, string] => [-(l[pi] ?? 0), `n${ci}_${li}`]);
      if (takers.length > 0) rows.push(` c${ci}_${pi}: ${sum([...takers, ...capacity])} <= 0`);
    });
  });
  const weights = priorityWeights(services);
  const unmetTerms: [number, string][] = [];
  services.forEach((s, si) => {
    const runningCount = [...(running.get(s)?.values() ?? [])].reduce((a, b) => a + b, 0);
    const u = `u${si}`;
    bounds.push(` 0 <= ${u} <= ${s.newIds.length}`);
    integers.push(u);
    unmetTerms.push([weights.get(s) ?? 1, u]);
    rows.push(` d${si}: ${sum([...(z.get(s) ?? []), [1, u]])} = ${runningCount + s.newIds.length}`);
    for (const [p, count] of running.get(s) ?? []) {
      const vars = zByProfile.get(s)?.get(p) ?? [];
      const forNew = builder.gpus.some((g) => s.acceptable(g.geometry).includes(p));
      rows.push(` r${si}_${rows.length}: ${sum(vars.map((v): [number, string] => [1, v]))} ${forNew ? '>=' : '='} ${count}`);
    }
  });
  const lp = (objective: readonly (readonly [number, string])[], extra: readonly string[]): string => {
    const general: string[] = [];
    for (let k = 0; k < integers.length; k += 16) general.push(` ${integers.slice(k, k + 16).join(' ')}`);
    return ['Minimize', ` obj: ${sum(objective)}`, 'Subject To', ...rows, ...extra, 'Bounds', ...bounds, ' zero = 0', 'General', ...general, 'End', ''].join('\n');
  };
  const layouts = list.reduce((n, c) => n + c.layouts.length, 0);
  const result = (status: LayoutCountResult['status'], gpus: number, unmet: number, gpusByModel = new Map<string, number>(), unmetByService = new Map<string, number>()): LayoutCountResult => ({ status, gpus, unmet, gpusByModel, unmetByService, classes: list.length, layouts, variables: integers.length });
  const failed = (r: LpResult): LayoutCountResult['status'] => (r.status === 'time-limit' ? 'time-limit' : r.status === 'infeasible' ? 'infeasible' : 'error');
  const timeLimitSec = options.timeLimitSec ?? 30;

  const s1 = solver(lp(unmetTerms, []), { timeLimitSec, mipRelGap: 0 });
  if (s1.status !== 'optimal') return result(failed(s1), NaN, NaN);
  const s2 = solver(lp(gpuTerms, [` b_unmet: ${sum(unmetTerms)} <= ${Math.round(s1.objective)}`]), { timeLimitSec, mipRelGap: 0 });
  if (s2.columns.size === 0) return result(failed(s2), NaN, NaN);
  const unmet = services.reduce((n, _, si) => n + Math.round(s2.columns.get(`u${si}`) ?? 0), 0);
  const gpus = fixedGpus + Math.round(gpuTerms.reduce((n, [, v]) => n + (s2.columns.get(v) ?? 0), 0));
  const byModel = new Map<string, number>();
  list.forEach((c, ci) => {
    const used = c.pinnedMask !== 0 ? c.gpus : c.layouts.reduce((n, _, li) => n + Math.round(s2.columns.get(`n${ci}_${li}`) ?? 0), 0);
    byModel.set(c.geometry.model.name, (byModel.get(c.geometry.model.name) ?? 0) + used);
  });
  const byService = new Map<string, number>();
  services.forEach((s, si) => {
    const n = Math.round(s2.columns.get(`u${si}`) ?? 0);
    if (n > 0) byService.set(s.name, n);
  });
  return result(s2.status === 'optimal' ? 'optimal' : 'time-limit', gpus, unmet, byModel, byService);
}
