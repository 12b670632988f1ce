/**
 * The simulated cluster's state on disk (`cluster-state.json` in the stack's state folder), so
 * that a restarted embedded stack finds its services, revisions, replicas, traffic and MIG layouts
 * where it left them. One JSON document, versioned; written whole to a temporary file and renamed
 * over the old one, so a reader (or a crash) never sees half a state.
 *
 * A file that cannot be used (not JSON, not this format or version, not valid, or made for other
 * GPUs) is moved aside with a warning and the cluster starts empty: a bad state file must never
 * keep the stack from starting.
 */
import Ajv from 'ajv';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from '../../core/common/ports';
import { validationError, type FieldIssue } from '../../core/errors';
import { assertValidCluster, gpuLabel, type GpuState } from '../../core/mig/layout';
import type { ReplicaPhase, ServiceCondition, TrafficTarget } from '../../core/ports/cluster';
import { schemaIssues, type JsonSchema } from '../../events/data-schema';

export const CLUSTER_STATE_FORMAT = 'ssis.simulated-cluster';
/** Bump on any change a reader of the old version would misread; older files are then set aside. */
export const CLUSTER_STATE_VERSION = 1;

export interface ReplicaState {
  readonly id: string;
  readonly sliceId: string;
  readonly node: string;
  readonly gpu: number;
  readonly phase: ReplicaPhase;
}

export interface RevisionState {
  readonly name: string;
  readonly profile: string;
  readonly gpuModel: string;
  readonly decisionId: string;
  readonly maxBatchSize?: number;
  readonly replicas: readonly ReplicaState[];
}

export interface ServiceState {
  readonly name: string;
  readonly modelId: string;
  /** Kept so that decision ids, which are made from it, never repeat across runs. */
  readonly generation: number;
  readonly condition: ServiceCondition;
  readonly rollout: string | null;
  readonly traffic: readonly TrafficTarget[];
  readonly revisions: readonly RevisionState[];
}

export interface ClusterState {
  readonly format: typeof CLUSTER_STATE_FORMAT;
  readonly version: typeof CLUSTER_STATE_VERSION;
  readonly savedAt: string;
  readonly namespace: string;
  readonly gpus: readonly GpuState[];
  readonly services: readonly ServiceState[];
}

const NAME = { type: 'string', minLength: 1, maxLength: 253 } as const;
const COUNT = { type: 'integer', minimum: 0 } as const;

const STATE_SCHEMA: JsonSchema = {
  type: 'object',
  required: ['format', 'version', 'savedAt', 'namespace', 'gpus', 'services'],
  additionalProperties: false,
  properties: {
    format: { const: CLUSTER_STATE_FORMAT },
    version: { const: CLUSTER_STATE_VERSION },
    savedAt: { type: 'string' },
    namespace: NAME,
    gpus: {
      type: 'array',
      items: {
        type: 'object',
        required: ['node', 'index', 'model', 'migEnabled', 'instances'],
        additionalProperties: false,
        properties: {
          node: NAME,
          index: COUNT,
          model: NAME,
          migEnabled: { type: 'boolean' },
          instances: {
            type: 'array',
            items: {
              type: 'object',
              required: ['id', 'profile', 'start', 'owner'],
              additionalProperties: false,
              properties: { id: NAME, profile: NAME, start: COUNT, owner: { type: ['string', 'null'] } },
            },
          },
        },
      },
    },
    services: {
      type: 'array',
      items: {
        type: 'object',
        required: ['name', 'modelId', 'generation', 'condition', 'rollout', 'traffic', 'revisions'],
        additionalProperties: false,
        properties: {
          name: NAME,
          modelId: NAME,
          generation: COUNT,
          condition: {
            type: 'object',
            required: ['ready', 'reason', 'message'],
            additionalProperties: false,
            properties: { ready: { type: 'boolean' }, reason: { type: 'string' }, message: { type: 'string' } },
          },
          rollout: { type: ['string', 'null'] },
          traffic: {
            type: 'array',
            items: {
              type: 'object',
              required: ['revision', 'percent'],
              additionalProperties: false,
              properties: { revision: NAME, percent: { type: 'integer', minimum: 0, maximum: 100 } },
            },
          },
          revisions: {
            type: 'array',
            items: {
              type: 'object',
              required: ['name', 'profile', 'gpuModel', 'decisionId', 'replicas'],
              additionalProperties: false,
              properties: {
                name: NAME,
                profile: NAME,
                gpuModel: NAME,
                decisionId: { type: 'string' },
                maxBatchSize: { type: 'integer', minimum: 1 },
                replicas: {
                  type: 'array',
                  items: {
                    type: 'object',
                    required: ['id', 'sliceId', 'node', 'gpu', 'phase'],
                    additionalProperties: false,
                    properties: { id: NAME, sliceId: NAME, node: NAME, gpu: COUNT, phase: { enum: ['starting', 'ready', 'draining'] } },
                  },
                },
              },
            },
          },
        },
      },
    },
  },
};

const validateShape = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true }).compile<ClusterState>(STATE_SCHEMA);

/**
 * Checks a parsed state file: its format and version first (a file of another version is not
 * read further), then its shape, then what a schema cannot say (names unique, traffic naming
 * revisions that exist and summing to 100, MIG layouts valid).
 * @throws {SsisError} SSIS_INVALID_CONFIG naming every problem
 */
export function parseClusterState(data: unknown): ClusterState {
  const head = typeof data === 'object' && data !== null ? (data as { format?: unknown; version?: unknown }) : {};
  if (head.format !== CLUSTER_STATE_FORMAT || head.version !== CLUSTER_STATE_VERSION) {
    throw validationError('SSIS_INVALID_CONFIG', 'cluster state file of another format or version', [
      { field: 'state.format', message: `must be ${CLUSTER_STATE_FORMAT} version ${CLUSTER_STATE_VERSION}, is ${JSON.stringify(head.format)} version ${JSON.stringify(head.version)}` },
    ]);
  }
  if (!validateShape(data)) throw validationError('SSIS_INVALID_CONFIG', 'invalid cluster state file', schemaIssues(validateShape.errors ?? [], data, 'state'));
  const issues: FieldIssue[] = [];
  const seen = new Set<string>();
  data.services.forEach((s, i) => {
    const at = `state.services[${i}]`;
    if (seen.has(s.name)) issues.push({ field: `${at}.name`, message: `service ${s.name} appears twice` });
    seen.add(s.name);
    const revisions = new Set(s.revisions.map((r) => r.name));
    if (revisions.size !== s.revisions.length) issues.push({ field: `${at}.revisions`, message: 'a revision name appears twice' });
    s.traffic.forEach((t, j) => {
      if (!revisions.has(t.revision)) issues.push({ field: `${at}.traffic[${j}].revision`, message: `names no revision of ${s.name}` });
    });
    const total = s.traffic.reduce((sum, t) => sum + t.percent, 0);
    if (s.traffic.length > 0 && total !== 100) issues.push({ field: `${at}.traffic`, message: `sums to ${total}, must be 100` });
  });
  const gpus = new Set<string>();
  data.gpus.forEach((g, i) => {
    if (gpus.has(gpuLabel(g))) issues.push({ field: `state.gpus[${i}]`, message: `${gpuLabel(g)} appears twice` });
    gpus.add(gpuLabel(g));
  });
  if (issues.length > 0) throw validationError('SSIS_INVALID_CONFIG', 'inconsistent cluster state file', issues);
  try {
    assertValidCluster(data.gpus);
  } catch (err) {
    throw validationError('SSIS_INVALID_CONFIG', 'cluster state file breaks the MIG geometry', [{ field: 'state.gpus', message: err instanceof Error ? err.message : String(err) }]);
  }
  return data;
}

/**
 * Why a valid state cannot be this cluster's: it names another namespace, or other GPUs (a node,
 * GPU index or model added, removed or changed since it was written).
 */
export function compatibilityIssues(state: ClusterState, namespace: string, gpus: readonly GpuState[]): FieldIssue[] {
  const issues: FieldIssue[] = [];
  if (state.namespace !== namespace) issues.push({ field: 'state.namespace', message: `is ${state.namespace}, the cluster's is ${namespace}` });
  const shape = (list: readonly GpuState[]): string => list.map((g) => `${gpuLabel(g)}=${g.model}`).sort().join(', ');
  if (shape(state.gpus) !== shape(gpus)) issues.push({ field: 'state.gpus', message: `are ${shape(state.gpus)}; the cluster has ${shape(gpus)}` });
  return issues;
}

/**
 * Reads the state at `path`: undefined when there is none, or when it cannot be used (then it is
 * moved aside, with a warning saying where and why).
 */
export function readClusterState(path: string, logger: Logger, compatible: (state: ClusterState) => FieldIssue[]): ClusterState | undefined {
  if (!existsSync(path)) return undefined;
  let issues: readonly FieldIssue[];
  try {
    const state = parseClusterState(JSON.parse(readFileSync(path, 'utf8')) as unknown);
    issues = compatible(state);
    if (issues.length === 0) return state;
  } catch (err) {
    issues = (err as { issues?: readonly FieldIssue[] }).issues ?? [];
    if (issues.length === 0) issues = [{ field: 'state', message: err instanceof Error ? err.message : String(err) }];
  }
  try {
    logger.warn({ path, movedTo: setAside(path), issues: issues.slice(0, 20) }, 'cluster state file unusable: moved aside, the cluster starts empty');
  } catch (err) {
    logger.warn({ path, issues: issues.slice(0, 20), error: String(err) }, 'cluster state file unusable and could not be moved aside: the cluster starts empty and will overwrite it');
  }
  return undefined;
}

/** Renames an unusable state file out of the way (kept for a person to look at); returns its new path. */
function setAside(path: string): string {
  const aside = `${path}.unusable-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  renameSync(path, aside);
  return aside;
}

/**
 * Replaces the file at `path` with `text` all at once: written and synced to a temporary file
 * beside it, then renamed over it (rename is atomic within a file system).
 */
export function writeFileAtomically(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  const temporary = `${path}.${process.pid}.tmp`;
  const fd = openSync(temporary, 'w');
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temporary, path);
}
