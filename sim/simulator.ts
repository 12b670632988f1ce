/**
 * The discrete-event simulator: one scenario under one policy, in virtual time.
 *
 * Events (binary heap, ./event-queue): an arrival per workload source, the end of each replica's
 * engine step (per-iteration stepping: a step advances the whole batch; tokens are never events),
 * the policy's control-loop tick, a decision's actuation after the decision delay, a replica
 * becoming ready after pod start + model load (+ MIG repartition when its GPU's layout changed),
 * and a periodic record for the plots. The policy sees the MetricsSampled records the sample
 * function would publish; placement is the core's (first-fit, or the planner through the
 * placement port). Pure: no I/O, no wall clock; the same inputs and seed give the same result.
 */
import { canServe, engineConfigFor } from '../core/catalog/engine-config';
import { validationError, SsisError, type FieldIssue } from '../core/errors';
import type { ModelCatalog, ModelSpec } from '../core/catalog/model-catalog';
import { rulesFor, type AutoscalerConfig } from '../core/config/autoscaler-config';
import type { SsisConfig } from '../core/config/ssis-config';
import type { GpuState } from '../core/mig/layout';
import { servableTiers } from '../core/scaling/cold-start';
import type { MetricsSampled, SampledMetric } from '../events/metrics-sampled';
import { buildGpus, SimCluster } from './cluster';
import { EventQueue } from './event-queue';
import { classifyQuery, checkSimulatable, type SimMetricKind } from './metric-queries';
import { firstFitPlacement, type PlacementPort } from './placement';
import type { Allocation, PolicyContext, ScaleCommand, SimPolicy } from './policies/port';
import { ReplicaEngine, type EngineListener } from './replica-engine';
import { RequestTable } from './request-table';
import type { RunResult, ServiceResult } from './results';
import type { AzureTraceName, Scenario, ServiceSpec } from './scenario';
import { GrowableColumn, quantileSketch, summarise } from './stats';
import type { AzureTrace } from './workload/azure-trace';
import { expectedLoad } from './workload/expected';
import { azureSource, gammaSource, type Arrival, type ArrivalSource } from './workload/sources';

export interface SimulationInput {
  readonly scenario: Scenario;
  readonly catalog: ModelCatalog;
  readonly config: SsisConfig;
  readonly autoscaler: AutoscalerConfig;
  readonly traces: Partial<Record<AzureTraceName, AzureTrace>>;
  readonly policy: SimPolicy;
  readonly placement?: PlacementPort;
  /** Overrides the scenario's seed. */
  readonly seed?: number;
  /** Called now and then with the share of the arrival window simulated (0–1). */
  readonly onProgress?: (fraction: number) => void;
  /** Wall clock for RunResult.wallMs only (the simulation never reads it); injected to keep sim/ pure. */
  readonly wallClockMs?: () => number;
}

const ARRIVAL = 0;
const STEP_END = 1;
const TICK = 2;
const READY = 3;
const ACTUATE = 4;
const RECORD = 5;

type Phase = 'starting' | 'ready' | 'draining' | 'gone';

interface Replica {
  readonly id: number;
  readonly name: string;
  readonly service: ServiceRuntime;
  readonly engine: ReplicaEngine;
  readonly gpuModel: string;
  readonly profile: string;
  readonly gpu: number;
  readonly fraction: number;
  phase: Phase;
  /** Counted as busy capacity: loading, or its engine stepping. */
  busy: boolean;
  /** Part of a tier change not yet switched to: gets no traffic until the rollout completes. */
  incoming: boolean;
}

interface Rollout {
  readonly decisionId: string;
  readonly vertical: boolean;
  readonly gpuModel: string;
  readonly profile: string;
  readonly replicas: readonly Replica[];
}

interface Window {
  completions: number;
  inputTokens: number;
  outputTokens: number;
  ttftSumMs: number;
  ttftCount: number;
  itlSumMs: number;
  itlCount: number;
  tpotSumMs: number;
  tpotCount: number;
  e2eSumMs: number;
  queueSumMs: number;
}

interface ServiceRuntime {
  readonly index: number;
  readonly spec: ServiceSpec;
  readonly model: ModelSpec;
  readonly rules: readonly { readonly name: string; readonly kind: SimMetricKind }[];
  replicas: Replica[];
  readonly pending: number[];
  pendingHead: number;
  generation: number;
  rollout: Rollout | null;
  profile: string | null;
  gpuModel: string | null;
  w: Window;
  arrivals: number;
  recordArrivals: number;
  completed: number;
  jctSumMs: number;
  ttftOk: number;
  itlOk: number;
  allocated: number;
  allocSinceMs: number;
  gpuSeconds: number;
}

const emptyWindow = (): Window => ({
  completions: 0, inputTokens: 0, outputTokens: 0, ttftSumMs: 0, ttftCount: 0, itlSumMs: 0, itlCount: 0, tpotSumMs: 0, tpotCount: 0, e2eSumMs: 0, queueSumMs: 0,
});

/** Every service's model must be in the catalog and servable on some GPU of the cluster. */
export function checkScenarioAgainstCatalog(scenario: Scenario, catalog: ModelCatalog, where = 'scenario'): void {
  const issues: FieldIssue[] = [];
  const gpuModels = [...new Set(scenario.cluster.gpus.map((g) => g.model))];
  scenario.services.forEach((s, i) => {
    const spec = catalog.get(s.model);
    if (!spec) issues.push({ field: `${where}.services[${i}].model`, message: `"${s.model}" is not in the model catalog (known: ${[...catalog.keys()].join(', ')})` });
    else if (!gpuModels.some((g) => canServe(spec, g, 'gpu'))) {
      issues.push({ field: `${where}.services[${i}].model`, message: `"${s.model}" has no performance data or does not fit on ${gpuModels.join(', ')}` });
    }
  });
  if (issues.length > 0) throw validationError('SSIS_INVALID_CONFIG', `invalid scenario (${where})`, issues);
}

export function simulate(input: SimulationInput): RunResult {
  const { scenario, catalog, config, autoscaler, policy } = input;
  const wall = input.wallClockMs ?? ((): number => 0);
  const wallStart = wall();
  const seed = input.seed ?? scenario.seed;
  checkScenarioAgainstCatalog(scenario, catalog);
  checkSimulatable(autoscaler);
  const delays = scenario.delays;
  const durationMs = scenario.durationSec * 1000;
  const hardEndMs = durationMs + scenario.drainLimitSec * 1000;

  const cluster = new SimCluster(buildGpus(scenario), input.placement ?? firstFitPlacement);
  const table = new RequestTable();
  const queue = new EventQueue();
  const gpuModels = [...new Set(cluster.gpus.map((g) => g.model))];

  const services: ServiceRuntime[] = scenario.services.map((spec, index) => ({
    index,
    spec,
    model: catalog.get(spec.model)!,
    rules: rulesFor(autoscaler, spec.name).map((r) => ({ name: r.name, kind: classifyQuery(r.query)! })),
    replicas: [],
    pending: [],
    pendingHead: 0,
    generation: 1,
    rollout: null,
    profile: null,
    gpuModel: null,
    w: emptyWindow(),
    arrivals: 0,
    recordArrivals: 0,
    completed: 0,
    jctSumMs: 0,
    ttftOk: 0,
    itlOk: 0,
    allocated: 0,
    allocSinceMs: 0,
    gpuSeconds: 0,
  }));
  const serviceByName = new Map(services.map((s) => [s.spec.name, s]));
  const serviceIndex = new Map(services.map((s) => [s.spec.name, s.index]));

  // ---- run-wide accounting -------------------------------------------------------------------
  const replicas: Replica[] = [];
  let allocatedFraction = 0;
  let busyFraction = 0;
  let lastMs = 0;
  let gpuSeconds = 0;
  let occupiedGpuSeconds = 0;
  let idleWhileQueuedSec = 0;
  let allocatedIdleWhileQueuedSec = 0;
  let totalArrivals = 0;
  let completed = 0;
  let truncated = 0;
  let firstArrivalMs = Infinity;
  let lastCompletionMs = 0;
  let reconfigurations = 0;
  let replicaMoves = 0;
  let replicasStarted = 0;
  let decisions = 0;
  let placementFailures = 0;
  let steps = 0;
  let events = 0;
  const jct = new GrowableColumn();
  const ttft = new GrowableColumn();
  const tpot = new GrowableColumn();
  let ttftOk = 0;
  let itlOk = 0;
  let bothOk = 0;

  /** Integrates the time-weighted quantities up to `t` (called before every event). */
  const advance = (t: number): void => {
    const dt = (t - lastMs) / 1000;
    if (dt <= 0) return;
    gpuSeconds += dt * allocatedFraction;
    occupiedGpuSeconds += dt * cluster.occupiedGpus;
    if (totalArrivals - table.admitted > 0) {
      idleWhileQueuedSec += dt * (cluster.size - busyFraction);
      allocatedIdleWhileQueuedSec += dt * Math.max(0, allocatedFraction - busyFraction);
    }
    lastMs = t;
  };

  const setServiceAllocation = (s: ServiceRuntime, delta: number, t: number): void => {
    s.gpuSeconds += ((t - s.allocSinceMs) / 1000) * s.allocated;
    s.allocSinceMs = t;
    s.allocated += delta;
    allocatedFraction += delta;
  };

  const setBusy = (r: Replica, busy: boolean): void => {
    if (r.busy === busy) return;
    r.busy = busy;
    busyFraction += busy ? r.fraction : -r.fraction;
  };

  // ---- engines -------------------------------------------------------------------------------
  const listener: EngineListener = {
    onFirstToken(slot, atMs) {
      const w = services[table.service[slot]!]!.w;
      w.ttftSumMs += atMs - table.arrivedMs[slot]!;
      w.ttftCount++;
    },
    onFinished(slot, atMs) {
      const s = services[table.service[slot]!]!;
      const arrived = table.arrivedMs[slot]!;
      const first = table.firstTokenMs[slot]!;
      const out = table.outputTokens[slot]!;
      const jctMs = atMs - arrived;
      const ttftMs = first - arrived;
      const tpotMs = out > 1 ? (atMs - first) / (out - 1) : 0;
      jct.push(jctMs);
      ttft.push(ttftMs);
      tpot.push(tpotMs);
      const okT = ttftMs <= s.spec.slo.ttftMs;
      const okI = tpotMs <= s.spec.slo.itlMs;
      if (okT) ttftOk++;
      if (okI) itlOk++;
      if (okT && okI) bothOk++;
      s.completed++;
      s.jctSumMs += jctMs;
      if (okT) s.ttftOk++;
      if (okI) s.itlOk++;
      const w = s.w;
      w.completions++;
      w.inputTokens += table.inputTokens[slot]!;
      w.outputTokens += out;
      w.e2eSumMs += jctMs;
      w.queueSumMs += table.scheduledMs[slot]! - arrived;
      if (out > 1) {
        w.tpotSumMs += tpotMs;
        w.tpotCount++;
      }
      completed++;
      lastCompletionMs = atMs;
      table.release(slot);
    },
  };

  const release = (r: Replica, t: number): void => {
    if (r.phase === 'gone') return;
    r.phase = 'gone';
    setBusy(r, false);
    cluster.release(r.gpu, r.name);
    setServiceAllocation(r.service, -r.fraction, t);
    r.service.replicas = r.service.replicas.filter((x) => x !== r);
  };

  const startStep = (r: Replica, t: number): void => {
    const ms = r.engine.startStep(t);
    if (ms < 0) {
      setBusy(r, false);
      if (r.phase === 'draining') release(r, t);
      return;
    }
    setBusy(r, true);
    steps++;
    queue.push(t + ms, STEP_END, r.id);
  };

  const routable = (r: Replica): boolean => r.phase === 'ready' && !r.incoming;

  /** Join the shortest queue among the service's routable replicas; hold the request when there is none. */
  const route = (s: ServiceRuntime, slot: number, t: number): void => {
    let best: Replica | null = null;
    let bestLoad = Infinity;
    for (const r of s.replicas) {
      if (!routable(r)) continue;
      const load = r.engine.outstanding;
      if (load < bestLoad || (load === bestLoad && best !== null && r.fraction > best.fraction)) {
        best = r;
        bestLoad = load;
      }
    }
    if (best === null) {
      s.pending.push(slot);
      return;
    }
    best.engine.submit(slot);
    if (!best.engine.stepping) startStep(best, t);
  };

  const routePending = (s: ServiceRuntime, t: number): void => {
    if (!s.replicas.some(routable)) return;
    while (s.pendingHead < s.pending.length) route(s, s.pending[s.pendingHead++]!, t);
    s.pending.length = 0;
    s.pendingHead = 0;
  };

  // ---- actuation -----------------------------------------------------------------------------
  const drain = (r: Replica, t: number): void => {
    if (r.phase === 'starting') {
      release(r, t);
    } else if (r.phase === 'ready') {
      r.phase = 'draining';
      if (!r.engine.stepping && r.engine.idle) release(r, t);
    }
  };

  /** Places `count` replicas; all-or-nothing restores the cluster when some do not fit. */
  const placeReplicas = (s: ServiceRuntime, a: Allocation, count: number, t: number, allOrNothing: boolean, initial: boolean): Replica[] | string => {
    const before = cluster.snapshot();
    const ownerIds = Array.from({ length: count }, (_, i) => `${s.spec.name}-r${replicas.length + i}`);
    const outcome = cluster.place({ profile: a.profile, gpuModel: a.gpuModel, ownerIds });
    if (outcome.placements.length === 0 || (allOrNothing && outcome.unplaced > 0)) {
      cluster.restore(before);
      return outcome.reason ?? `no room for ${count} × ${a.profile} on ${a.gpuModel}`;
    }
    const engineConfig = engineConfigFor(s.model, a.gpuModel, a.profile);
    const loadMs = (delays.podStartSec + s.model.loadSeconds * delays.loadTimeScale) * 1000;
    const changedGpus = new Set<number>();
    const placed: Replica[] = [];
    for (const p of outcome.placements) {
      const fraction = cluster.fraction(p.gpu, a.profile);
      const engine = new ReplicaEngine({ ...engineConfig, maxBatchSize: a.maxBatch ?? engineConfig.maxBatchSize }, table);
      const r: Replica = {
        id: replicas.length, name: p.owner, service: s, engine, gpuModel: a.gpuModel, profile: a.profile, gpu: p.gpu, fraction,
        phase: initial ? 'ready' : 'starting', busy: false, incoming: false,
      };
      replicas.push(r);
      s.replicas.push(r);
      placed.push(r);
      setServiceAllocation(s, fraction, t);
      if (!initial) {
        replicasStarted++;
        if (p.reconfigured) changedGpus.add(p.gpu);
        setBusy(r, true);
        queue.push(t + loadMs + (p.reconfigured ? delays.migRepartitionSec * 1000 : 0), READY, r.id);
      }
    }
    reconfigurations += changedGpus.size;
    replicaMoves += outcome.moves.length;
    return placed;
  };

  const ctx: PolicyContext = {
    scenario,
    catalog,
    config,
    autoscaler,
    services: scenario.services,
    expectedLoad: expectedLoad(scenario, input.traces),
    gpuModels,
    gpuCount: cluster.size,
    spec: (name) => serviceByName.get(name)!.model,
    gpus: () => cluster.gpus,
    placeable: (gpuModel, profile) => cluster.placeable(gpuModel, profile),
  };

  const completeRollout = (s: ServiceRuntime, t: number): void => {
    const rollout = s.rollout!;
    if (rollout.vertical) {
      for (const r of [...s.replicas]) if (!r.incoming && (r.phase === 'starting' || r.phase === 'ready')) drain(r, t);
      for (const r of rollout.replicas) r.incoming = false;
      replicaMoves += rollout.replicas.filter((r) => r.phase !== 'gone').length;
      s.profile = rollout.profile;
      s.gpuModel = rollout.gpuModel;
    }
    s.rollout = null;
    policy.onRolloutCompleted?.(s.spec.name, rollout.decisionId, t);
    routePending(s, t);
  };

  const checkRollout = (s: ServiceRuntime, t: number): void => {
    if (s.rollout && s.rollout.replicas.every((r) => r.phase !== 'starting')) completeRollout(s, t);
  };

  const failed = (s: ServiceRuntime, c: ScaleCommand, t: number): void => {
    placementFailures++;
    policy.onPlacementFailed?.(ctx, s.spec.name, c.decisionId, c.gpuModel, c.profile, t);
  };

  const actuate = (c: ScaleCommand, t: number): void => {
    const s = serviceByName.get(c.service);
    if (!s || s.rollout?.vertical) return; // one tier change at a time; the policy decides again on the next sample
    const sameTier = c.profile === s.profile && c.gpuModel === s.gpuModel;
    if (sameTier) {
      const serving = s.replicas.filter((r) => !r.incoming && (r.phase === 'starting' || r.phase === 'ready'));
      const delta = c.replicas - serving.length;
      if (delta === 0) return;
      s.generation++;
      if (delta > 0) {
        const placed = placeReplicas(s, c, delta, t, false, false);
        if (typeof placed === 'string') return failed(s, c, t);
        s.rollout = { decisionId: c.decisionId, vertical: false, gpuModel: c.gpuModel, profile: c.profile, replicas: placed };
        return;
      }
      // Scale in: replicas still starting go first, then the least loaded.
      const victims = [...serving].sort((a, b) => (a.phase === b.phase ? a.engine.outstanding - b.engine.outstanding || b.id - a.id : a.phase === 'starting' ? -1 : 1)).slice(0, -delta);
      for (const r of victims) drain(r, t);
      policy.onRolloutCompleted?.(s.spec.name, c.decisionId, t);
      return;
    }
    const placed = placeReplicas(s, c, c.replicas, t, true, false);
    if (typeof placed === 'string') return failed(s, c, t);
    s.generation++;
    for (const r of placed) r.incoming = true;
    s.rollout = { decisionId: c.decisionId, vertical: true, gpuModel: c.gpuModel, profile: c.profile, replicas: placed };
  };

  // ---- sampling (what functions/sample publishes) ----------------------------------------------
  const intervalSec = policy.intervalSec;
  const sample = (s: ServiceRuntime, t: number): MetricsSampled => {
    const w = s.w;
    const windowSec = intervalSec ?? delays.metricIntervalSec;
    let running = 0;
    let waiting = 0;
    let kv = 0;
    let engines = 0;
    for (const r of s.replicas) {
      if (r.phase === 'starting') continue;
      running += r.engine.runningCount;
      waiting += r.engine.waitingCount;
      kv += r.engine.kvCacheUsage;
      engines++;
    }
    const mean = (sum: number, n: number): number | null => (n > 0 ? sum / n : null);
    const value = (kind: SimMetricKind): number | null => {
      switch (kind) {
        case 'tpot-sec': return mean(w.tpotSumMs / 1000, w.tpotCount);
        case 'itl-sec': return mean(w.itlSumMs / 1000, w.itlCount);
        case 'ttft-sec': return mean(w.ttftSumMs / 1000, w.ttftCount);
        case 'e2e-sec': return mean(w.e2eSumMs / 1000, w.completions);
        case 'queue-sec': return mean(w.queueSumMs / 1000, w.completions);
        case 'waiting': return engines > 0 ? waiting : null;
        case 'running': return engines > 0 ? running : null;
        case 'kv-usage': return mean(kv, engines);
      }
    };
    const metrics: SampledMetric[] = s.rules.map((r) => ({ name: r.name, value: value(r.kind) }));
    const serving = s.replicas.filter((r) => !r.incoming && (r.phase === 'starting' || r.phase === 'ready'));
    const placeableProfiles = policy.needsPlaceability && s.gpuModel
      ? servableTiers(s.model, s.gpuModel).filter((p) => cluster.placeable(s.gpuModel!, p))
      : [];
    return {
      service: s.spec.name,
      modelId: s.model.modelId,
      generation: s.generation,
      revision: s.profile === null ? null : `${s.spec.name}-${String(s.generation).padStart(5, '0')}`,
      profile: serving.length > 0 ? s.profile : null,
      gpuModel: s.gpuModel,
      replicas: serving.length,
      readyReplicas: serving.filter((r) => r.phase === 'ready').length,
      rolloutInProgress: s.rollout !== null,
      windowSec,
      sampledAt: new Date(t).toISOString(),
      metrics,
      load: {
        arrivalRatePerSec: w.completions / windowSec,
        avgInputTokens: w.completions > 0 ? w.inputTokens / w.completions : 0,
        avgOutputTokens: w.completions > 0 ? w.outputTokens / w.completions : 0,
        requestsRunning: running,
        requestsWaiting: waiting,
        ttftMs: mean(w.ttftSumMs, w.ttftCount),
        itlMs: mean(w.itlSumMs, w.itlCount),
        kvCacheUsage: engines > 0 ? Math.min(1, kv / engines) : null,
      },
      placeableProfiles,
    };
  };

  // ---- set-up ----------------------------------------------------------------------------------
  const layout: GpuState[] | null = policy.initialLayout?.(ctx) ?? null;
  if (layout) cluster.setLayout(layout);
  const initial = policy.initial(ctx);
  for (const a of initial) {
    const s = serviceByName.get(a.service);
    if (!s) throw new SsisError('SSIS_INTERNAL', `policy ${policy.id} allocated unknown service ${a.service}`);
    const placed = placeReplicas(s, a, a.replicas, 0, true, true);
    if (typeof placed === 'string') {
      throw new SsisError('SSIS_PLACEMENT_INFEASIBLE', `scenario ${scenario.name}: policy (${policy.id}) ${policy.title} cannot place its initial ${a.replicas} × ${a.profile} for ${a.service}: ${placed}`, {
        details: { scenario: scenario.name, policy: policy.id, service: a.service },
      });
    }
    if (s.profile === null) {
      s.profile = a.profile;
      s.gpuModel = a.gpuModel;
    }
  }

  const sources: ArrivalSource[] = scenario.workload.map((w) => {
    if (w.kind === 'gamma') return gammaSource(w, serviceIndex, seed, scenario.durationSec);
    const trace = input.traces[w.trace];
    if (!trace) throw new SsisError('SSIS_INVALID_CONFIG', `scenario ${scenario.name}: workload ${w.name} needs the Azure ${w.trace} trace`, { issues: [{ field: `workload.${w.name}.trace`, message: 'trace not loaded' }] });
    return azureSource(w, trace, serviceIndex, seed, scenario.durationSec);
  });
  const pendingArrival: Arrival[] = sources.map(() => ({ timeMs: 0, service: 0, inputTokens: 0, outputTokens: 0 }));
  let sourcesLeft = 0;
  sources.forEach((src, i) => {
    if (src.next(pendingArrival[i]!)) {
      queue.push(pendingArrival[i]!.timeMs, ARRIVAL, i);
      sourcesLeft++;
    }
  });
  if (intervalSec !== null) queue.push(intervalSec * 1000, TICK, 0);
  const recordMs = Math.max(5, Math.round(scenario.durationSec / 240)) * 1000;
  queue.push(recordMs, RECORD, 0);
  const commands: ScaleCommand[] = [];
  const series = { tSec: [] as number[], arrivalsPerSec: services.map(() => [] as number[]), allocatedGpus: services.map(() => [] as number[]), queued: [] as number[] };

  // ---- the loop --------------------------------------------------------------------------------
  let nextProgress = 0;
  while (queue.pop()) {
    const t = queue.time;
    if (t > hardEndMs) break;
    advance(t);
    events++;
    switch (queue.kind) {
      case ARRIVAL: {
        const a = pendingArrival[queue.ref]!;
        const s = services[a.service]!;
        // Requests longer than the model's context are cut to it (counted), as a client would have to.
        let out = a.outputTokens;
        let inp = a.inputTokens;
        const maxLen = s.model.maxModelLen;
        if (out > maxLen >> 1 || inp + out > maxLen) {
          truncated++;
          out = Math.min(out, maxLen >> 1);
          inp = Math.max(1, Math.min(inp, maxLen - out));
        }
        const slot = table.allocate(s.index, inp, out, t);
        if (t < firstArrivalMs) firstArrivalMs = t;
        s.arrivals++;
        s.recordArrivals++;
        totalArrivals++;
        route(s, slot, t);
        if (sources[queue.ref]!.next(a)) queue.push(Math.max(a.timeMs, t), ARRIVAL, queue.ref);
        else sourcesLeft--;
        break;
      }
      case STEP_END: {
        const r = replicas[queue.ref]!;
        const w = r.service.w;
        const itlSum = r.engine.itlSumMs;
        const itlCount = r.engine.itlCount;
        r.engine.finishStep(listener);
        w.itlSumMs += r.engine.itlSumMs - itlSum;
        w.itlCount += r.engine.itlCount - itlCount;
        startStep(r, t);
        break;
      }
      case TICK: {
        const samples = services.map((s) => sample(s, t));
        for (const s of services) s.w = emptyWindow();
        for (const c of policy.decide(ctx, samples, t)) {
          decisions++;
          commands.push(c);
          queue.push(t + delays.decisionSec * 1000, ACTUATE, commands.length - 1);
        }
        queue.push(t + intervalSec! * 1000, TICK, 0);
        break;
      }
      case ACTUATE:
        actuate(commands[queue.ref]!, t);
        break;
      case READY: {
        const r = replicas[queue.ref]!;
        if (r.phase !== 'starting') break;
        r.phase = 'ready';
        setBusy(r, false);
        if (r.service.rollout?.replicas.includes(r)) checkRollout(r.service, t);
        routePending(r.service, t);
        break;
      }
      case RECORD: {
        series.tSec.push(t / 1000);
        for (const s of services) {
          series.arrivalsPerSec[s.index]!.push(s.recordArrivals / (recordMs / 1000));
          series.allocatedGpus[s.index]!.push(s.allocated);
          s.recordArrivals = 0;
        }
        series.queued.push(totalArrivals - table.admitted);
        queue.push(t + recordMs, RECORD, 0);
        break;
      }
    }
    if (input.onProgress && events >= nextProgress) {
      nextProgress = events + 50_000;
      input.onProgress(Math.min(1, t / durationMs));
    }
    if (sourcesLeft === 0 && table.inFlight === 0) break;
  }
  const endMs = lastMs;
  for (const s of services) setServiceAllocation(s, 0, endMs);
  input.onProgress?.(1);

  const j = summarise(jct);
  const makespanSec = completed > 0 ? (lastCompletionMs - firstArrivalMs) / 1000 : 0;
  const clusterGpuSeconds = cluster.size * (endMs / 1000);
  const perService: ServiceResult[] = services.map((s) => ({
    service: s.spec.name,
    model: s.model.modelId,
    requests: s.arrivals,
    completed: s.completed,
    jctMeanMs: s.completed > 0 ? s.jctSumMs / s.completed : NaN,
    ttftAttainment: s.completed > 0 ? s.ttftOk / s.completed : NaN,
    itlAttainment: s.completed > 0 ? s.itlOk / s.completed : NaN,
    gpuSeconds: s.gpuSeconds,
  }));
  return {
    scenario: scenario.name,
    policy: policy.id,
    title: policy.title,
    seed,
    placement: cluster.placementName,
    requests: totalArrivals,
    completed,
    unfinished: totalArrivals - completed,
    truncated,
    jct: j.dist,
    ttft: summarise(ttft).dist,
    tpot: summarise(tpot).dist,
    makespanSec,
    throughputPerSec: makespanSec > 0 ? completed / makespanSec : 0,
    ttftAttainment: completed > 0 ? ttftOk / completed : NaN,
    itlAttainment: completed > 0 ? itlOk / completed : NaN,
    sloAttainment: completed > 0 ? bothOk / completed : NaN,
    gpuSeconds,
    occupiedGpuSeconds,
    clusterGpuSeconds,
    idleWhileQueuedFraction: clusterGpuSeconds > 0 ? idleWhileQueuedSec / clusterGpuSeconds : 0,
    allocatedIdleWhileQueuedFraction: clusterGpuSeconds > 0 ? allocatedIdleWhileQueuedSec / clusterGpuSeconds : 0,
    reconfigurations,
    replicaMoves,
    replicasStarted,
    decisions,
    placementFailures,
    perService,
    series,
    jctQuantilesMs: quantileSketch(j.sorted),
    events,
    steps,
    wallMs: wall() - wallStart,
  };
}
