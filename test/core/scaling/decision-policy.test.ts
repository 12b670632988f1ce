/**
 * The decision policy on its own (core/scaling/decision-policy): what a scale-decided and a
 * slice-reconfigured may ask of a service, judged against the REAL shipped catalog and scaler bounds,
 * on hand-made service views. Every decision the real producers make passes (the ladder's and the
 * inferno policy's through the policy driver, the request function's cold start); each breach is
 * reported with its field.
 */
import { expect } from 'chai';
import type { GpuState } from '../../../core/mig/layout';
import { optimizeCluster, optimizerSettings } from '../../../core/optimizer/cluster-system';
import type { ServiceView } from '../../../core/ports/cluster';
import { coldStartTarget } from '../../../core/scaling/cold-start';
import {
  decisionIssues, isStaleDecision, replicaBoundsProblem, rolloutIssues, type DecisionPolicy, type DecisionToCheck, type RolloutToCheck,
} from '../../../core/scaling/decision-policy';
import { createPolicyDriver } from '../../../core/scaling/policy-driver';
import type { LoadMeasurement, ServiceSample } from '../../../core/scaling/service-sample';
import { A100, CONFIG, MODELS, spec } from '../../functions/helpers';

const H100 = 'H100-80GB';
const POLICY: DecisionPolicy = { catalog: CONFIG.catalog, scaler: CONFIG.ssis.scaler };
/** The shipped configuration with scale-to-zero on (it is off there). */
const ZERO_ON_CONFIG = { ...CONFIG.ssis, scaler: { ...CONFIG.ssis.scaler, scaleToZeroAfterSec: 60 } };
const ZERO_ON: DecisionPolicy = { ...POLICY, scaler: ZERO_ON_CONFIG.scaler };
const IDLE: LoadMeasurement = { arrivalRatePerSec: 0, avgInputTokens: 0, avgOutputTokens: 0, requestsRunning: 0, requestsWaiting: 0, ttftMs: null, itlMs: null, kvCacheUsage: null };
const HIGH: LoadMeasurement = { arrivalRatePerSec: 30, avgInputTokens: 12, avgOutputTokens: 20, requestsRunning: 20, requestsWaiting: 4, ttftMs: 40, itlMs: 15, kvCacheUsage: 0.2 };

/** Two empty A100-40GB on one node, unless a test names the GPU models. */
function gpusOf(...models: string[]): GpuState[] {
  return (models.length > 0 ? models : [A100, A100]).map((model, index) => ({ node: 'node-a', index, model, migEnabled: true, instances: [] }));
}

/** gpt2 serving `replicas` of `profile` in revision gpt2-00001 at generation 1 (no replicas: no revision, generation 0). */
function gpt2(replicas: number, profile = '1g.5gb', o: Partial<ServiceView> = {}): ServiceView {
  const revisions = replicas === 0 ? [] : [{
    name: 'gpt2-00001', profile, gpuModel: A100, decisionId: 'gpt2-setup',
    replicas: Array.from({ length: replicas }, (_, k) => ({ id: `gpt2-00001-${k + 1}`, revision: 'gpt2-00001', sliceId: `s${k}`, node: 'node-a', gpu: 0, phase: 'ready' as const, url: null })),
  }];
  return {
    name: 'gpt2', modelId: MODELS.gpt2, generation: replicas === 0 ? 0 : 1, revisions,
    traffic: replicas === 0 ? [] : [{ revision: 'gpt2-00001', percent: 100 }], condition: { ready: replicas > 0, reason: 'Ready', message: '' }, rollout: null, ...o,
  };
}

function decision(s: ServiceView, action: DecisionToCheck['action'], profile: string, replicas: number, o: Partial<DecisionToCheck> = {}): DecisionToCheck {
  return { service: s.name, modelId: s.modelId, action, fromGeneration: s.generation, target: { profile, gpuModel: A100, replicas }, ...o };
}

const fields = (issues: readonly { field: string }[]): string[] => issues.map((i) => i.field);

describe('core/scaling/decision-policy', () => {
  describe('scale-decided', () => {
    it('accepts a decision of each action that keeps to the policy', () => {
      expect(decisionIssues(POLICY, decision(gpt2(0), 'cold-start', '1g.5gb', 1), gpt2(0), gpusOf())).to.deep.equal([]);
      expect(decisionIssues(POLICY, decision(gpt2(1), 'out', '1g.5gb', 2), gpt2(1), gpusOf())).to.deep.equal([]);
      expect(decisionIssues(POLICY, decision(gpt2(2), 'in', '1g.5gb', 1), gpt2(2), gpusOf())).to.deep.equal([]);
      expect(decisionIssues(POLICY, decision(gpt2(1), 'up', '2g.10gb', 1), gpt2(1), gpusOf())).to.deep.equal([]);
      expect(decisionIssues(POLICY, decision(gpt2(1, '2g.10gb'), 'down', '1g.5gb', 1), gpt2(1, '2g.10gb'), gpusOf())).to.deep.equal([]);
      // The inferno policy may move to another GPU model and change the count in one step.
      const up = { ...decision(gpt2(1), 'up', '2g.20gb', 3), target: { profile: '2g.20gb', gpuModel: H100, replicas: 3 } };
      expect(decisionIssues(POLICY, up, gpt2(1), gpusOf(A100, H100))).to.deep.equal([]);
      expect(decisionIssues(ZERO_ON, decision(gpt2(1), 'in', '1g.5gb', 0), gpt2(1), gpusOf()), 'scale to zero, where it is on').to.deep.equal([]);
    });

    it('accepts what the real producers decide: the request function’s cold start, the ladder’s and the inferno policy’s decisions', () => {
      const gpus = gpusOf();
      const cold = coldStartTarget(spec(MODELS.gpt2), gpus.map((g) => g.model), () => true)!;
      expect(decisionIssues(POLICY, decision(gpt2(0), 'cold-start', cold.profile, 1), gpt2(0), gpus)).to.deep.equal([]);

      const driver = createPolicyDriver({ catalog: CONFIG.catalog, config: ZERO_ON_CONFIG, autoscalerConfig: () => CONFIG.autoscaler });
      const sampleOf = (s: ServiceView, o: Partial<ServiceSample>): ServiceSample => ({
        service: s.name, modelId: s.modelId, generation: s.generation, profile: s.revisions[0]!.profile, gpuModel: A100, replicas: s.revisions[0]!.replicas.length,
        rolloutInProgress: false, metrics: [], load: IDLE, placeableProfiles: ['1g.5gb', '2g.10gb', '3g.20gb', '4g.20gb'], ...o,
      });
      const checked = (s: ServiceView, d: { action: DecisionToCheck['action']; target: DecisionToCheck['target'] } | null | undefined): string[] => {
        expect(d, 'a decision').to.not.equal(null);
        return fields(decisionIssues(ZERO_ON, { service: s.name, modelId: s.modelId, fromGeneration: s.generation, action: d!.action, target: d!.target }, s, gpus));
      };
      const above = [{ name: 'time_per_output_token_seconds', value: 0.03 }, { name: 'waiting_requests', value: 20 }];
      const below = [{ name: 'time_per_output_token_seconds', value: 0.001 }, { name: 'waiting_requests', value: 0 }];
      expect(checked(gpt2(1), driver.ladder(sampleOf(gpt2(1), { metrics: above }), 0).decision), 'ladder up').to.deep.equal([]);
      const atTop = { ...gpt2(1, '4g.20gb'), name: 'gpt2' };
      expect(checked(atTop, createPolicyDriver({ catalog: CONFIG.catalog, config: ZERO_ON_CONFIG, autoscalerConfig: () => CONFIG.autoscaler }).ladder(sampleOf(atTop, { metrics: above }), 0).decision), 'ladder out').to.deep.equal([]);
      const inDriver = createPolicyDriver({ catalog: CONFIG.catalog, config: ZERO_ON_CONFIG, autoscalerConfig: () => CONFIG.autoscaler });
      inDriver.ladder(sampleOf(gpt2(3), { metrics: below }), 0);
      expect(checked(gpt2(3), inDriver.ladder(sampleOf(gpt2(3), { metrics: below }), 60_000).decision), 'ladder in').to.deep.equal([]);
      const downDriver = createPolicyDriver({ catalog: CONFIG.catalog, config: ZERO_ON_CONFIG, autoscalerConfig: () => CONFIG.autoscaler });
      downDriver.ladder(sampleOf(gpt2(1, '2g.10gb'), { metrics: below }), 0);
      expect(checked(gpt2(1, '2g.10gb'), downDriver.ladder(sampleOf(gpt2(1, '2g.10gb'), { metrics: below }), 60_000).decision), 'ladder down').to.deep.equal([]);
      const zeroDriver = createPolicyDriver({ catalog: CONFIG.catalog, config: ZERO_ON_CONFIG, autoscalerConfig: () => CONFIG.autoscaler });
      zeroDriver.ladder(sampleOf(gpt2(1), { metrics: below }), 0);
      const zero = zeroDriver.ladder(sampleOf(gpt2(1), { metrics: below }), 120_000).decision;
      expect(zero?.target.replicas, 'ladder scale to zero').to.equal(0);
      expect(checked(gpt2(1), zero)).to.deep.equal([]);

      const inferno = createPolicyDriver({ catalog: CONFIG.catalog, config: CONFIG.ssis, autoscalerConfig: () => CONFIG.autoscaler });
      const busy = sampleOf(gpt2(1), { load: HIGH });
      const proposal = inferno.inferno(busy, 0, () => optimizeCluster({
        catalog: CONFIG.catalog, gpus: new Map([[A100, 2]]), services: [inferno.clusterService(busy, { serviceClass: 'default', nowMs: 0 })!],
        classes: [{ name: 'default', priority: 1, sloFor: () => ({ ttftMs: 1000, itlMs: 12 }) }], ...optimizerSettings(CONFIG.ssis.optimizer),
      }))?.decision;
      expect(checked(gpt2(1), proposal), `inferno ${proposal?.action ?? ''}`).to.deep.equal([]);
    });

    it('refuses replicas above scaler.maxReplicas: the forged 14 and 20 of the review, and 10,000', () => {
      for (const replicas of [14, 20, 10_000]) {
        const issues = decisionIssues(POLICY, decision(gpt2(1), 'out', '1g.5gb', replicas), gpt2(1), gpusOf());
        expect(issues).to.deep.equal([{ field: 'data.target.replicas', message: `${replicas} replicas is above scaler.maxReplicas 4` }]);
      }
      expect(fields(decisionIssues(POLICY, decision(gpt2(0), 'cold-start', '1g.5gb', 5), gpt2(0), gpusOf()))).to.deep.equal(['data.target.replicas']);
      expect(fields(decisionIssues(POLICY, decision(gpt2(1), 'up', '2g.10gb', 5), gpt2(1), gpusOf()))).to.deep.equal(['data.target.replicas']);
    });

    it('refuses shrinking below scaler.minReplicas, and to zero while scale-to-zero is off', () => {
      expect(decisionIssues(POLICY, decision(gpt2(1), 'in', '1g.5gb', 0), gpt2(1), gpusOf())).to.deep.equal([
        { field: 'data.target.replicas', message: 'scaling to zero is off (scaler.scaleToZeroAfterSec is 0)' },
      ]);
      const minTwo: DecisionPolicy = { ...POLICY, scaler: { ...POLICY.scaler, minReplicas: 2 } };
      expect(fields(decisionIssues(minTwo, decision(gpt2(3), 'in', '1g.5gb', 1), gpt2(3), gpusOf()))).to.deep.equal(['data.target.replicas']);
      // A cold start gives one replica whatever minReplicas says: the policy scales it out from there.
      expect(decisionIssues(minTwo, decision(gpt2(0), 'cold-start', '1g.5gb', 1), gpt2(0), gpusOf())).to.deep.equal([]);
    });

    it('judges growing and shrinking from what the service holds: outside the bounds after a configuration change, it may move back in', () => {
      expect(decisionIssues(POLICY, decision(gpt2(6), 'in', '1g.5gb', 5), gpt2(6), gpusOf()), '6 → 5 with maxReplicas 4').to.deep.equal([]);
      expect(decisionIssues(POLICY, decision(gpt2(6), 'up', '2g.10gb', 6), gpt2(6), gpusOf()), 'a tier change keeping 6').to.deep.equal([]);
      expect(replicaBoundsProblem(POLICY.scaler, 6, 7)).to.equal('7 replicas is above scaler.maxReplicas 4');
      expect(replicaBoundsProblem({ ...POLICY.scaler, minReplicas: 3 }, 1, 2), 'growing towards minReplicas').to.equal(null);
    });

    it('refuses a model not in the catalog, not the service’s, or under another service name', () => {
      expect(decisionIssues(POLICY, decision(gpt2(1), 'out', '1g.5gb', 2, { modelId: 'acme/unknown-model' }), gpt2(1), gpusOf())).to.deep.include({ field: 'data.modelId', message: 'acme/unknown-model is not in the model catalog' });
      expect(decisionIssues(POLICY, decision(gpt2(1), 'out', '1g.5gb', 2, { modelId: MODELS.llama1b }), gpt2(1), gpusOf())).to.deep.include({ field: 'data.modelId', message: `service gpt2 serves ${MODELS.gpt2}, not ${MODELS.llama1b}` });
      const misnamed = { ...gpt2(1), name: 'gpt2b' };
      expect(decisionIssues(POLICY, decision(misnamed, 'out', '1g.5gb', 2), misnamed, gpusOf())).to.deep.equal([{ field: 'data.service', message: `the service of ${MODELS.gpt2} is gpt2` }]);
    });

    it('tells a stale decision (ignored by the caller) from one of a generation not reached (refused), and refuses while another rolls out', () => {
      expect(isStaleDecision({ fromGeneration: 0 }, gpt2(1))).to.equal(true);
      expect(isStaleDecision({ fromGeneration: 1 }, gpt2(1))).to.equal(false);
      expect(fields(decisionIssues(POLICY, decision(gpt2(1), 'out', '1g.5gb', 2, { fromGeneration: 7 }), gpt2(1), gpusOf()))).to.deep.equal(['data.fromGeneration']);
      const rolling = gpt2(1, '1g.5gb', { rollout: 'gpt2-g0-up' });
      expect(decisionIssues(POLICY, decision(rolling, 'out', '1g.5gb', 2), rolling, gpusOf())).to.deep.equal([
        { field: 'data.service', message: 'decision gpt2-g0-up is still rolling out on gpt2; one decision at a time' },
      ]);
    });

    it('refuses a GPU model it does not know or the cluster lacks, a profile the GPU model lacks, one the model does not fit', () => {
      const at = (gpuModel: string, profile: string, gpus = gpusOf()): string[] => decisionIssues(POLICY, { ...decision(gpt2(1), 'up', profile, 1), target: { profile, gpuModel, replicas: 1 } }, gpt2(1), gpus).map((i) => `${i.field}: ${i.message}`);
      expect(at('Z9000', '1g.5gb')).to.deep.equal(['data.target.gpuModel: unknown GPU model Z9000']);
      expect(at(H100, '2g.20gb')).to.deep.equal([`data.target.gpuModel: the cluster has no ${H100} GPU`]);
      expect(at(A100, '2g.20gb')).to.deep.equal([`data.target.profile: ${A100} has no profile 2g.20gb`]);
      expect(at('A30-24GB', '2g.12gb', gpusOf('A30-24GB'))).to.deep.equal([`data.target.gpuModel: the catalog has no performance data of ${MODELS.gpt2} on A30-24GB`]);
      const granite = { ...gpt2(0), name: 'granite13binstructv2', modelId: MODELS.granite };
      expect(decisionIssues(POLICY, decision(granite, 'cold-start', '3g.20gb', 1), granite, gpusOf())).to.deep.equal([
        { field: 'data.target.profile', message: `${MODELS.granite} does not fit 3g.20gb on ${A100}` },
      ]);
    });

    it('refuses an action that is not what current → target is', () => {
      const issue = (s: ServiceView, action: DecisionToCheck['action'], profile: string, replicas: number): string[] => fields(decisionIssues(POLICY, decision(s, action, profile, replicas), s, gpusOf()));
      expect(issue(gpt2(1), 'cold-start', '1g.5gb', 1), 'a cold start of a service with replicas').to.deep.equal(['data.action']);
      expect(issue(gpt2(0), 'out', '1g.5gb', 1), 'a scale out of a service at zero').to.deep.equal(['data.action']);
      expect(issue(gpt2(0), 'up', '2g.10gb', 1), 'a tier change of a service at zero').to.deep.equal(['data.action']);
      expect(issue(gpt2(1), 'out', '2g.10gb', 2), 'a scale out onto another tier').to.deep.equal(['data.target.profile']);
      expect(issue(gpt2(2), 'out', '1g.5gb', 2), 'a scale out that adds nothing').to.deep.equal(['data.target.replicas']);
      expect(issue(gpt2(2), 'in', '1g.5gb', 3), 'a scale in that adds').to.deep.equal(['data.target.replicas']);
      expect(issue(gpt2(1), 'up', '1g.5gb', 1), 'a tier change to the same tier').to.deep.equal(['data.target.profile']);
      expect(issue(gpt2(1), 'down', '2g.10gb', 0), 'a tier change to no replica').to.deep.equal(['data.target.replicas', 'data.target.replicas']);
    });
  });

  describe('slice-reconfigured', () => {
    /** gpt2 at generation 2 in the rollout of a scale out from 1 to 2 on gpt2-00001 (the new slice made, owned by the replica-to-be). */
    const rolling = (): ServiceView => ({ ...gpt2(1), generation: 2, rollout: 'gpt2-g1-out-1g.5gbx2' });
    const gpus = (): GpuState[] => [{
      node: 'node-a', index: 0, model: A100, migEnabled: true,
      instances: [{ id: 's0', profile: '1g.5gb', start: 6, owner: 'gpt2-00001-1' }, { id: 's1', profile: '1g.5gb', start: 5, owner: 'gpt2-00001-2' }],
    }];
    const out = (o: Partial<RolloutToCheck> = {}): RolloutToCheck => ({
      modelId: MODELS.gpt2, fromGeneration: 1, revision: 'gpt2-00001', profile: '1g.5gb', gpuModel: A100, replicas: 2,
      slices: [{ node: 'node-a', gpu: 0, gpuModel: A100, profile: '1g.5gb', sliceId: 's1', replica: 'gpt2-00001-2', action: 'created' }], ...o,
    });

    it('accepts a rollout its decision may make, also when it is delivered again after its replica started', () => {
      expect(rolloutIssues(POLICY, out(), rolling(), gpus())).to.deep.equal([]);
      const started = rolling();
      const revision = started.revisions[0]!;
      const again: ServiceView = { ...started, revisions: [{ ...revision, replicas: [...revision.replicas, { ...revision.replicas[0]!, id: 'gpt2-00001-2', sliceId: 's1' }] }] };
      expect(rolloutIssues(POLICY, out(), again, gpus())).to.deep.equal([]);
    });

    it('refuses replicas above the bounds, and a count its slices do not give', () => {
      expect(rolloutIssues(POLICY, out({ replicas: 14 }), rolling(), gpus())).to.deep.equal([
        { field: 'data.replicas', message: '14 replicas announced, but its slices leave gpt2-00001 with 2' },
        { field: 'data.replicas', message: '14 replicas is above scaler.maxReplicas 4' },
      ]);
      expect(fields(rolloutIssues(POLICY, out({ replicas: 1 }), rolling(), gpus()))).to.deep.equal(['data.replicas']);
    });

    it('refuses another model, another generation, an unknown revision or one on another partition', () => {
      expect(fields(rolloutIssues(POLICY, out({ modelId: MODELS.llama1b }), rolling(), gpus()))).to.deep.equal(['data.modelId']);
      expect(fields(rolloutIssues(POLICY, out({ fromGeneration: 0 }), rolling(), gpus()))).to.deep.equal(['data.fromGeneration']);
      expect(fields(rolloutIssues(POLICY, out({ revision: 'gpt2-00009' }), rolling(), gpus()))).to.deep.equal(['data.revision']);
      expect(fields(rolloutIssues(POLICY, out({ profile: '2g.10gb' }), rolling(), gpus()))).to.deep.equal(['data.profile']);
    });

    it('refuses slices that are no instance of the partition, or held by another replica, and releases of another revision’s replicas', () => {
      const slice = out().slices[0]!;
      expect(fields(rolloutIssues(POLICY, out({ slices: [{ ...slice, sliceId: 'nowhere' }] }), rolling(), gpus()))).to.deep.equal(['data.slices[0].sliceId']);
      expect(fields(rolloutIssues(POLICY, out({ slices: [{ ...slice, sliceId: 's0' }] }), rolling(), gpus()))).to.deep.equal(['data.slices[0].sliceId']);
      const tierChange: ServiceView = { ...rolling(), revisions: [...rolling().revisions, { name: 'gpt2-00002', profile: '2g.10gb', gpuModel: A100, decisionId: 'gpt2-g1-up-2g.10gbx1', replicas: [] }] };
      const release = { node: 'node-a', gpu: 0, gpuModel: A100, profile: '1g.5gb', sliceId: 's0', replica: 'gpt2-00001-1', action: 'release' };
      const issues = rolloutIssues(POLICY, { ...out(), revision: 'gpt2-00002', profile: '2g.10gb', replicas: 0, slices: [release] }, tierChange, gpus());
      expect(fields(issues)).to.include('data.slices[0].replica');
    });
  });
});
