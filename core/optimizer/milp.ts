/**
 * Inferno's MILP solver (notes/inferno.md §5.3; optimizer pkg/solver/milpsolver.go, llm-inferno/lpsolve cplex
 * .mod/.dat): the model is written as CPLEX LP text and handed to an injected {@link LpSolver} (the HiGHS adapter
 * is infra/solver/highs.ts; core code never loads a solver itself).
 *
 * Data, per server i and feasible candidate accelerator j (from {@link buildCandidates}):
 *   instanceCost_j = accelerator cost (cents/hr), accCount_ij = accelerators per replica, rate_ij =
 *   maxArrvRatePerReplica (req/ms; 0 ⇒ pair excluded), arrival_i = arrivalRate/60/1000 (req/ms),
 *   typeMatrix_kj = multiplicity_j if type(j) = k, unitsAvail_k = capacity in cards.
 * SINGLE (`heterogeneous: false`): binary x_ij, maxRep_ij = ceil(arrival_i/rate_ij);
 *   min Σ x_ij·accCount_ij·cost_j·maxRep_ij  s.t.  Σ_j x_ij = 1 ∀i;
 *   limited: Σ_ij x_ij·accCount_ij·typeMatrix_kj·maxRep_ij ≤ unitsAvail_k ∀k.
 * MULTI (`heterogeneous: true`): integer r_ij ≥ 0; min Σ r_ij·accCount_ij·cost_j  s.t.  Σ_j r_ij·rate_ij ≥ arrival_i ∀i;
 *   limited: Σ_ij r_ij·accCount_ij·typeMatrix_kj ≤ unitsAvail_k ∀k.
 * Pairs that are not feasible candidates (SLO unattainable, unknown perf) have no variable (= fixed 0).
 *
 * Mapping back (as Inferno): SINGLE assigns server i the precomputed candidate allocation on the chosen j (its
 * replicas/cost are the candidate's, which equal maxRep_ij·accCount·cost when sloTps = 0 and minNumReplicas = 0).
 * MULTI reports EVERY (i,j) with r_ij > 0 — Inferno keeps only the last j ("TODO: Fix this"), which we do not
 * reproduce; each part is the candidate on j with numReplicas = r_ij and cost = cost_j·accCount_ij·r_ij (float32);
 * its itl/ttft/rho are the candidate's (full-load) figures, not recomputed for the split load.
 *
 * Documented choices / differences:
 *  - priorities are ignored, as in Inferno ("TODO: support priorities");
 *  - the MULTI demand row is scaled by 60000 (req/ms → req/min) for numerical conditioning (same feasible set);
 *  - a server whose only candidate is the zero-load allocation without accelerator ("" , minNumReplicas 0) gets it
 *    directly and takes no part in the model; a server with no feasible pair is reported unmet (Inferno's model
 *    would be infeasible as a whole);
 *  - when the strict model is infeasible (capacity too small), an elastic model is solved where each server may be
 *    left unmet (binary u_i in its demand row) at a penalty larger than any total assignment cost, so the fewest
 *    servers are dropped, then cost is minimized; those servers are reported in `unmet` (Inferno just fails).
 */
import { numInstances } from './data';
import type { Allocation, SystemIndex } from './allocation';
import type { ServerCandidates } from './solver';
import type { LpResult, LpSolver, LpSolveOptions } from '../ports/lp-solver';

const f32 = Math.fround;


export type MilpMode = 'single' | 'multi';

export interface MilpOptions extends LpSolveOptions {
  /** 'single' (heterogeneous false) or 'multi' (heterogeneous true). */
  readonly mode: MilpMode;
  /** Adds the capacity rows (cards per type). */
  readonly limited: boolean;
}

export interface MilpVariable {
  readonly name: string;
  readonly server: string;
  readonly accelerator: string;
  readonly accType: string;
  /** Objective coefficient (SINGLE: accCount·cost·maxRep; MULTI: accCount·cost). */
  readonly cost: number;
  /** Cards per unit of the variable (SINGLE: accCount·multiplicity·maxRep; MULTI: accCount·multiplicity). */
  readonly cards: number;
  /** req/ms per replica. */
  readonly rate: number;
  readonly maxRep: number;
  readonly candidate: Allocation;
}

export interface MilpModel {
  readonly lp: string;
  readonly variables: readonly MilpVariable[];
  /** Servers in the model (with ≥ 1 variable). */
  readonly servers: readonly string[];
  /** Servers given the zero-load allocation outside the model. */
  readonly fixed: ReadonlyMap<string, Allocation>;
  /** Servers with no feasible pair. */
  readonly noCandidates: readonly string[];
  /** Servers in the model with zero arrival rate (MULTI needs no replica for them). */
  readonly zeroDemand: ReadonlySet<string>;
  readonly elastic: boolean;
}

export interface MilpSolution {
  /** 'optimal', 'feasible' (time limit with incumbent), 'partial' (some servers unmet), 'failed' (no solution). */
  readonly status: 'optimal' | 'feasible' | 'partial' | 'failed';
  readonly solverStatus: string;
  /** Server → allocations (one for SINGLE; one per accelerator with r > 0 for MULTI). */
  readonly allocations: ReadonlyMap<string, readonly Allocation[]>;
  /** Servers left without allocation, sorted. */
  readonly unmet: readonly string[];
  /** Σ cost of reported allocations (cents/hr). */
  readonly totalCost: number;
  /** Objective of the solved model (without elastic penalties); NaN without solution. */
  readonly objective: number;
  /** Cards used per type. */
  readonly cardsByType: ReadonlyMap<string, number>;
  /** The LP text of the last model solved. */
  readonly lp: string;
}

/** LP row/column names must not start with digits or contain odd characters: we use indices only. */
const num = (x: number): string => (Number.isInteger(x) ? String(x) : x.toPrecision(17).replace(/\.?0+(e|$)/, '$1'));

function linear(terms: readonly (readonly [number, string])[]): string {
  const parts: string[] = [];
  for (const [c, v] of terms) {
    if (c === 0) continue;
    const s = c < 0 ? ` - ${num(-c)} ${v}` : ` + ${num(c)} ${v}`;
    parts.push(parts.length === 0 && c > 0 ? ` ${num(c)} ${v}` : s);
  }
  // keep lines short: the LP format allows an expression to continue on the next line
  const lines: string[] = [];
  for (let k = 0; k < parts.length; k += 8) lines.push(parts.slice(k, k + 8).join(''));
  return lines.length === 0 ? ' 0 zero__' : lines.join('\n   ');
}

/** Builds the §5.3 model. `elastic` adds u_i (server unmet) with a dominating penalty. */
export function buildMilpModel(index: SystemIndex, entries: readonly ServerCandidates[], options: MilpOptions, elastic = false): MilpModel {
  const variables: MilpVariable[] = [];
  const byServer: MilpVariable[][] = [];
  const servers: string[] = [];
  const arrivals: number[] = [];
  const fixed = new Map<string, Allocation>();
  const noCandidates: string[] = [];
  for (const e of entries) {
    const zero = e.candidates.find((c) => c.accType === undefined);
    if (zero !== undefined) {
      fixed.set(e.server.name, zero.alloc);
      continue;
    }
    const i = servers.length;
    const arrival = e.server.currentAlloc.load.arrivalRate / 60 / 1000;
    const vars: MilpVariable[] = [];
    e.candidates.forEach((c, k) => {
      const acc = index.accelerators.get(c.alloc.accelerator);
      const rate = c.alloc.maxArrvRatePerReplica;
      if (acc === undefined || c.accType === undefined || !(rate > 0)) return;
      const accCount = numInstances(index.perf.get(e.server.model)?.get(acc.name));
      const maxRep = Math.ceil(arrival / rate);
      const single = options.mode === 'single';
      vars.push({
        name: `${single ? 'x' : 'r'}${i}_${k}`,
        server: e.server.name,
        accelerator: acc.name,
        accType: c.accType,
        cost: single ? accCount * acc.cost * maxRep : accCount * acc.cost,
        cards: single ? accCount * acc.multiplicity * maxRep : accCount * acc.multiplicity,
        rate,
        maxRep,
        candidate: c.alloc,
      });
    });
    if (vars.length === 0) {
      noCandidates.push(e.server.name);
      continue;
    }
    servers.push(e.server.name);
    arrivals.push(arrival);
    byServer.push(vars);
    variables.push(...vars);
  }

  const penalty = 1 + variables.reduce((s, v) => s + Math.abs(v.cost) * (options.mode === 'multi' ? v.maxRep : 1), 0);
  const objTerms: [number, string][] = variables.map((v) => [v.cost, v.name]);
  if (elastic) servers.forEach((_, i) => objTerms.push([penalty, `u${i}`]));

  const rows: string[] = [];
  byServer.forEach((vars, i) => {
    const u: [number, string][] = [];
    if (options.mode === 'single') {
      if (elastic) u.push([1, `u${i}`]);
      rows.push(` d${i}: ${linear([...vars.map((v): [number, string] => [1, v.name]), ...u])} = 1`);
    } else {
      const demand = arrivals[i]! * 60000; // req/min
      if (elastic) u.push([demand, `u${i}`]);
      rows.push(` d${i}: ${linear([...vars.map((v): [number, string] => [v.rate * 60000, v.name]), ...u])} >= ${num(demand)}`);
    }
  });
  if (options.limited) {
    const types = [...new Set(variables.map((v) => v.accType))];
    types.forEach((t, k) => {
      const avail = index.capacity.get(t) ?? 0;
      rows.push(` c${k}: ${linear(variables.filter((v) => v.accType === t).map((v): [number, string] => [v.cards, v.name]))} <= ${num(avail)}`);
    });
  }

  const binaries = options.mode === 'single' ? variables.map((v) => v.name) : [];
  if (elastic) servers.forEach((_, i) => binaries.push(`u${i}`));
  const generals = options.mode === 'multi' ? variables.map((v) => v.name) : [];
  const list = (names: string[]): string => {
    const out: string[] = [];
    for (let k = 0; k < names.length; k += 16) out.push(` ${names.slice(k, k + 16).join(' ')}`);
    return out.join('\n');
  };
  const lp = [
    'Minimize',
    ` obj: ${linear(objTerms)}`,
    'Subject To',
    ...(rows.length === 0 ? [' none__: zero__ = 0'] : rows),
    'Bounds',
    ...(options.mode === 'multi' ? variables.map((v) => ` ${v.name} >= 0`) : []),
    ...(binaries.length > 0 ? ['Binary', list(binaries)] : []),
    ...(generals.length > 0 ? ['General', list(generals)] : []),
    'End',
    '',
  ].join('\n');
  const zeroDemand = new Set(servers.filter((_, i) => arrivals[i] === 0));
  return { lp, variables, servers, fixed, noCandidates, zeroDemand, elastic };
}

function interpret(model: MilpModel, result: LpResult, mode: MilpMode): Omit<MilpSolution, 'status' | 'solverStatus' | 'lp'> & { solved: boolean } {
  const allocations = new Map<string, Allocation[]>();
  const cardsByType = new Map<string, number>();
  for (const [name, a] of model.fixed) allocations.set(name, [a]);
  const solved = result.columns.size > 0 && Number.isFinite(result.objective);
  let objective = solved ? 0 : NaN;
  let totalCost = 0;
  for (const a of model.fixed.values()) totalCost += a.cost;
  if (solved) {
    for (const v of model.variables) {
      const value = Math.round(result.columns.get(v.name) ?? 0);
      if (value <= 0) continue;
      objective += v.cost * value;
      cardsByType.set(v.accType, (cardsByType.get(v.accType) ?? 0) + v.cards * value);
      let alloc = v.candidate;
      if (mode === 'multi') {
        const cost = f32(f32(v.cost) * value);
        const factor = f32(value / alloc.numReplicas);
        alloc = { ...alloc, numReplicas: value, cost, value: f32(alloc.value * factor) };
      }
      totalCost += alloc.cost;
      const list = allocations.get(v.server) ?? [];
      list.push(alloc);
      allocations.set(v.server, list);
    }
  }
  const unmet = [...model.noCandidates, ...model.servers.filter((s) => !allocations.has(s) && !model.zeroDemand.has(s))].sort();
  return { allocations, unmet, totalCost, objective, cardsByType, solved };
}

/**
 * Builds and solves the MILP over `entries` (candidates from {@link buildCandidates}); on an infeasible strict model
 * solves the elastic one to name the unmet servers.
 */
export function solveMilp(index: SystemIndex, entries: readonly ServerCandidates[], solver: LpSolver, options: MilpOptions): MilpSolution {
  const lpOpts: LpSolveOptions = {
    ...(options.timeLimitSec === undefined ? {} : { timeLimitSec: options.timeLimitSec }),
    ...(options.mipRelGap === undefined ? {} : { mipRelGap: options.mipRelGap }),
  };
  let model = buildMilpModel(index, entries, options);
  let result = model.servers.length === 0 ? emptyResult() : solver(model.lp, lpOpts);
  if (result.status === 'infeasible') {
    model = buildMilpModel(index, entries, options, true);
    result = solver(model.lp, lpOpts);
  }
  const out = interpret(model, result, options.mode);
  const status: MilpSolution['status'] = !out.solved && model.servers.length > 0
    ? 'failed'
    : out.unmet.length > 0 ? 'partial' : result.status === 'optimal' || model.servers.length === 0 ? 'optimal' : 'feasible';
  return {
    status,
    solverStatus: result.solverStatus,
    allocations: out.allocations,
    unmet: status === 'failed' ? [...model.noCandidates, ...model.servers].sort() : out.unmet,
    totalCost: out.totalCost,
    objective: out.objective,
    cardsByType: out.cardsByType,
    lp: model.lp,
  };
}

function emptyResult(): LpResult {
  return { status: 'optimal', solverStatus: 'Empty', objective: 0, columns: new Map([['none', 0]]) };
}
