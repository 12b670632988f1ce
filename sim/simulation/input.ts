/** What one run of the simulator takes: a scenario, the SSIS configuration, and the policy to run it under. */
import type { ModelCatalog } from '../../core/catalog/model-catalog';
import type { AutoscalerConfig } from '../../core/config/autoscaler-config';
import type { SsisConfig } from '../../core/config/ssis-config';
import type { PlacementPort } from '../placement';
import type { SimPolicy } from '../policies/port';
import type { AzureTraceName, Scenario } from '../scenario';
import type { AzureTrace } from '../workload/azure-trace';

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
