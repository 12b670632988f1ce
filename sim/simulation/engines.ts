/**
 * The replicas' engines at work: routing requests to them, stepping them, and recording each
 * request's outcome (run-wide, per service, and in the service's sampling window).
 */
import type { EngineListener } from '../replica-engine';
import { EventKind, type Simulation } from './context';
import { releaseReplica } from './replicas';
import { isRoutable, type Replica, type ServiceRuntime } from './runtime';

/** Records first tokens and completions as the engines report them, then frees the request's slot. */
export function completionListener(sim: Simulation): EngineListener {
  const { services, requests: table, accounting } = sim;
  return {
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
      accounting.jct.push(jctMs);
      accounting.ttft.push(ttftMs);
      accounting.tpot.push(tpotMs);
      const okT = ttftMs <= s.spec.slo.ttftMs;
      const okI = tpotMs <= s.spec.slo.itlMs;
      if (okT) accounting.ttftOk++;
      if (okI) accounting.itlOk++;
      if (okT && okI) accounting.bothOk++;
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
      accounting.completed++;
      accounting.lastCompletionMs = atMs;
      table.release(slot);
    },
  };
}

/** Starts the replica's next engine step; an idle draining replica is released instead. */
export function startStep(sim: Simulation, r: Replica, t: number): void {
  const ms = r.engine.startStep(t);
  if (ms < 0) {
    sim.accounting.setBusy(r, false);
    if (r.phase === 'draining') releaseReplica(sim, r, t);
    return;
  }
  sim.accounting.setBusy(r, true);
  sim.accounting.steps++;
  sim.queue.push(t + ms, EventKind.stepEnd, r.id);
}

/** Ends the step in progress (adding its inter-token latencies to the service's window) and starts the next. */
export function endStep(sim: Simulation, r: Replica, t: number, listener: EngineListener): void {
  const w = r.service.w;
  const itlSum = r.engine.itlSumMs;
  const itlCount = r.engine.itlCount;
  r.engine.finishStep(listener);
  w.itlSumMs += r.engine.itlSumMs - itlSum;
  w.itlCount += r.engine.itlCount - itlCount;
  startStep(sim, r, t);
}

/** Join the shortest queue among the service's routable replicas; hold the request when there is none. */
export function route(sim: Simulation, s: ServiceRuntime, slot: number, t: number): void {
  let best: Replica | null = null;
  let bestLoad = Infinity;
  for (const r of s.replicas) {
    if (!isRoutable(r)) continue;
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
  if (!best.engine.stepping) startStep(sim, best, t);
}

/** Routes the requests held for want of a routable replica, once there is one. */
export function routePending(sim: Simulation, s: ServiceRuntime, t: number): void {
  if (!s.replicas.some(isRoutable)) return;
  while (s.pendingHead < s.pending.length) route(sim, s, s.pending[s.pendingHead++]!, t);
  s.pending.length = 0;
  s.pendingHead = 0;
}
