/**
 * Validation of func.yaml against knative/func's schema (shared/reference/knative-func/), which is
 * JSON Schema draft-04.
 *
 * Why not ajv-draft-04: it is not installed, and adding a dependency touches package.json, which
 * is shared. Instead the `$schema` markers are removed and ajv's default draft runs the schema.
 * That is only sound while the schema uses no keyword whose meaning changed after draft-04, so
 * `draft04Differences` checks exactly that and the test fails if a new schema version starts using
 * one (then add ajv-draft-04).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv, { type ValidateFunction } from 'ajv';

type JsonObject = Record<string, unknown>;

export const FUNC_SCHEMA_PATH = join(__dirname, '..', '..', '..', '..', '..', 'shared', 'reference', 'knative-func', 'func_yaml-schema.json');

/**
 * Keywords that mean something else after draft-04 (`id`, boolean `exclusiveMinimum`/`Maximum`)
 * or that draft-04 ignores but later drafts apply (`const`, `contains`, `propertyNames`, `if`…).
 */
const CHANGED_SINCE_DRAFT_04 = ['id', 'exclusiveMinimum', 'exclusiveMaximum', 'const', 'contains', 'propertyNames', 'if', 'then', 'else', 'examples', 'dependentRequired', 'dependentSchemas', 'unevaluatedProperties', '$defs'];
const SUBSCHEMA_MAPS = ['properties', 'patternProperties', 'definitions', 'dependencies'];
const SUBSCHEMA_LISTS = ['allOf', 'anyOf', 'oneOf'];
const SUBSCHEMAS = ['items', 'additionalProperties', 'additionalItems', 'not'];

/** Schema paths that use a keyword whose meaning differs between draft-04 and ajv's default draft. */
export function draft04Differences(schema: unknown, path = '#'): string[] {
  if (typeof schema === 'boolean') return [`${path}: boolean schema`];
  if (!isObject(schema)) return [];
  const found = CHANGED_SINCE_DRAFT_04.filter((keyword) => keyword in schema).map((keyword) => `${path}/${keyword}`);
  for (const key of SUBSCHEMA_MAPS) {
    const map = schema[key];
    if (isObject(map)) for (const [name, child] of Object.entries(map)) found.push(...draft04Differences(child, `${path}/${key}/${name}`));
  }
  for (const key of SUBSCHEMA_LISTS) {
    const list = schema[key];
    if (Array.isArray(list)) list.forEach((child, index) => found.push(...draft04Differences(child, `${path}/${key}/${index}`)));
  }
  for (const key of SUBSCHEMAS) {
    const child = schema[key];
    if (Array.isArray(child)) child.forEach((item, index) => found.push(...draft04Differences(item, `${path}/${key}/${index}`)));
    else if (child !== undefined && typeof child !== 'boolean') found.push(...draft04Differences(child, `${path}/${key}`));
  }
  return found;
}

export function readFuncSchema(): JsonObject {
  return JSON.parse(readFileSync(FUNC_SCHEMA_PATH, 'utf8')) as JsonObject;
}

/** A validator for parsed func.yaml documents. */
export function compileFuncYamlValidator(schema: JsonObject = readFuncSchema()): ValidateFunction {
  const differences = draft04Differences(schema);
  if (differences.length > 0) throw new Error(`func schema uses keywords whose meaning changed after draft-04: ${differences.join(', ')}`);
  const ajv = new Ajv({ strict: false, allErrors: true });
  // RFC 3339 date-time, the format func writes for `created`.
  ajv.addFormat('date-time', /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})$/);
  return ajv.compile(withoutSchemaMarkers(schema) as JsonObject);
}

/** Drops every `$schema` (the func schema repeats it inside definitions) so ajv uses its default draft. */
function withoutSchemaMarkers(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutSchemaMarkers);
  if (!isObject(value)) return value;
  return Object.fromEntries(Object.entries(value).filter(([key]) => key !== '$schema').map(([key, child]) => [key, withoutSchemaMarkers(child)]));
}

function isObject(value: unknown): value is JsonObject {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
