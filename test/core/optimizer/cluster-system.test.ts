/**
 * The optimizer over SSIS's world: the REAL model catalog of knative/configmaps.yaml, MIG clusters,
 * service classes with SLOs. What it must show: on a MIG cluster a small model at low load gets a
 * 1g or 2g slice rather than a whole GPU, with its SLOs predicted met.
 */
import { expect } from 'chai';
import { firstFit } from '../../../core/mig/first-fit';
import type { GpuState } from '../../../core/mig/layout';
import {
  AllocationCache, allocationCost, buildClusterSystem, gpuInventory, kvBatchCap, optimizeCluster, type ClusterOptimizerInput, type ClusterService,
} from '../../../core/optimizer/cluster-system';
import { createAnalyzer } from '../../../core/optimizer/analyzer';
import { CONFIG, MODELS, spec } from '../../functions/helpers';

const A100 = 'A100-SXM4-40GB';
const SLO = { ttftMs: 1000, itlMs: 50 };
const GPT2_SLO = { ttftMs: 1000, itlMs: 12 };

function service(modelId: string, ratePerSec: number, o: Partial<ClusterService> = {}): ClusterService {
  return {
    service: modelId.split('/')[1]!.toLowerCase(),
    modelId,
    serviceClass: 'default',
    arrivalRatePerSec: ratePerSec,
    avgInputTokens: 128,
    avgOutputTokens: 128,
    current: null,
    minReplicas: 1,
    maxReplicas: 16,
    ...o,
  };
}

function input(services: ClusterService[], gpus = 4, o: Partial<ClusterOptimizerInput> = {}): ClusterOptimizerInput {
  return {
    catalog: CONFIG.catalog,
    gpus: new Map([[A100, gpus]]),
    services,
    classes: [
      { name: 'default', priority: 1, sloFor: (m) => (m === MODELS.gpt2 ? GPT2_SLO : SLO) },
      { name: 'batch', priority: 50, sloFor: () => ({ ttftMs: 5000, itlMs: 100 }) },
    ],
    ...o,
  };
}

describe('core/optimizer/cluster-system', () => {
  it('gives gpt2 at low load a 1g slice, not a whole GPU, with TTFT and ITL predicted within its SLOs', () => {
    const sol = optimizeCluster(input([service(MODELS.gpt2, 0.5)]));
    const t = sol.targets.get('gpt2')!;
    expect(t).to.include({ gpuModel: A100, profile: '1g.5gb', kind: 'mig', replicas: 1, sloMet: true });
    expect(t.predictedItlMs).to.be.above(0).and.at.most(GPT2_SLO.itlMs);
    expect(t.predictedTtftMs).to.be.above(0).and.at.most(GPT2_SLO.ttftMs);
    expect(t.costCentsPerHour).to.be.closeTo(40 / 7, 1e-5);
    expect(sol.unallocated).to.deep.equal([]);
  });

  it('predicts what Inferno’s analyzer predicts for the chosen slice (beta / compute share, gamma / bandwidth share)', () => {
    const t = optimizeCluster(input([service(MODELS.gpt2, 0.5)])).targets.get('gpt2')!;
    const full = spec(MODELS.gpt2).perf[A100]!;
    const analyzer = createAnalyzer({
      generation: 2, maxBatchSize: t.maxBatchSize, maxQueueSize: 10 * t.maxBatchSize, avgInputTokens: 128, avgOutputTokens: 128,
      params: { alpha: full.alphaMs, beta: full.betaMsPerToken * 7, gamma: full.gammaMsPerKvToken * 8 },
    });
    const m = analyzer.analyze(0.5);
    expect(t.predictedItlMs).to.be.closeTo(m.avgITLMs, 1e-6 * m.avgITLMs);
    expect(t.predictedTtftMs).to.be.closeTo(m.avgTTFTMs, 1e-6 * m.avgTTFTMs);
  });

  it('grows the allocation with the load: more replicas or a larger slice, always meeting the SLOs, at rising cost', () => {
    let lastCost = 0;
    for (const rate of [0.5, 4, 16, 40]) {
      const t = optimizeCluster(input([service(MODELS.gpt2, rate)])).targets.get('gpt2')!;
      expect(t.sloMet, `rate ${rate}`).to.equal(true);
      expect(t.predictedItlMs, `rate ${rate}`).to.be.at.most(GPT2_SLO.itlMs);
      expect(t.costCentsPerHour, `rate ${rate}`).to.be.at.least(lastCost);
      lastCost = t.costCentsPerHour;
    }
    expect(lastCost).to.be.above(40 / 7);
  });

  it('never offers a slice too small for the model: Llama-3-8B starts at 3g.20gb on an A100-40GB', () => {
    const { system } = buildClusterSystem(input([service(MODELS.llama8b, 1)]));
    const profiles = system.models.filter((m) => m.name === MODELS.llama8b).map((m) => m.acc);
    expect(profiles).to.deep.equal([A100, `${A100}:3g.20gb`, `${A100}:4g.20gb`, `${A100}:7g.40gb`]);
    expect(optimizeCluster(input([service(MODELS.llama8b, 1)])).targets.get('meta-llama-3-8b')).to.include({ profile: '3g.20gb' });
  });

  it('caps the batch by the KV cache the slice holds', () => {
    const gpt2 = spec(MODELS.gpt2);
    expect(kvBatchCap(gpt2, 4.75, 128, 128)).to.equal(Math.min(gpt2.maxBatchSize, Math.floor((4.75 * gpt2.gpuMemoryUtilization - gpt2.weightsGiB - gpt2.runtimeOverheadGiB) * 2 ** 30 / gpt2.kvBytesPerToken / 256)));
    const llama = spec(MODELS.llama8b);
    const small = kvBatchCap(llama, 19.5, 1024, 1024);
    const large = kvBatchCap(llama, 40, 1024, 1024);
    expect(small).to.be.below(large);
    const { system } = buildClusterSystem(input([service(MODELS.llama8b, 1, { avgInputTokens: 1024, avgOutputTokens: 1024 })]));
    expect(system.models.find((m) => m.acc === `${A100}:3g.20gb`)!.maxBatchSize).to.equal(small);
  });

  it('respects limited capacity by MIG geometry: what it allocates can be placed on the cluster’s GPUs', () => {
    const services = [service(MODELS.llama8b, 6), service(MODELS.mistral, 6), service(MODELS.gpt2, 8), service(MODELS.llama1b, 3)];
    const sol = optimizeCluster(input(services, 2, { saturationPolicy: 'PriorityExhaustive' }));
    let gpus: GpuState[] = [0, 1].map((index) => ({ node: 'n', index, model: A100, migEnabled: true, instances: [] }));
    // Largest first, as a planner would; every replica of every target must find a slot.
    const targets = [...sol.targets.values()].sort((a, b) => b.costCentsPerHour / b.replicas - a.costCentsPerHour / a.replicas);
    for (const t of targets) {
      const placed = firstFit(gpus, { profile: t.profile, count: t.replicas, ownerIds: Array.from({ length: t.replicas }, (_, k) => `${t.service}-${k}`), gpuModels: [A100] });
      expect(placed.unplaced, `${t.service} ${t.replicas}× ${t.profile}`).to.equal(0);
      gpus = placed.gpus;
    }
    expect(sol.gpusLeft.get(A100)).to.be.at.least(0);
  });

  it('serves higher priority first when capacity runs out; None leaves the rest unallocated', () => {
    const busy = (m: string, cls: string): ClusterService => service(m, 8, { serviceClass: cls });
    const sol = optimizeCluster(input([busy(MODELS.mistral, 'batch'), busy(MODELS.llama8b, 'default')], 1));
    expect(sol.targets.has('meta-llama-3-8b')).to.equal(true);
    expect(sol.unallocated).to.deep.equal(['mistral-7b-v0.1']);
  });

  it('marks a best-effort allocation short of replicas as not meeting the SLOs', () => {
    const sol = optimizeCluster(input([service(MODELS.llama8b, 30)], 1, { saturationPolicy: 'PriorityExhaustive' }));
    const t = sol.targets.get('meta-llama-3-8b')!;
    expect(t.replicas).to.be.below(t.requiredReplicas);
    expect(t.sloMet).to.equal(false);
  });

  it('counts GPUs held by services under another policy, leaves out backed-off partitions and caps replicas', () => {
    const held = optimizeCluster(input([service(MODELS.gpt2, 0.5)], 1, { reserved: [{ gpuModel: A100, profile: '1g.5gb', replicas: 7 }] }));
    expect(held.unallocated).to.deep.equal(['gpt2']);
    // Held slices count even when the optimizer offers no MIG (a ladder service on MIG), by alias and +me too.
    const noMig = optimizeCluster(input([service(MODELS.gpt2, 0.5)], 2, { partitions: { mig: false }, reserved: [{ gpuModel: A100, profile: '3g.20gb', replicas: 3 }, { gpuModel: 'A100-40GB', profile: '1g.5gb+me', replicas: 1 }] }));
    expect(noMig.unallocated).to.deep.equal(['gpt2']);
    const excluded = optimizeCluster(input([service(MODELS.gpt2, 0.5, { excluded: [{ gpuModel: A100, profile: '1g.5gb' }] })]));
    expect(excluded.targets.get('gpt2')!.profile).to.not.equal('1g.5gb');
    // At 8 req/s gpt2 would take several slices; capped at one replica it takes a whole GPU.
    expect(optimizeCluster(input([service(MODELS.gpt2, 8)])).targets.get('gpt2')!.replicas).to.be.above(1);
    expect(optimizeCluster(input([service(MODELS.gpt2, 8, { maxReplicas: 1 })])).targets.get('gpt2')).to.include({ replicas: 1, profile: 'gpu' });
  });

  it('gives a service whose SLOs need more than maxReplicas the partition serving the most at maxReplicas, marked short', () => {
    const t = optimizeCluster(input([service(MODELS.llama8b, 30, { maxReplicas: 2 })], 8)).targets.get('meta-llama-3-8b')!;
    expect(t).to.include({ profile: 'gpu', replicas: 2, sloMet: false });
    expect(t.requiredReplicas).to.be.above(2);
  });

  it('prefers staying put: the transition penalty keeps the current slice when it is as good', () => {
    const cur = { gpuModel: A100, profile: '2g.10gb', replicas: 1 };
    const sol = optimizeCluster(input([service(MODELS.gpt2, 0.5, { current: cur })], 4, { partitions: { mig: true } }));
    // 1g.5gb is cheaper than keeping 2g.10gb even with the 10 % move penalty.
    expect(sol.targets.get('gpt2')!.profile).to.equal('1g.5gb');
    expect(allocationCost(sol, cur)).to.be.closeTo(80 / 7, 1e-4);
  });

  it('offers MPS shares when enabled, and whole GPUs only when MIG is off', () => {
    const mps = optimizeCluster(input([service(MODELS.gpt2, 0.5)], 4, { partitions: { mig: false, mpsClients: [4, 7] } }));
    expect(mps.targets.get('gpt2')).to.include({ profile: 'mps-1of7', kind: 'mps' });
    const whole = optimizeCluster(input([service(MODELS.gpt2, 0.5)], 4, { partitions: { mig: false } }));
    expect(whole.targets.get('gpt2')).to.include({ profile: 'gpu', kind: 'gpu' });
  });

  it('reads the inventory from GPU states and refuses unknown GPU models or models without a cost', () => {
    expect([...gpuInventory([{ model: 'A100-40GB' }, { model: A100 }, { model: 'H100-80GB' }])]).to.deep.equal([[A100, 2], ['H100-80GB', 1]]);
    expect(() => optimizeCluster({ ...input([service(MODELS.gpt2, 1)]), gpus: new Map([['TPU-v5', 1]]) })).to.throw(RangeError, /unknown GPU model TPU-v5/);
  });
});

describe('core/optimizer/cluster-system AllocationCache', () => {
  it('gives the same solution with and without the cache, and hits it on a repeated (quantized) load', () => {
    const services = [service(MODELS.llama8b, 2.0004), service(MODELS.gpt2, 3, { avgInputTokens: 99.6 }), service(MODELS.mistral, 1)];
    const plain = optimizeCluster(input(services, 3));
    const cache = new AllocationCache();
    const first = optimizeCluster(input(services, 3), cache);
    expect([...first.targets]).to.deep.equal([...plain.targets]);
    expect(cache.hits).to.equal(0);
    const misses = cache.misses;
    // 2.0004 req/s and 2.0001 req/s are the same load to three significant digits (120 req/min).
    const again = optimizeCluster(input([service(MODELS.llama8b, 2.0001), ...services.slice(1)], 3), cache);
    expect([...again.targets]).to.deep.equal([...plain.targets]);
    expect(cache.misses).to.equal(misses);
    expect(cache.hits).to.equal(misses);
  });
});
