/**
 * Validation of rendered manifests against the real Knative CRDs (shared/reference/knative-crds/),
 * the way an API server with those CRDs and `--validate=strict` would check them: the schema of the
 * served storage version of each CRD, unknown fields refused except directly inside subtrees marked
 * `x-kubernetes-preserve-unknown-fields: true`. Kubernetes core kinds get small hand-written schemas
 * for the fields we use, since they have no CRD.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import { parseAllDocuments } from 'yaml';

export type JsonObject = Record<string, unknown>;

export interface CrdVersion {
  readonly group: string;
  readonly kind: string;
  /** The version that is both served and stored: no conversion webhook is needed to create it. */
  readonly version: string;
  readonly file: string;
  readonly openAPIV3Schema: JsonObject;
}

export const SHARED_CRD_ROOT = join(__dirname, '..', '..', '..', '..', '..', 'shared', 'reference', 'knative-crds');

/** Reads every CRD under `root`, keyed by `<group>/<kind>`. */
export function loadCrds(root: string = SHARED_CRD_ROOT): Map<string, CrdVersion> {
  const crds = new Map<string, CrdVersion>();
  for (const file of yamlFiles(root)) {
    for (const document of parseAllDocuments(readFileSync(file, 'utf8'))) {
      const crd: unknown = document.toJS();
      if (!isObject(crd) || crd.kind !== 'CustomResourceDefinition') continue;
      const spec = crd.spec as JsonObject;
      const names = spec.names as JsonObject;
      const versions = spec.versions as JsonObject[];
      const stored = versions.find((version) => version.served === true && version.storage === true);
      if (!stored) throw new Error(`${file}: no version is both served and stored`);
      const schema = (stored.schema as JsonObject).openAPIV3Schema as JsonObject;
      const group = String(spec.group);
      const kind = String(names.kind);
      crds.set(`${group}/${kind}`, { group, kind, version: String(stored.name), file, openAPIV3Schema: schema });
    }
  }
  return crds;
}

/**
 * Turns a structural OpenAPI v3 schema into a JSON Schema that refuses unknown fields the way
 * `fieldValidation=Strict` does.
 */
export function toStrictJsonSchema(openApi: JsonObject, atRoot = true): JsonObject {
  const schema: JsonObject = {};
  for (const [key, value] of Object.entries(openApi)) {
    // Kubernetes-only markers; the one that changes validation is handled below.
    if (key.startsWith('x-kubernetes-')) continue;
    if (key === 'properties' && isObject(value)) {
      schema.properties = Object.fromEntries(Object.entries(value).map(([name, child]) => [name, toStrictJsonSchema(child as JsonObject, false)]));
    } else if ((key === 'items' || key === 'additionalProperties' || key === 'not') && isObject(value)) {
      schema[key] = toStrictJsonSchema(value, false);
    } else if ((key === 'anyOf' || key === 'allOf' || key === 'oneOf') && Array.isArray(value)) {
      schema[key] = value.map((child) => toStrictJsonSchema(child as JsonObject, false));
    } else {
      schema[key] = value;
    }
  }
  const preservesUnknown = openApi['x-kubernetes-preserve-unknown-fields'] === true;
  const isObjectSchema = openApi.type === 'object' || openApi.properties !== undefined;
  if (isObjectSchema && !preservesUnknown && openApi.additionalProperties === undefined) schema.additionalProperties = false;
  if (atRoot) {
    // Every object has apiVersion/kind/metadata; the API server validates metadata as ObjectMeta,
    // whatever the CRD says about it.
    const properties = { ...(schema.properties as JsonObject | undefined) };
    properties.apiVersion = { type: 'string' };
    properties.kind = { type: 'string' };
    properties.metadata = OBJECT_META;
    schema.properties = properties;
    schema.required = ['apiVersion', 'kind', 'metadata'];
  }
  return schema;
}

const STRING_MAP = { type: 'object', additionalProperties: { type: 'string' } };
const DNS_SUBDOMAIN = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$';

/** The ObjectMeta fields a manifest may set. */
const OBJECT_META: JsonObject = {
  type: 'object',
  additionalProperties: false,
  required: ['name'],
  properties: {
    name: { type: 'string', pattern: DNS_SUBDOMAIN, maxLength: 253 },
    namespace: { type: 'string', pattern: DNS_SUBDOMAIN, maxLength: 63 },
    labels: STRING_MAP,
    annotations: STRING_MAP,
    finalizers: { type: 'array', items: { type: 'string' } },
  },
};

function coreKind(properties: JsonObject, required: string[] = []): JsonObject {
  return {
    type: 'object',
    additionalProperties: false,
    required: ['apiVersion', 'kind', 'metadata', ...required],
    properties: { apiVersion: { type: 'string' }, kind: { type: 'string' }, metadata: OBJECT_META, ...properties },
  };
}

const STRING_LIST = { type: 'array', items: { type: 'string' } };

const RBAC_ROLE = coreKind({
  rules: {
    type: 'array',
    items: {
      type: 'object',
      additionalProperties: false,
      required: ['verbs'],
      properties: { apiGroups: STRING_LIST, resources: STRING_LIST, resourceNames: STRING_LIST, nonResourceURLs: STRING_LIST, verbs: STRING_LIST },
    },
  },
});

const RBAC_BINDING = coreKind(
  {
    roleRef: {
      type: 'object',
      additionalProperties: false,
      required: ['apiGroup', 'kind', 'name'],
      properties: { apiGroup: { type: 'string' }, kind: { type: 'string' }, name: { type: 'string' } },
    },
    subjects: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['kind', 'name'],
        properties: { apiGroup: { type: 'string' }, kind: { type: 'string' }, name: { type: 'string' }, namespace: { type: 'string' } },
      },
    },
  },
  ['roleRef'],
);

/** Core kinds have no CRD; these cover the fields knative/ uses, strictly. Keyed by apiVersion/kind. */
export const CORE_KIND_SCHEMAS: ReadonlyMap<string, JsonObject> = new Map([
  ['v1/Namespace', coreKind({})],
  ['v1/ServiceAccount', coreKind({ automountServiceAccountToken: { type: 'boolean' } })],
  ['v1/ConfigMap', coreKind({ data: STRING_MAP, binaryData: STRING_MAP, immutable: { type: 'boolean' } })],
  ['rbac.authorization.k8s.io/v1/ClusterRole', RBAC_ROLE],
  ['rbac.authorization.k8s.io/v1/Role', RBAC_ROLE],
  ['rbac.authorization.k8s.io/v1/ClusterRoleBinding', RBAC_BINDING],
  ['rbac.authorization.k8s.io/v1/RoleBinding', RBAC_BINDING],
]);

/** Validates Kubernetes objects against the CRDs (for custom kinds) or the core schemas above. */
export class ManifestValidator {
  private readonly ajv = new Ajv({ strict: false, allErrors: true });
  private readonly validators = new Map<string, ValidateFunction>();

  constructor(readonly crds: ReadonlyMap<string, CrdVersion> = loadCrds()) {
    // The integer formats the CRDs use; the API server checks their range.
    this.ajv.addFormat('int32', { type: 'number', validate: (n: number) => Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31 });
    this.ajv.addFormat('int64', { type: 'number', validate: (n: number) => Number.isSafeInteger(n) });
  }

  /** Problems with one object, as `path: message` lines; empty when it is valid. */
  validate(object: JsonObject): string[] {
    const apiVersion = String(object.apiVersion);
    const kind = String(object.kind);
    const validator = this.validatorFor(apiVersion, kind);
    if (typeof validator === 'string') return [validator];
    return validator(object) ? [] : (validator.errors ?? []).map(describeError);
  }

  private validatorFor(apiVersion: string, kind: string): ValidateFunction | string {
    const key = `${apiVersion}/${kind}`;
    const cached = this.validators.get(key);
    if (cached) return cached;
    const core = CORE_KIND_SCHEMAS.get(key);
    let schema: JsonObject;
    if (core) {
      schema = core;
    } else {
      const group = apiVersion.includes('/') ? apiVersion.slice(0, apiVersion.lastIndexOf('/')) : '';
      const version = apiVersion.slice(apiVersion.lastIndexOf('/') + 1);
      const crd = this.crds.get(`${group}/${kind}`);
      if (!crd) return `no CRD and no core schema for ${apiVersion} ${kind}`;
      if (crd.version !== version) return `${kind} must use ${group}/${crd.version}, the served storage version (got ${apiVersion}): another version needs a conversion webhook`;
      schema = toStrictJsonSchema(crd.openAPIV3Schema);
    }
    const validator = this.ajv.compile(schema);
    this.validators.set(key, validator);
    return validator;
  }
}

function describeError(error: ErrorObject): string {
  const path = error.instancePath || '/';
  if (error.keyword === 'additionalProperties') return `${path}: unknown field ${JSON.stringify(error.params.additionalProperty)}`;
  return `${path}: ${error.message ?? error.keyword}`;
}

function isObject(value: unknown): value is JsonObject {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function yamlFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return yamlFiles(path);
    return name.endsWith('.yaml') ? [path] : [];
  });
}
