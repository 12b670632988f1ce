/**
 * The SSIS reference autoscaler's tier ladder (notes/ssis.md §5.2), as a pure reducer, with the
 * gaps of §10 fixed:
 * - every configured metric counts: any metric above slo×scaleUpFactor asks for more capacity;
 *   less capacity only when every metric with data is below slo×scaleDownFactor, or the service
 *   is idle (the reference's NaN rule), so the result no longer depends on map order;
 * - scale OUT (one more replica on the same tier) at the top tier or when no larger tier can be
 *   placed; scale IN (one fewer replica) before stepping a tier down when over-provisioned;
 * - a stabilization window: scale down/in only after the down condition held for the whole
 *   window (HPA's scale-down stabilization), and a cooldown after each change before the next
 *   scale up, so a new revision's metrics settle before they are judged (no flapping);
 * - one decision in flight per service; a tier that failed placement is backed off for a while.
 * The policy driver (core/scaling/policy-driver) keeps one LadderMemory per service and feeds it every sample.
 */
import type { ScaleAction, ScaleTarget } from './scale-target';
import type { ServiceSample } from './service-sample';

export interface MetricRule {
  readonly name: string;
  readonly query: string;
  readonly slo: number;
  readonly scaleUpFactor: number;
  readonly scaleDownFactor: number;
}

export interface LadderSettings {
  readonly rules: readonly MetricRule[];
  /** Tiers this model can run on, smallest first (e.g. 1g.5gb … 7g.40gb, gpu). */
  readonly tiers: readonly string[];
  readonly minReplicas: number;
  readonly maxReplicas: number;
  readonly stabilizationWindowMs: number;
  readonly upCooldownMs: number;
  readonly pendingTimeoutMs: number;
  readonly placementBackoffMs: number;
  /** Idle time at the bottom of the ladder after which the service goes to zero; 0 = never. */
  readonly scaleToZeroAfterMs: number;
}

export interface LadderMemory {
  readonly downSinceMs: number | null;
  readonly idleSinceMs: number | null;
  readonly lastChangeMs: number | null;
  readonly pending: { readonly decisionId: string; readonly fromGeneration: number; readonly sinceMs: number } | null;
  /** profile → time until which it is not tried again. */
  readonly backoffUntilMs: Readonly<Record<string, number>>;
}

export const EMPTY_MEMORY: LadderMemory = { downSinceMs: null, idleSinceMs: null, lastChangeMs: null, pending: null, backoffUntilMs: {} };

export type Vote = 'up' | 'down' | 'hold' | 'absent';

export interface RuleVote {
  readonly name: string;
  readonly value: number | null;
  readonly vote: Vote;
}

export interface LadderDecision {
  readonly action: ScaleAction;
  /** The ladder stays on the service's GPU model: the caller adds it. */
  readonly target: Pick<ScaleTarget, 'profile' | 'replicas'>;
  readonly reason: string;
}

export interface LadderStep {
  readonly memory: LadderMemory;
  readonly decision: LadderDecision | null;
  readonly votes: readonly RuleVote[];
  /** Why nothing was decided, for logs and the what-if report. */
  readonly note: string;
}

export function voteOf(rule: MetricRule, value: number | null): Vote {
  if (value === null || Number.isNaN(value)) return 'absent';
  if (value > rule.slo * rule.scaleUpFactor) return 'up';
  if (value < rule.slo * rule.scaleDownFactor) return 'down';
  return 'hold';
}

export function isIdle(s: ServiceSample): boolean {
  return s.load.arrivalRatePerSec === 0 && s.load.requestsRunning === 0 && s.load.requestsWaiting === 0;
}

export function ladderStep(settings: LadderSettings, memory: LadderMemory, s: ServiceSample, nowMs: number): LadderStep {
  const votes = settings.rules.map((rule): RuleVote => {
    const value = s.metrics.find((m) => m.name === rule.name)?.value ?? null;
    return { name: rule.name, value, vote: voteOf(rule, value) };
  });
  const idle = isIdle(s);
  let mem: LadderMemory = { ...memory, idleSinceMs: idle ? (memory.idleSinceMs ?? nowMs) : null };

  const gate = settlePending(mem, s, nowMs, settings.pendingTimeoutMs);
  mem = gate.memory;
  if (gate.waitingFor !== null) return { memory: mem, decision: null, votes, note: `waiting for decision ${gate.waitingFor}` };
  if (s.rolloutInProgress) return { memory: { ...mem, downSinceMs: null }, decision: null, votes, note: 'rollout in progress' };
  if (s.profile === null || s.replicas === 0) return { memory: mem, decision: null, votes, note: 'no replicas (cold start is the ingress’s)' };

  const anyUp = votes.some((v) => v.vote === 'up');
  const present = votes.filter((v) => v.vote !== 'absent');
  const allDown = present.length > 0 && present.every((v) => v.vote === 'down');

  if (anyUp) {
    mem = { ...mem, downSinceMs: null };
    if (mem.lastChangeMs !== null && nowMs - mem.lastChangeMs < settings.upCooldownMs) {
      return { memory: mem, decision: null, votes, note: 'cooling down after the last change' };
    }
    const why = votes.filter((v) => v.vote === 'up').map((v) => `${v.name}=${fmt(v.value)}`).join(', ');
    const placeable = (p: string): boolean => s.placeableProfiles.includes(p) && (mem.backoffUntilMs[p] ?? 0) <= nowMs;
    const larger = settings.tiers.slice(settings.tiers.indexOf(s.profile) + 1);
    const up = larger.find(placeable);
    if (up !== undefined) {
      return decide(mem, votes, { action: 'up', target: { profile: up, replicas: s.replicas }, reason: `above SLO (${why}): ${s.profile} → ${up}` });
    }
    if (s.replicas < settings.maxReplicas && placeable(s.profile)) {
      const where = larger.length === 0 ? 'top tier' : 'no larger tier placeable';
      return decide(mem, votes, { action: 'out', target: { profile: s.profile, replicas: s.replicas + 1 }, reason: `above SLO (${why}), ${where}: ${s.replicas} → ${s.replicas + 1} replicas` });
    }
    return { memory: mem, decision: null, votes, note: `above SLO (${why}) but no capacity: no larger tier and no room for another ${s.profile} replica (max ${settings.maxReplicas})` };
  }

  if (!(allDown || idle)) return { memory: { ...mem, downSinceMs: null }, decision: null, votes, note: 'within SLO band' };

  const downSince = mem.downSinceMs ?? nowMs;
  mem = { ...mem, downSinceMs: downSince };
  if (nowMs - downSince < settings.stabilizationWindowMs) {
    return { memory: mem, decision: null, votes, note: `below SLO band for ${Math.round((nowMs - downSince) / 1000)}s, stabilizing` };
  }
  const why = idle ? 'idle' : `below SLO band (${present.map((v) => `${v.name}=${fmt(v.value)}`).join(', ')})`;
  if (s.replicas > settings.minReplicas) {
    return decide(mem, votes, { action: 'in', target: { profile: s.profile, replicas: s.replicas - 1 }, reason: `${why}: ${s.replicas} → ${s.replicas - 1} replicas` });
  }
  const index = settings.tiers.indexOf(s.profile);
  const smaller = index > 0 ? settings.tiers.slice(0, index).reverse().find((p) => s.placeableProfiles.includes(p)) : undefined;
  if (smaller !== undefined) {
    return decide(mem, votes, { action: 'down', target: { profile: smaller, replicas: s.replicas }, reason: `${why}: ${s.profile} → ${smaller}` });
  }
  if (settings.scaleToZeroAfterMs > 0 && idle && mem.idleSinceMs !== null && nowMs - mem.idleSinceMs >= settings.scaleToZeroAfterMs) {
    return decide(mem, votes, { action: 'in', target: { profile: s.profile, replicas: 0 }, reason: `idle for ${Math.round((nowMs - mem.idleSinceMs) / 1000)}s at the bottom tier: scale to zero` });
  }
  return { memory: mem, decision: null, votes, note: `${why}, already at the smallest allocation` };
}

/**
 * A decision is in flight until the service's generation moves past the one it was made from (or it
 * expires). Shared by every policy: one decision in flight per service.
 */
export function settlePending(memory: LadderMemory, s: ServiceSample, nowMs: number, pendingTimeoutMs: number): { memory: LadderMemory; waitingFor: string | null } {
  if (!memory.pending) return { memory, waitingFor: null };
  const applied = s.generation > memory.pending.fromGeneration && !s.rolloutInProgress;
  const expired = nowMs - memory.pending.sinceMs >= pendingTimeoutMs;
  // lastChangeMs stays: rollout-completed sets it when it arrives; else the decision time counts.
  if (applied || expired) return { memory: { ...memory, pending: null }, waitingFor: null };
  return { memory, waitingFor: memory.pending.decisionId };
}

/** Feeds the outcome of a decision back: a failed placement backs that tier off. */
export function ladderOnPlacementFailed(settings: LadderSettings, memory: LadderMemory, decisionId: string, profile: string, nowMs: number): LadderMemory {
  const pending = memory.pending?.decisionId === decisionId ? null : memory.pending;
  return { ...memory, pending, backoffUntilMs: { ...memory.backoffUntilMs, [profile]: nowMs + settings.placementBackoffMs } };
}

export function ladderOnDecision(memory: LadderMemory, decisionId: string, fromGeneration: number, nowMs: number): LadderMemory {
  return { ...memory, pending: { decisionId, fromGeneration, sinceMs: nowMs }, lastChangeMs: nowMs, downSinceMs: null };
}

export function ladderOnRolloutCompleted(memory: LadderMemory, decisionId: string, nowMs: number): LadderMemory {
  if (memory.pending?.decisionId !== decisionId) return { ...memory, lastChangeMs: nowMs };
  return { ...memory, pending: null, lastChangeMs: nowMs, downSinceMs: null };
}

function decide(mem: LadderMemory, votes: readonly RuleVote[], decision: LadderDecision): LadderStep {
  // The caller names the decision and records it with ladderOnDecision.
  return { memory: { ...mem, downSinceMs: null }, decision, votes, note: decision.reason };
}

function fmt(v: number | null): string {
  if (v === null) return 'none';
  return Math.abs(v) >= 100 || v === 0 ? String(Math.round(v * 100) / 100) : v.toPrecision(3);
}
