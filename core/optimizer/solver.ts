/**
 * Inferno's solvers (notes/inferno.md §5.1–5.2; optimizer-light pkg/solver/{solver,greedy}.go): Unlimited
 * (each server takes its minimum-value candidate) and Greedy (limited capacity in cards, priorities, regret
 * ordering, best-effort saturation policies None / PriorityExhaustive / RoundRobin / PriorityRoundRobin,
 * delayedBestEffort).
 *
 * Deterministic tie-breaking (Inferno is random on ties: Go map iteration + unstable sorts):
 *  - candidates of a server are sorted by value with a stable sort over accelerator-data order, so among
 *    equal values the accelerator listed first in accelerator-data.json wins (Unlimited likewise: the strict
 *    `<` scan runs in accelerator-data order);
 *  - server entries are stably sorted (priority ↑, delta ↓, current value ↓) over server-data order, so equal
 *    entries keep server-data order; re-insertion after a failed candidate uses Go's lower-bound binary search
 *    (before equal entries), as Inferno does.
 * Faithfully kept Inferno behaviours (documented, not "fixed"):
 *  - in Greedy, an allocation whose accelerator is "" (zero load, minNumReplicas 0) is dropped in the allocate
 *    pass (Inferno looks its accelerator up and skips it), so such a server gets no allocation; Unlimited gives it;
 *  - RoundRobin best effort caps each step by min(room, required replicas) > 0 as Inferno does, not by the
 *    replicas still missing; a leftover never has room for its full requirement, so it cannot over-allocate.
 *    Best-effort cost and value are scaled by granted/required (float32), as in Inferno.
 */
import {
  calculateCandidates,
  indexSystem,
  serverPriority,
  type Allocation,
  type AllocationOptions,
  type SystemIndex,
} from './allocation';
import { cardLedger, type CapacityLedger, type Candidate } from './capacity-ledger';
import { numInstances, toSolutionData, type InfernoSystem, type OptimizerSpec, type SaturationPolicy, type ServerSpec, type SolutionData, type SolutionRow } from './data';

const f32 = Math.fround;
/** math.MaxFloat32. */
export const MAX_FLOAT32 = 3.4028234663852886e38;

export interface ServerCandidates {
  readonly server: ServerSpec;
  readonly priority: number;
  /** Feasible candidates in accelerator-data order. */
  readonly candidates: readonly Candidate[];
}

export interface SolverOptions extends AllocationOptions {
  /** Overrides the optimizer-data spec (fields given here win). */
  readonly optimizer?: Partial<Pick<OptimizerSpec, 'unlimited' | 'delayedBestEffort' | 'saturationPolicy'>>;
  /** Limited mode's capacity; default Inferno's cards per type from capacity-data. */
  readonly capacity?: (index: SystemIndex) => CapacityLedger;
}

export interface AllocationDiff {
  readonly oldAccelerator: string;
  readonly newAccelerator: string;
  readonly oldNumReplicas: number;
  readonly newNumReplicas: number;
  readonly costDiff: number;
}

export interface Solution {
  /** Server name → chosen allocation (servers without one are absent). */
  readonly allocations: ReadonlyMap<string, Allocation>;
  /** Servers with no allocation, sorted (optimizer-light: "no feasible allocation for servers: [...]"). */
  readonly unallocated: readonly string[];
  /** Per-server change from the current allocation ("none" where absent). */
  readonly diffs: ReadonlyMap<string, AllocationDiff>;
  /** Σ cost of the allocations (cents/hour). */
  readonly totalCost: number;
  /** Cards and cost per accelerator type (`AllocateByType`). */
  readonly byType: ReadonlyMap<string, { readonly cards: number; readonly cost: number }>;
  /** `solution-data.json` document. */
  readonly data: SolutionData;
}

/** Candidates of every server (`Server.Calculate` for all). */
export function buildCandidates(index: SystemIndex, options: AllocationOptions = {}): ServerCandidates[] {
  return index.system.servers.map((server) => {
    const perfByAcc = index.perf.get(server.model);
    const candidates = calculateCandidates(index, server, options).map((alloc): Candidate => {
      const acc = index.accelerators.get(alloc.accelerator);
      return { alloc, accType: acc?.type, unitsPerReplica: acc === undefined ? 0 : numInstances(perfByAcc?.get(acc.name)) * acc.multiplicity };
    });
    return { server, priority: serverPriority(index, server), candidates };
  });
}

/** Unlimited: each server takes its minimum-value candidate (first in accelerator-data order among ties). */
export function solveUnlimited(entries: readonly ServerCandidates[]): Map<string, Allocation> {
  const out = new Map<string, Allocation>();
  for (const e of entries) {
    let minVal = MAX_FLOAT32;
    let best: Allocation | undefined;
    for (const c of e.candidates) {
      if (c.alloc.value < minVal) {
        minVal = c.alloc.value;
        best = c.alloc;
      }
    }
    if (best !== undefined) out.set(e.server.name, best);
  }
  return out;
}

// ------------------------------------------------------------------------------------------------
// Greedy

interface Entry {
  readonly name: string;
  readonly priority: number;
  curIndex: number;
  /** Sorted by value ascending (stable). */
  readonly allocations: Candidate[];
  delta: number;
}

const cmp = (a: number, b: number): number => (a < b ? -1 : a > b ? 1 : 0);

/** Priority ascending; then delta descending; then current candidate value descending. */
function orderEntries(a: Entry, b: Entry): number {
  if (a.priority !== b.priority) return cmp(a.priority, b.priority);
  if (a.delta !== b.delta) return cmp(b.delta, a.delta);
  return cmp(b.allocations[b.curIndex]!.alloc.value, a.allocations[a.curIndex]!.alloc.value);
}

/** Go's slices.BinarySearchFunc: smallest i with order(entries[i], target) >= 0. */
function lowerBound(entries: readonly Entry[], target: Entry): number {
  let lo = 0;
  let hi = entries.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (orderEntries(entries[mid]!, target) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function priorityGroups(entries: readonly Entry[]): Entry[][] {
  const groups: Entry[][] = [];
  for (const e of entries) {
    const last = groups.at(-1);
    if (last !== undefined && last[0]!.priority === e.priority) last.push(e);
    else groups.push([e]);
  }
  return groups;
}

type Assign = (name: string, c: Candidate) => void;

/** Allocate in order while the SLO-satisfying allocation fits; returns the servers left without one. */
function allocate(list: Entry[], ledger: CapacityLedger, assign: Assign): Entry[] {
  const entries = [...list];
  const unallocated: Entry[] = [];
  while (entries.length > 0) {
    const top = entries.shift()!;
    if (top.allocations.length === 0) continue;
    const c = top.allocations[top.curIndex]!;
    if (c.accType === undefined) continue; // Inferno: GetAccelerator(gName) == nil → skip the server
    const wanted = c.alloc.numReplicas;
    if (ledger.fit(c, wanted) >= wanted) {
      ledger.take(c, wanted);
      assign(top.name, c);
      continue;
    }
    top.curIndex++;
    if (top.curIndex + 1 < top.allocations.length) {
      top.delta = f32(top.allocations[top.curIndex + 1]!.alloc.value - top.allocations[top.curIndex]!.alloc.value);
    } else if (top.curIndex === top.allocations.length) {
      unallocated.push(top);
      continue;
    } else {
      top.delta = MAX_FLOAT32;
    }
    entries.splice(lowerBound(entries, top), 0, top);
  }
  return unallocated;
}

function scaled(c: Candidate, replicas: number): void {
  const factor = f32(replicas / c.alloc.numReplicas);
  c.alloc = { ...c.alloc, cost: f32(c.alloc.cost * factor), value: f32(c.alloc.value * factor), numReplicas: replicas };
}

/** PriorityExhaustive: in order, each server takes as many replicas (≤ required) as fit on its first candidate with room. */
function allocateMaximally(entries: readonly Entry[], ledger: CapacityLedger, assign: Assign): void {
  for (const e of entries) {
    for (const c of e.allocations) {
      if (c.accType === undefined || c.unitsPerReplica <= 0) continue;
      const maxReplicas = ledger.fit(c, c.alloc.numReplicas);
      if (maxReplicas > 0) {
        ledger.take(c, maxReplicas);
        scaled(c, maxReplicas);
        assign(e.name, c);
        break;
      }
    }
  }
}

/** RoundRobin over `entries`: each picks its first candidate with room for one replica, then one replica per turn. */
function allocateEqually(entries: readonly Entry[], ledger: CapacityLedger, assign: Assign): void {
  interface Ticket { active: boolean; cand?: Candidate; granted: number }
  const tickets = new Map<string, Ticket>(entries.map((e) => [e.name, { active: false, granted: 0 }]));
  const granted = new Map<string, Ticket>();
  while (tickets.size > 0) {
    for (const e of entries) {
      const t = tickets.get(e.name);
      if (t === undefined) continue;
      if (!t.active) {
        for (const c of e.allocations) {
          if (c.accType !== undefined && c.unitsPerReplica > 0 && ledger.fit(c, 1) >= 1) {
            t.active = true;
            t.cand = c;
            break;
          }
        }
        if (!t.active) {
          tickets.delete(e.name);
          continue;
        }
      }
      const c = t.cand!;
      if (ledger.fit(c, c.alloc.numReplicas) > 0) {
        t.granted++;
        ledger.take(c, 1);
        granted.set(e.name, t);
      } else {
        tickets.delete(e.name);
      }
    }
  }
  for (const [name, t] of granted) {
    const c = t.cand!;
    scaled(c, t.granted);
    assign(name, c);
  }
}

function bestEffort(leftovers: readonly Entry[], ledger: CapacityLedger, policy: SaturationPolicy, assign: Assign): void {
  switch (policy) {
    case 'PriorityExhaustive':
      allocateMaximally(leftovers, ledger, assign);
      break;
    case 'PriorityRoundRobin':
      for (const g of priorityGroups(leftovers)) allocateEqually(g, ledger, assign);
      break;
    case 'RoundRobin':
      allocateEqually(leftovers, ledger, assign);
      break;
    case 'None':
      break;
  }
}

/**
 * Greedy under limited capacity: cards per type (Inferno), or any {@link CapacityLedger} (GPUs shared by MIG
 * slices and MPS shares). A map `capacity` is not modified; the returned `available` is what is left.
 * Candidate objects are copied, the inputs are not mutated.
 */
export function solveGreedy(
  input: readonly ServerCandidates[],
  capacity: ReadonlyMap<string, number> | CapacityLedger,
  opts: { readonly delayedBestEffort: boolean; readonly saturationPolicy: SaturationPolicy },
): { allocations: Map<string, Allocation>; available: Map<string, number> } {
  const ledger = capacity instanceof Map ? cardLedger(capacity) : (capacity as CapacityLedger);
  const allocations = new Map<string, Allocation>();
  const assign: Assign = (name, c) => allocations.set(name, c.alloc);

  const entries: Entry[] = [];
  for (const s of input) {
    if (s.candidates.length === 0) continue;
    const sorted = s.candidates.map((c) => ({ ...c })).sort((a, b) => cmp(a.alloc.value, b.alloc.value)); // stable
    const delta = sorted.length > 1 ? f32(sorted[1]!.alloc.value - sorted[0]!.alloc.value) : MAX_FLOAT32;
    entries.push({ name: s.server.name, priority: s.priority, curIndex: 0, allocations: sorted, delta });
  }
  entries.sort(orderEntries); // stable: ties keep server-data order

  if (opts.delayedBestEffort) {
    const left = allocate(entries, ledger, assign);
    bestEffort(left, ledger, opts.saturationPolicy, assign);
  } else {
    for (const group of priorityGroups(entries)) {
      const left = allocate(group, ledger, assign);
      bestEffort(left, ledger, opts.saturationPolicy, assign);
    }
  }
  return { allocations, available: ledger.remaining() };
}

// ------------------------------------------------------------------------------------------------

/**
 * Solves an Inferno system with Unlimited if `optimizer.unlimited`, else Greedy; `milpSolver` is not read
 * here. Inferno's MILP is `solveMilp` (milp.ts), which needs an LP solver injected (HiGHS:
 * infra/solver/highs.ts), so the caller picks it (cli/optimize.ts does when `milpSolver` is set).
 */
export function solve(system: InfernoSystem, options: SolverOptions = {}): Solution {
  const index = indexSystem(system);
  const spec = { ...system.optimizer, ...options.optimizer };
  const entries = buildCandidates(index, options);
  const allocations = spec.unlimited
    ? solveUnlimited(entries)
    : solveGreedy(entries, options.capacity?.(index) ?? index.capacity, { delayedBestEffort: spec.delayedBestEffort, saturationPolicy: spec.saturationPolicy }).allocations;

  const unallocated: string[] = [];
  const diffs = new Map<string, AllocationDiff>();
  const rows = new Map<string, SolutionRow>();
  const byType = new Map<string, { cards: number; cost: number }>();
  let totalCost = 0;
  for (const server of system.servers) {
    const a = allocations.get(server.name);
    const cur = server.currentAlloc;
    diffs.set(server.name, {
      oldAccelerator: cur.accelerator,
      newAccelerator: a?.accelerator ?? 'none',
      oldNumReplicas: cur.numReplicas,
      newNumReplicas: a?.numReplicas ?? 0,
      costDiff: f32((a?.cost ?? 0) - f32(cur.cost)),
    });
    if (a === undefined) {
      unallocated.push(server.name);
      continue;
    }
    totalCost += a.cost;
    rows.set(server.name, { accelerator: a.accelerator, numReplicas: a.numReplicas, maxBatch: a.batchSize, cost: a.cost, itlAverage: a.itl, ttftAverage: a.ttft, load: cur.load });
    const acc = index.accelerators.get(a.accelerator);
    if (acc !== undefined) {
      const t = byType.get(acc.type) ?? { cards: 0, cost: 0 };
      t.cards += a.numReplicas * numInstances(index.perf.get(server.model)?.get(acc.name)) * acc.multiplicity;
      t.cost += a.cost;
      byType.set(acc.type, t);
    }
  }
  unallocated.sort();
  return { allocations, unallocated, diffs, totalCost, byType, data: toSolutionData(rows) };
}
