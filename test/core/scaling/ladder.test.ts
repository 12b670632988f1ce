import { expect } from 'chai';
import {
  EMPTY_MEMORY, ladderOnDecision, ladderOnPlacementFailed, ladderOnRolloutCompleted, ladderStep, voteOf, type LadderMemory, type LadderSettings,
} from '../../../core/scaling/ladder';
import type { ServiceSample } from '../../../core/scaling/service-sample';

const TIERS = ['1g.5gb', '2g.10gb', '3g.20gb', '4g.20gb', '7g.40gb', 'gpu'];
const settings: LadderSettings = {
  rules: [
    { name: 'tpot', query: 'q1', slo: 0.012, scaleUpFactor: 1.3333, scaleDownFactor: 0.6667 },
    { name: 'waiting', query: 'q2', slo: 8, scaleUpFactor: 1.5, scaleDownFactor: 0.5 },
  ],
  tiers: TIERS,
  minReplicas: 1,
  maxReplicas: 3,
  stabilizationWindowMs: 10_000,
  upCooldownMs: 5_000,
  pendingTimeoutMs: 60_000,
  placementBackoffMs: 30_000,
  scaleToZeroAfterMs: 0,
};

function sample(over: Partial<ServiceSample> & { tpot?: number | null; waiting?: number | null; rate?: number } = {}): ServiceSample {
  const { tpot = 0.01, waiting = 0, rate = 5, ...rest } = over;
  return {
    service: 'gpt2', modelId: 'openai-community/gpt2', generation: 3, profile: '1g.5gb', gpuModel: 'A100-SXM4-40GB', replicas: 1, rolloutInProgress: false,
    metrics: [{ name: 'tpot', value: tpot }, { name: 'waiting', value: waiting }],
    load: { arrivalRatePerSec: rate, avgInputTokens: 6, avgOutputTokens: 20, requestsRunning: rate > 0 ? 3 : 0, requestsWaiting: waiting ?? 0, ttftMs: 10, itlMs: 10, kvCacheUsage: 0.1 },
    placeableProfiles: TIERS,
    ...rest,
  };
}

describe('core/scaling ladder (SSIS reference rule, gaps fixed)', () => {
  it('votes as the reference: up above slo×up, down below slo×down, absent for no data', () => {
    const rule = settings.rules[0]!;
    expect(voteOf(rule, 0.017)).to.equal('up');
    expect(voteOf(rule, 0.007)).to.equal('down');
    expect(voteOf(rule, 0.012)).to.equal('hold');
    expect(voteOf(rule, null)).to.equal('absent');
    expect(voteOf(rule, Number.NaN)).to.equal('absent');
  });

  const cases: { name: string; s: ServiceSample; memory?: LadderMemory; now?: number; action: string | null; target?: string; replicas?: number }[] = [
    { name: 'one metric above its bound moves one tier up', s: sample({ tpot: 0.02 }), action: 'up', target: '2g.10gb', replicas: 1 },
    { name: 'the second metric alone also moves up (every metric counts)', s: sample({ waiting: 20 }), action: 'up', target: '2g.10gb' },
    { name: 'a larger tier that cannot be placed is skipped', s: sample({ tpot: 0.02, placeableProfiles: ['1g.5gb', '3g.20gb'] }), action: 'up', target: '3g.20gb' },
    { name: 'at the top tier it scales out', s: sample({ tpot: 0.02, profile: 'gpu' }), action: 'out', target: 'gpu', replicas: 2 },
    { name: 'no larger tier placeable: scale out on the same tier', s: sample({ tpot: 0.02, placeableProfiles: ['1g.5gb'] }), action: 'out', target: '1g.5gb', replicas: 2 },
    { name: 'no room at all: no decision', s: sample({ tpot: 0.02, placeableProfiles: [], replicas: 3 }), action: null },
    { name: 'within the band: nothing', s: sample({ tpot: 0.012, waiting: 5 }), action: null },
    { name: 'mixed (one down, one hold): nothing', s: sample({ tpot: 0.005, waiting: 6 }), action: null },
    { name: 'down only after the stabilization window', s: sample({ tpot: 0.005, profile: '3g.20gb' }), action: null },
    {
      name: 'down once the window has passed', s: sample({ tpot: 0.005, profile: '3g.20gb' }), memory: { ...EMPTY_MEMORY, downSinceMs: 0 }, now: 10_000,
      action: 'down', target: '2g.10gb', replicas: 1,
    },
    {
      name: 'over-provisioned replicas scale in before the tier steps down', s: sample({ tpot: 0.005, profile: '3g.20gb', replicas: 2 }),
      memory: { ...EMPTY_MEMORY, downSinceMs: 0 }, now: 10_000, action: 'in', target: '3g.20gb', replicas: 1,
    },
    {
      name: 'idle (the reference NaN rule) steps down', s: sample({ tpot: null, waiting: 0, rate: 0, profile: '2g.10gb' }), memory: { ...EMPTY_MEMORY, downSinceMs: 0 }, now: 10_000,
      action: 'down', target: '1g.5gb',
    },
    { name: 'bottom tier, idle, no scale to zero: nothing', s: sample({ tpot: null, rate: 0 }), memory: { ...EMPTY_MEMORY, downSinceMs: 0 }, now: 10_000, action: null },
    { name: 'a rollout in progress blocks decisions', s: sample({ tpot: 0.05, rolloutInProgress: true }), action: null },
    { name: 'cooldown after a change blocks scale up', s: sample({ tpot: 0.05 }), memory: { ...EMPTY_MEMORY, lastChangeMs: 8_000 }, now: 10_000, action: null },
    { name: 'a backed-off tier is not tried', s: sample({ tpot: 0.05 }), memory: { ...EMPTY_MEMORY, backoffUntilMs: { '2g.10gb': 20_000 } }, now: 10_000, action: 'up', target: '3g.20gb' },
  ];
  for (const tc of cases) {
    it(tc.name, () => {
      const step = ladderStep(settings, tc.memory ?? EMPTY_MEMORY, tc.s, tc.now ?? 0);
      if (tc.action === null) {
        expect(step.decision, step.note).to.equal(null);
        return;
      }
      expect(step.decision?.action, step.note).to.equal(tc.action);
      if (tc.target) expect(step.decision?.target.profile).to.equal(tc.target);
      if (tc.replicas) expect(step.decision?.target.replicas).to.equal(tc.replicas);
    });
  }

  it('holds while its own decision is in flight, then resumes when the generation moves on', () => {
    const decided = ladderOnDecision(EMPTY_MEMORY, 'd1', 3, 0);
    expect(ladderStep(settings, decided, sample({ tpot: 0.05 }), 1_000).decision).to.equal(null);
    const applied = ladderStep(settings, decided, sample({ tpot: 0.05, generation: 4, profile: '2g.10gb' }), 20_000);
    expect(applied.memory.pending).to.equal(null);
    expect(applied.decision?.target.profile).to.equal('3g.20gb');
  });

  it('forgets an in-flight decision after the pending timeout', () => {
    const decided = ladderOnDecision(EMPTY_MEMORY, 'd1', 3, 0);
    expect(ladderStep(settings, decided, sample({ tpot: 0.05 }), 61_000).decision?.action).to.equal('up');
  });

  it('scales to zero after the idle time when configured', () => {
    const s = { ...settings, scaleToZeroAfterMs: 30_000 };
    const idle = sample({ tpot: null, rate: 0 });
    const first = ladderStep(s, EMPTY_MEMORY, idle, 0);
    const later = ladderStep(s, first.memory, idle, 31_000);
    expect(later.decision?.action).to.equal('in');
    expect(later.decision?.target.replicas).to.equal(0);
  });

  it('backs a tier off after a failed placement and clears the pending decision', () => {
    const decided = ladderOnDecision(EMPTY_MEMORY, 'd1', 3, 0);
    const m = ladderOnPlacementFailed(settings, decided, 'd1', '2g.10gb', 1_000);
    expect(m.pending).to.equal(null);
    expect(m.backoffUntilMs['2g.10gb']).to.equal(31_000);
  });

  it('starts the cooldown when the rollout completes', () => {
    const m = ladderOnRolloutCompleted(ladderOnDecision(EMPTY_MEMORY, 'd1', 3, 0), 'd1', 4_000);
    expect(m.pending).to.equal(null);
    expect(ladderStep(settings, m, sample({ tpot: 0.05, generation: 4 }), 6_000).decision).to.equal(null);
    expect(ladderStep(settings, m, sample({ tpot: 0.05, generation: 4 }), 9_001).decision?.action).to.equal('up');
  });
});
