/**
 * The simulated cluster's GPUs as core MIG state (GpuState), with the accounting the metrics need:
 * slices held per GPU and a placeability cache that is valid until the state changes.
 */
import { computeFraction, getGpuModel } from '../core/mig/geometry';
import type { GpuState } from '../core/mig/layout';
import { isPlaceable } from '../core/scaling/placeability';
import type { PlacementOutcome, PlacementPort, PlacementRequest } from './placement';
import type { Scenario } from './scenario';

export function buildGpus(scenario: Scenario): GpuState[] {
  const gpus: GpuState[] = [];
  let n = 0;
  for (const { model, count } of scenario.cluster.gpus) {
    const canonical = getGpuModel(model).name;
    for (let i = 0; i < count; i++, n++) {
      const node = `node-${String(Math.floor(n / scenario.cluster.gpusPerNode)).padStart(3, '0')}`;
      gpus.push({ node, index: n % scenario.cluster.gpusPerNode, model: canonical, migEnabled: false, instances: [] });
    }
  }
  return gpus;
}

export class SimCluster {
  private state: GpuState[];
  /** Owned instances per GPU, to count GPUs in use. */
  private readonly owned: Int32Array;
  private version = 0;
  private readonly placeableCache = new Map<string, boolean>();
  private cacheVersion = -1;
  occupiedGpus = 0;

  constructor(gpus: GpuState[], private readonly placement: PlacementPort) {
    this.state = gpus;
    this.owned = new Int32Array(gpus.length);
    gpus.forEach((g, i) => {
      this.owned[i] = g.instances.filter((x) => x.owner !== null).length;
      if ((this.owned[i] ?? 0) > 0) this.occupiedGpus++;
    });
  }

  get gpus(): readonly GpuState[] {
    return this.state;
  }

  get size(): number {
    return this.state.length;
  }

  get placementName(): string {
    return this.placement.name;
  }

  /** Replaces the whole layout (a static partition applied before the run starts). */
  setLayout(gpus: GpuState[]): void {
    this.state = gpus;
    this.version++;
  }

  /** The state to go back to when an all-or-nothing placement fails half way. */
  snapshot(): { readonly state: GpuState[]; readonly owned: Int32Array; readonly occupied: number } {
    return { state: this.state, owned: this.owned.slice(), occupied: this.occupiedGpus };
  }

  restore(s: { readonly state: GpuState[]; readonly owned: Int32Array; readonly occupied: number }): void {
    this.state = s.state;
    this.owned.set(s.owned);
    this.occupiedGpus = s.occupied;
    this.version++;
  }

  place(request: PlacementRequest): PlacementOutcome {
    const outcome = this.placement.place(this.state, request);
    if (outcome.placements.length > 0 || outcome.moves.length > 0) {
      this.state = outcome.gpus;
      this.version++;
      for (const p of outcome.placements) this.addOwned(p.gpu, 1);
    }
    return outcome;
  }

  /** Frees the owner's slice: a MIG instance stays as a free instance (reusable without repartitioning), a whole GPU becomes empty. */
  release(gpu: number, owner: string): void {
    const g = this.state[gpu]!;
    const i = g.instances.findIndex((x) => x.owner === owner);
    if (i < 0) return;
    const instance = g.instances[i]!;
    const next: GpuState = { ...g, instances: instance.profile === 'gpu' ? g.instances.filter((_, k) => k !== i) : g.instances.map((x, k) => (k === i ? { ...x, owner: null } : x)) };
    this.state = this.state.map((x, k) => (k === gpu ? next : x));
    this.version++;
    this.addOwned(gpu, -1);
  }

  fraction(gpu: number, profile: string): number {
    return computeFraction(this.state[gpu]!.model, profile);
  }

  placeable(gpuModel: string, profile: string): boolean {
    if (this.cacheVersion !== this.version) {
      this.placeableCache.clear();
      this.cacheVersion = this.version;
    }
    const key = `${gpuModel}|${profile}`;
    let v = this.placeableCache.get(key);
    if (v === undefined) {
      v = isPlaceable(this.state, gpuModel, profile);
      this.placeableCache.set(key, v);
    }
    return v;
  }

  private addOwned(gpu: number, delta: number): void {
    const before = this.owned[gpu]!;
    this.owned[gpu] = before + delta;
    if (before === 0 && delta > 0) this.occupiedGpus++;
    if (before + delta === 0 && before > 0) this.occupiedGpus--;
  }
}
