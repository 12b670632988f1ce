/**
 * How event data is checked: one ajv instance (JSON Schema draft-07, allErrors so that every
 * problem is reported, not just the first), a compile-once helper per event type, and the
 * translation of ajv's errors into FieldIssues named `data.<path>` (`data.metrics[0].value`).
 */
import Ajv from 'ajv';
import type { DefinedError, ErrorObject } from 'ajv';
import { validationError, type FieldIssue } from '../core/errors.js';
import { isRfc3339DateTime } from './rfc3339.js';

/** A JSON Schema fragment, as a plain (usually `as const`) object. */
export type JsonSchema = { readonly [keyword: string]: unknown };

/** The keys of T that are not optional. */
export type RequiredKeyOf<T> = { [K in keyof T]-?: object extends Pick<T, K> ? never : K }[keyof T] & string;

/**
 * The shape of a schema for the object type T. Used with `satisfies`, it makes the compiler check
 * that `properties` names every field of T and nothing else, and that `required` lists no
 * optional field (test/events/schemas.test.ts checks the other direction).
 */
export interface ObjectSchema<T> {
  readonly type: 'object';
  readonly description?: string;
  readonly properties: { readonly [K in keyof T]-?: JsonSchema };
  readonly required: readonly RequiredKeyOf<T>[];
  readonly additionalProperties: false;
}

/** A top-level event data schema: an object schema that names its dialect. */
export type DataSchema<T> = ObjectSchema<T> & { readonly $schema: typeof JSON_SCHEMA_DIALECT; readonly title: string };

export const JSON_SCHEMA_DIALECT = 'http://json-schema.org/draft-07/schema#';

// strict: unknown keywords in our schemas are bugs. allowUnionTypes: `type: ['number', 'null']`
// is how nullable fields are written. No coercion and no defaults: data is checked, never changed.
const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });
ajv.addFormat('date-time', { type: 'string', validate: isRfc3339DateTime });

/**
 * Compiles `schema` once and returns the parse function of an event type: it returns its input,
 * now typed, or throws SsisError SSIS_INVALID_EVENT listing every problem.
 * @throws {SsisError} SSIS_INVALID_EVENT
 */
export function compileDataParser<T>(eventType: string, schema: DataSchema<T>): (data: unknown) => T {
  const validate = ajv.compile<T>(schema);
  return (data: unknown): T => {
    if (validate(data)) return data;
    throw validationError('SSIS_INVALID_EVENT', `invalid ${eventType} data`, schemaIssues(validate.errors ?? [], data, 'data'));
  };
}

/** Turns ajv errors on `data` into issues whose field starts with `root`. */
export function schemaIssues(errors: readonly ErrorObject[], data: unknown, root: string): FieldIssue[] {
  // ajv documents DefinedError as the union of the errors its own keywords produce; we add no keywords.
  return (errors as readonly DefinedError[]).map((err) => {
    const path = fieldPath(root, err.instancePath, data);
    switch (err.keyword) {
      case 'required':
        return { field: childField(path, err.params.missingProperty), message: 'is required' };
      case 'additionalProperties':
        return { field: childField(path, err.params.additionalProperty), message: 'unknown field' };
      default:
        return { field: path, message: describe(err) };
    }
  });
}

function describe(err: DefinedError): string {
  switch (err.keyword) {
    case 'type':
      return `must be ${String(err.params.type).split(',').join(' or ')}`;
    case 'minimum':
      return `must be >= ${err.params.limit}`;
    case 'exclusiveMinimum':
      return `must be > ${err.params.limit}`;
    case 'maximum':
      return `must be <= ${err.params.limit}`;
    case 'exclusiveMaximum':
      return `must be < ${err.params.limit}`;
    case 'enum':
      return `must be one of: ${err.params.allowedValues.map(show).join(', ')}`;
    case 'const':
      return `must be ${show(err.params.allowedValue)}`;
    case 'format':
      return err.params.format === 'date-time' ? 'must be an RFC 3339 date-time, e.g. 2026-11-03T10:00:00Z' : `must be a ${err.params.format}`;
    case 'minLength':
      return err.params.limit === 1 ? 'must not be empty' : `must have at least ${err.params.limit} characters`;
    case 'maxLength':
      return `must have at most ${err.params.limit} characters`;
    case 'pattern':
      return `must match ${err.params.pattern}`;
    case 'uniqueItems':
      return `must not repeat an item (items ${Math.min(err.params.i, err.params.j)} and ${Math.max(err.params.i, err.params.j)} are equal)`;
    default:
      return err.message ?? `fails ${err.keyword}`;
  }
}

function show(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/** `field` of a child property: `data.target` + `replicas` → `data.target.replicas`. */
export function childField(parent: string, name: string): string {
  return IDENTIFIER.test(name) ? `${parent}.${name}` : `${parent}[${JSON.stringify(name)}]`;
}

/**
 * Converts an ajv instancePath (a JSON pointer, `/metrics/0/value`) to `data.metrics[0].value`.
 * The pointer alone cannot tell an array index from a property named "0", so it walks the data.
 */
export function fieldPath(root: string, pointer: string, data: unknown): string {
  let path = root;
  let node: unknown = data;
  for (const raw of pointer.split('/').slice(1)) {
    const segment = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(node)) {
      path += `[${segment}]`;
      node = (node as unknown[])[Number(segment)];
    } else {
      path = childField(path, segment);
      node = typeof node === 'object' && node !== null ? (node as Record<string, unknown>)[segment] : undefined;
    }
  }
  return path;
}
