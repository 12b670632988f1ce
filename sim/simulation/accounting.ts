/**
 * Run-wide accounting: the time-weighted capacity integrals (GPU-seconds allocated and occupied,
 * capacity idle while requests queue), the per-request outcome columns and the event counters
 * that the run's result reports.
 */
import type { SimCluster } from '../cluster';
import type { RequestTable } from '../request-table';
import { GrowableColumn } from '../stats';
import type { Replica, ServiceRuntime } from './runtime';

export class RunAccounting {
  /** GPUs held by replicas now (slice fractions summed). */
  private allocatedFraction = 0;
  /** Of those, the part loading or stepping. */
  private busyFraction = 0;
  /** Virtual time the integrals have been advanced to. */
  lastMs = 0;
  gpuSeconds = 0;
  occupiedGpuSeconds = 0;
  idleWhileQueuedSec = 0;
  allocatedIdleWhileQueuedSec = 0;

  arrivals = 0;
  completed = 0;
  truncated = 0;
  firstArrivalMs = Infinity;
  lastCompletionMs = 0;
  reconfigurations = 0;
  replicaMoves = 0;
  replicasStarted = 0;
  decisions = 0;
  placementFailures = 0;
  steps = 0;
  events = 0;

  readonly jct = new GrowableColumn();
  readonly ttft = new GrowableColumn();
  readonly tpot = new GrowableColumn();
  ttftOk = 0;
  itlOk = 0;
  bothOk = 0;

  constructor(private readonly cluster: SimCluster, private readonly requests: RequestTable) {}

  /** Integrates the time-weighted quantities up to `t` (called before every event). */
  advance(t: number): void {
    const dt = (t - this.lastMs) / 1000;
    if (dt <= 0) return;
    this.gpuSeconds += dt * this.allocatedFraction;
    this.occupiedGpuSeconds += dt * this.cluster.occupiedGpus;
    if (this.arrivals - this.requests.admitted > 0) {
      this.idleWhileQueuedSec += dt * (this.cluster.size - this.busyFraction);
      this.allocatedIdleWhileQueuedSec += dt * Math.max(0, this.allocatedFraction - this.busyFraction);
    }
    this.lastMs = t;
  }

  /** Changes what the service holds by `delta` GPUs at `t`, settling its GPU-seconds so far. */
  setServiceAllocation(s: ServiceRuntime, delta: number, t: number): void {
    s.gpuSeconds += ((t - s.allocSinceMs) / 1000) * s.allocated;
    s.allocSinceMs = t;
    s.allocated += delta;
    this.allocatedFraction += delta;
  }

  setBusy(r: Replica, busy: boolean): void {
    if (r.busy === busy) return;
    r.busy = busy;
    this.busyFraction += busy ? r.fraction : -r.fraction;
  }
}
