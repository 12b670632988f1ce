/**
 * The SSIS record of a model service, kept as a ConfigMap in the models namespace: its
 * generation (the decision counter that makes a duplicate or stale scale-decided a no-op), the
 * decision whose rollout is under way, its condition, its SSIS revisions (tier, GPU model, batch
 * size) and their traffic. A ConfigMap because the record must exist before the Knative Service
 * does (a cold start is decided before any replica runs) and must be written with optimistic
 * concurrency: two reconfigure instances accepting the same decision must not both win.
 */
import type { V1ConfigMap } from '@kubernetes/client-node';
import type { ServiceCondition, TrafficTarget } from '../../core/ports/cluster';
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE, MODEL_SERVICE_LABEL, RECORD_KEYS, serviceRecordName } from './contract';

export interface RevisionRecord {
  readonly name: string;
  readonly profile: string;
  readonly gpuModel: string;
  readonly decisionId: string;
  readonly maxBatchSize?: number;
}

export interface ServiceRecord {
  readonly name: string;
  readonly modelId: string;
  readonly generation: number;
  readonly rollout: string | null;
  readonly condition: ServiceCondition;
  readonly revisions: readonly RevisionRecord[];
  readonly traffic: readonly TrafficTarget[];
}

export const NO_CAPACITY: ServiceCondition = { ready: false, reason: 'NoCapacity', message: 'no replica yet' };

function parseJson<T>(raw: string | undefined, fallback: T): T {
  if (raw === undefined || raw === '') return fallback;
  try {
    return JSON.parse(raw) as T;
  } catch {
    return fallback; // a record edited by hand into invalid JSON reads as empty rather than crashing every handler
  }
}

export function recordFromConfigMap(cm: V1ConfigMap): ServiceRecord | null {
  const name = cm.metadata?.labels?.[MODEL_SERVICE_LABEL];
  const data = cm.data ?? {};
  const modelId = data[RECORD_KEYS.modelId];
  if (name === undefined || modelId === undefined) return null;
  const rollout = data[RECORD_KEYS.rollout];
  const generation = Number(data[RECORD_KEYS.generation] ?? '0');
  return {
    name,
    modelId,
    generation: Number.isInteger(generation) && generation >= 0 ? generation : 0,
    rollout: rollout === undefined || rollout === '' ? null : rollout,
    condition: parseJson(data[RECORD_KEYS.condition], NO_CAPACITY),
    revisions: parseJson<RevisionRecord[]>(data[RECORD_KEYS.revisions], []),
    traffic: parseJson<TrafficTarget[]>(data[RECORD_KEYS.traffic], []),
  };
}

/** The ConfigMap for `record`; `resourceVersion` makes a replace conditional on nobody having written since. */
export function configMapFromRecord(namespace: string, record: ServiceRecord, resourceVersion?: string): V1ConfigMap {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: serviceRecordName(record.name),
      namespace,
      labels: { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE, [MODEL_SERVICE_LABEL]: record.name },
      ...(resourceVersion === undefined ? {} : { resourceVersion }),
    },
    data: {
      [RECORD_KEYS.modelId]: record.modelId,
      [RECORD_KEYS.generation]: String(record.generation),
      [RECORD_KEYS.rollout]: record.rollout ?? '',
      [RECORD_KEYS.condition]: JSON.stringify(record.condition),
      [RECORD_KEYS.revisions]: JSON.stringify(record.revisions),
      [RECORD_KEYS.traffic]: JSON.stringify(record.traffic),
    },
  };
}
