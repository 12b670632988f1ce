/**
 * Runs a scenario under several configurations on the same workload and cluster: the policy
 * factory per configuration (./policies/ids names them), the placement each uses, and the
 * scenario's overrides of the SSIS settings.
 */
import type { ModelCatalog } from '../core/catalog/model-catalog';
import type { AutoscalerConfig } from '../core/config/autoscaler-config';
import type { SsisConfig } from '../core/config/ssis-config';
import { SsisError } from '../core/errors';
import { firstFitPlacement, type PlacementPort } from './placement';
import { plannerPlacement } from './planner-placement';
import { hpaQueuePolicy } from './policies/hpa-queue';
import { POLICY_IDS, policyIdFor } from './policies/ids';
import type { PolicyId, SimPolicy } from './policies/port';
import { ssisFullPolicy } from './policies/ssis-full';
import { ladderPolicy } from './policies/ssis-ladder';
import { staticGpuPolicy } from './policies/static-gpu';
import { staticMigPolicy } from './policies/static-mig';
import type { RunResult } from './results';
import type { AzureTraceName, Scenario } from './scenario';
import { simulate } from './simulator';
import type { AzureTrace } from './workload/azure-trace';

export { POLICY_IDS, POLICY_LABELS } from './policies/ids';

export const POLICY_TITLES: Readonly<Record<PolicyId, string>> = {
  'static-gpu': 'full GPU per model, static',
  'hpa-queue': 'HPA on queue length, whole GPUs',
  'static-mig': 'static MIG partition',
  'ssis-ladder': 'SSIS tier ladder',
  'ssis-full': 'SSIS full: optimizer + MIG placement',
};

/** `--policies`: configuration names or their report letters (`a,e` = `static-gpu,ssis-full`), each once, in the order given. */
export function parsePolicyList(list: string): PolicyId[] {
  const given = list.split(',').map((s) => s.trim()).filter((s) => s !== '');
  const bad = given.filter((name) => policyIdFor(name) === undefined);
  if (bad.length > 0 || given.length === 0) {
    throw new SsisError('SSIS_INVALID_CONFIG', `--policies: expected a comma-separated list of ${POLICY_IDS.join(', ')} (or their letters a–e), got "${list}"`, { issues: [{ field: '--policies', message: `unknown: ${bad.join(', ') || '(empty)'}` }] });
  }
  return [...new Set(given.map((name) => policyIdFor(name)!))];
}

export function buildPolicy(id: PolicyId, scenario: Scenario, config: SsisConfig): SimPolicy {
  switch (id) {
    case 'static-gpu': return staticGpuPolicy();
    case 'hpa-queue': return hpaQueuePolicy({ scenario, config });
    case 'static-mig': return staticMigPolicy();
    case 'ssis-ladder': return ladderPolicy(scenario.delays.metricIntervalSec);
    case 'ssis-full': return ssisFullPolicy(scenario.delays.metricIntervalSec);
  }
}

/** SSIS in full places with the MIG planner; the others with first-fit, what the reconfigure function uses. */
export function placementFor(id: PolicyId): PlacementPort {
  return id === 'ssis-full' ? plannerPlacement : firstFitPlacement;
}

/**
 * The shipped ssis-config with the scenario's policy settings applied through the real config fields: SSIS's
 * scale-down stabilization (for ssis-ladder and ssis-full; HPA's own window is policies.hpa), the optimizer's
 * headroom, and the scenario's maxReplicas, when given, in place of the ConfigMap's.
 */
export function effectiveConfig(config: SsisConfig, scenario: Scenario): SsisConfig {
  const maxReplicas = scenario.policies.maxReplicas;
  const ssis = scenario.policies.ssis;
  const scaler = { ...config.scaler, stabilizationWindowSec: ssis.scaleDownStabilizationSec };
  const optimizer = { ...config.optimizer, headroom: ssis.headroom };
  if (maxReplicas === null) return { ...config, scaler, optimizer };
  return { ...config, optimizer, scaler: { ...scaler, maxReplicas, minReplicas: Math.min(config.scaler.minReplicas, maxReplicas) } };
}

export interface ComparisonInput {
  readonly scenario: Scenario;
  readonly catalog: ModelCatalog;
  readonly config: SsisConfig;
  readonly autoscaler: AutoscalerConfig;
  readonly traces: Partial<Record<AzureTraceName, AzureTrace>>;
  readonly policies: readonly PolicyId[];
  readonly seed?: number;
  readonly onProgress?: (policy: PolicyId, fraction: number) => void;
  readonly wallClockMs?: () => number;
}

export function runComparison(input: ComparisonInput): RunResult[] {
  const config = effectiveConfig(input.config, input.scenario);
  return input.policies.map((id) => simulate({
    scenario: input.scenario,
    catalog: input.catalog,
    config,
    autoscaler: input.autoscaler,
    traces: input.traces,
    policy: buildPolicy(id, input.scenario, config),
    placement: placementFor(id),
    ...(input.seed === undefined ? {} : { seed: input.seed }),
    ...(input.onProgress ? { onProgress: (f: number) => input.onProgress!(id, f) } : {}),
    ...(input.wallClockMs ? { wallClockMs: input.wallClockMs } : {}),
  }));
}
