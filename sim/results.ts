/** What one run (one policy on one scenario) reports. Times in ms unless the name says otherwise. */
import type { Distribution } from './stats';
import type { PolicyId } from './policies/port';

export interface ServiceResult {
  readonly service: string;
  readonly model: string;
  readonly requests: number;
  readonly completed: number;
  readonly jctMeanMs: number;
  readonly ttftAttainment: number;
  readonly itlAttainment: number;
  readonly gpuSeconds: number;
}

export interface TimeSeries {
  readonly tSec: readonly number[];
  /** Arrivals per second in each interval, per service (scenario order). */
  readonly arrivalsPerSec: readonly (readonly number[])[];
  /** GPUs held (slice fractions summed), per service. */
  readonly allocatedGpus: readonly (readonly number[])[];
  /** Requests waiting for a batch slot, all services. */
  readonly queued: readonly number[];
}

export interface RunResult {
  readonly scenario: string;
  readonly policy: PolicyId;
  readonly title: string;
  readonly seed: number;
  readonly placement: string;
  readonly requests: number;
  readonly completed: number;
  readonly unfinished: number;
  /** Requests whose tokens were cut to the model's context length. */
  readonly truncated: number;
  readonly jct: Distribution;
  readonly ttft: Distribution;
  /** Mean time per output token of each request. */
  readonly tpot: Distribution;
  readonly makespanSec: number;
  readonly throughputPerSec: number;
  readonly ttftAttainment: number;
  readonly itlAttainment: number;
  /** Both SLOs met by the same request. */
  readonly sloAttainment: number;
  /** Σ slice fraction × time held (a 3g slice of a 7-slice GPU counts 3/7). */
  readonly gpuSeconds: number;
  /** Time × GPUs with at least one slice in use (what a whole-GPU bill would count). */
  readonly occupiedGpuSeconds: number;
  readonly clusterGpuSeconds: number;
  /** Capacity not serving (free slices and idle replicas) while some request waited, over cluster GPU time. */
  readonly idleWhileQueuedFraction: number;
  /** Only the allocated part: replicas idle while requests (of any service) waited. */
  readonly allocatedIdleWhileQueuedFraction: number;
  readonly reconfigurations: number;
  readonly replicaMoves: number;
  readonly replicasStarted: number;
  readonly decisions: number;
  readonly placementFailures: number;
  readonly perService: readonly ServiceResult[];
  readonly series: TimeSeries;
  /** 201 evenly spaced JCT quantiles (ms), for the distribution plot. */
  readonly jctQuantilesMs: readonly number[];
  readonly events: number;
  readonly steps: number;
  /** Wall time of the run; not part of the deterministic outcome. */
  readonly wallMs: number;
}
