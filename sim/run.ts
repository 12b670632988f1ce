/**
 * Runs a scenario under several configurations on the same workload and cluster: the policy
 * factory (a)–(e), the placement each uses, and the scenario's overrides of the SSIS settings.
 */
import type { ModelCatalog } from '../core/catalog/model-catalog';
import type { AutoscalerConfig } from '../core/config/autoscaler-config';
import type { SsisConfig } from '../core/config/ssis-config';
import { SsisError } from '../core/errors';
import { firstFitPlacement, type PlacementPort } from './placement';
import { plannerPlacement } from './planner-placement';
import { hpaQueuePolicy } from './policies/hpa-queue';
import type { PolicyId, SimPolicy } from './policies/port';
import { ssisFullPolicy } from './policies/ssis-full';
import { ladderPolicy } from './policies/ssis-ladder';
import { staticGpuPolicy } from './policies/static-gpu';
import { staticMigPolicy } from './policies/static-mig';
import type { RunResult } from './results';
import type { AzureTraceName, Scenario } from './scenario';
import { simulate } from './simulator';
import type { AzureTrace } from './workload/azure-trace';

export const POLICY_IDS: readonly PolicyId[] = ['a', 'b', 'c', 'd', 'e'];

export const POLICY_TITLES: Readonly<Record<PolicyId, string>> = {
  a: 'full GPU per model, static',
  b: 'HPA on queue length, whole GPUs',
  c: 'static MIG partition',
  d: 'SSIS tier ladder',
  e: 'SSIS full: optimizer + MIG placement',
};

export function parsePolicyList(list: string): PolicyId[] {
  const ids = list.split(',').map((s) => s.trim()).filter((s) => s !== '');
  const bad = ids.filter((id) => !(POLICY_IDS as readonly string[]).includes(id));
  if (bad.length > 0 || ids.length === 0) {
    throw new SsisError('SSIS_INVALID_CONFIG', `--policies: expected a comma-separated list of ${POLICY_IDS.join(', ')}, got "${list}"`, { issues: [{ field: '--policies', message: `unknown: ${bad.join(', ') || '(empty)'}` }] });
  }
  return [...new Set(ids)] as PolicyId[];
}

export function buildPolicy(id: PolicyId, scenario: Scenario, config: SsisConfig): SimPolicy {
  switch (id) {
    case 'a': return staticGpuPolicy();
    case 'b': return hpaQueuePolicy({ scenario, config });
    case 'c': return staticMigPolicy();
    case 'd': return ladderPolicy(scenario.delays.metricIntervalSec);
    case 'e': return ssisFullPolicy(scenario.delays.metricIntervalSec);
  }
}

/** (e) places with the MIG planner; the baselines with first-fit, what the reconfigure function uses. */
export function placementFor(id: PolicyId): PlacementPort {
  return id === 'e' ? plannerPlacement : firstFitPlacement;
}

/** The SSIS settings a scenario runs with: its maxReplicas, when given, replaces the ConfigMap's. */
/**
 * The shipped ssis-config with the scenario's policy settings applied through the real config fields: SSIS's
 * scale-down stabilization (for (d) and (e); HPA's own window is policies.hpa) and the optimizer's headroom.
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
