/**
 * Knative Trigger filters compiled to a predicate over CloudEvent attributes, with the semantics of
 * the Kafka Broker's data plane, so that the embedded broker routes exactly as the cluster does.
 *
 * - `spec.filters` (CloudEvents Subscriptions API): the list is an AND; each entry holds exactly one
 *   dialect: `exact`, `prefix`, `suffix` (a map of ONE attribute -> value, as Knative validates;
 *   case-sensitive), `all`, `any` (non-empty lists of entries) or `not` (one entry).
 * - `spec.filter.attributes` (legacy): exact match on each attribute; an empty value matches
 *   anything, because the Kafka data plane drops such entries (core eventing instead demands that
 *   the attribute exists; we follow the broker we deploy on).
 * - When both are set, a non-empty `filters` wins, as in the Kafka Broker's Trigger reconciler.
 * - `cesql` is refused: no CloudEvents SQL engine is embedded.
 *
 * Attribute values that are not strings (integer or boolean extensions) are compared by their
 * string form, as they travel in HTTP and Kafka headers.
 */
import { validationError, type FieldIssue } from '../../core/errors';
import { FieldContext, describeValue, isPlainObject, readList, readObject, readStringMap, rejectUnknownKeys, type PlainObject } from './field-context';

export type AttributeValue = string | number | boolean | undefined;
/** CloudEvent context attributes and extensions by name (`type`, `source`, `partitionkey`, …). */
export type EventAttributes = Readonly<Record<string, AttributeValue>>;
export type EventPredicate = (attributes: EventAttributes) => boolean;

export type MatchDialect = 'exact' | 'prefix' | 'suffix';

export type FilterExpression =
  | { readonly dialect: MatchDialect; readonly attributes: Readonly<Record<string, string>> }
  | { readonly dialect: 'all' | 'any'; readonly filters: readonly FilterExpression[] }
  | { readonly dialect: 'not'; readonly filter: FilterExpression };

export interface TriggerFilter {
  /** Which part of the Trigger spec the filter came from; `none` lets every event through. */
  readonly origin: 'filters' | 'filter.attributes' | 'none';
  /** Every expression must match (the top-level list is an AND). */
  readonly expressions: readonly FilterExpression[];
  readonly matches: EventPredicate;
}

/** What a Trigger spec may hold about filtering; other spec fields are ignored here. */
export interface TriggerFilterSpec {
  readonly filter?: unknown;
  readonly filters?: unknown;
}

/** Knative's rule (trigger_validation.go): stricter than CloudEvents, which allows a leading digit. */
export const ATTRIBUTE_NAME = /^[a-z][a-z0-9]*$/;

const SUPPORTED_DIALECTS = ['exact', 'prefix', 'suffix', 'all', 'any', 'not'] as const;
const KNOWN_DIALECTS = [...SUPPORTED_DIALECTS, 'cesql'] as const;
type SupportedDialect = (typeof SUPPORTED_DIALECTS)[number];

/**
 * Compiles the filter part of a Trigger spec.
 * @throws SsisError SSIS_INVALID_CONFIG listing every problem.
 */
export function compileTriggerFilter(spec: TriggerFilterSpec, triggerName: string): TriggerFilter {
  const issues: FieldIssue[] = [];
  const filter = parseTriggerFilter(spec, new FieldContext('spec', issues), triggerName);
  if (!filter || issues.length > 0) throw validationError('SSIS_INVALID_CONFIG', `Trigger ${triggerName}: invalid filter`, issues);
  return filter;
}

/**
 * Like compileTriggerFilter, but reports problems into `at` (positioned on the Trigger's `spec`)
 * and returns undefined when there were any; used by the manifest loader to collect all issues.
 */
export function parseTriggerFilter(spec: TriggerFilterSpec, at: FieldContext, triggerName: string): TriggerFilter | undefined {
  if (Array.isArray(spec.filters) && spec.filters.length > 0) {
    // The legacy filter is ignored, as the data plane does, but still validated: the webhook would
    // refuse a bad one.
    if (spec.filter !== undefined) parseAttributesFilter(spec.filter, at.at('filter'));
    const expressions = parseFilterList(spec.filters, at.at('filters'), triggerName);
    return expressions && toTriggerFilter('filters', expressions);
  }
  if (spec.filters !== undefined) readList(spec.filters, at.at('filters'));
  if (spec.filter === undefined) return toTriggerFilter('none', []);
  const expressions = parseAttributesFilter(spec.filter, at.at('filter'));
  return expressions && toTriggerFilter('filter.attributes', expressions);
}

/** Evaluates one expression; exported for the embedded broker's diagnostics and for tests. */
export function evaluateFilter(expression: FilterExpression, attributes: EventAttributes): boolean {
  switch (expression.dialect) {
    case 'exact':
      return everyAttribute(expression.attributes, attributes, (actual, expected) => actual === expected);
    case 'prefix':
      return everyAttribute(expression.attributes, attributes, (actual, expected) => actual.startsWith(expected));
    case 'suffix':
      return everyAttribute(expression.attributes, attributes, (actual, expected) => actual.endsWith(expected));
    case 'all':
      return expression.filters.every((nested) => evaluateFilter(nested, attributes));
    case 'any':
      return expression.filters.some((nested) => evaluateFilter(nested, attributes));
    case 'not':
      return !evaluateFilter(expression.filter, attributes);
  }
}

function toTriggerFilter(origin: TriggerFilter['origin'], expressions: readonly FilterExpression[]): TriggerFilter {
  return {
    origin,
    expressions,
    matches: (attributes) => expressions.every((expression) => evaluateFilter(expression, attributes)),
  };
}

function everyAttribute(
  expected: Readonly<Record<string, string>>,
  attributes: EventAttributes,
  compare: (actual: string, expected: string) => boolean,
): boolean {
  return Object.entries(expected).every(([name, value]) => {
    const actual = attributeText(attributes, name);
    return actual !== undefined && compare(actual, value);
  });
}

function attributeText(attributes: EventAttributes, name: string): string | undefined {
  // Own properties only: `constructor` is a valid attribute name and must not hit Object.prototype.
  if (!Object.hasOwn(attributes, name)) return undefined;
  const value = attributes[name];
  return value === undefined ? undefined : String(value);
}

function parseFilterList(value: unknown, at: FieldContext, triggerName: string): FilterExpression[] | undefined {
  const list = readList(value, at);
  if (!list) return undefined;
  const parsed = list.map((entry, index) => parseFilterEntry(entry, at.at(index), triggerName));
  return parsed.every((expression) => expression !== undefined) ? parsed : undefined;
}

function parseFilterEntry(value: unknown, at: FieldContext, triggerName: string): FilterExpression | undefined {
  const entry = readObject(value, at);
  if (!entry) return undefined;
  const unknown = Object.keys(entry).filter((key) => !(KNOWN_DIALECTS as readonly string[]).includes(key));
  for (const key of unknown) at.at(key).fail(`unknown filter dialect (known: ${SUPPORTED_DIALECTS.join(', ')})`);
  const dialects = KNOWN_DIALECTS.filter((dialect) => entry[dialect] !== undefined);
  if (dialects.length > 1) {
    at.fail('multiple dialects found, filters can have only one dialect set');
    return undefined;
  }
  const dialect = dialects[0];
  if (dialect === undefined) {
    if (unknown.length === 0) at.fail(`a filter needs one dialect: ${SUPPORTED_DIALECTS.join(', ')}`);
    return undefined;
  }
  if (dialect === 'cesql') {
    at.at('cesql').fail(`Trigger ${triggerName}: dialect cesql is not supported by the embedded broker`);
    return undefined;
  }
  if (unknown.length > 0) return undefined;
  return parseDialect(dialect, entry, at.at(dialect), triggerName);
}

function parseDialect(dialect: SupportedDialect, entry: PlainObject, at: FieldContext, triggerName: string): FilterExpression | undefined {
  const body = entry[dialect];
  switch (dialect) {
    case 'exact':
    case 'prefix':
    case 'suffix': {
      const attributes = parseAttributeMap(body, at, { allowEmptyValues: false });
      if (attributes && Object.keys(attributes).length === 0) {
        at.fail('must name at least one attribute');
        return undefined;
      }
      // Knative's webhook (ValidateSingleAttributeMap) allows one key per map: refusing more here
      // keeps every manifest the embedded broker accepts acceptable to a cluster too.
      if (attributes && Object.keys(attributes).length > 1) {
        at.fail('Multiple items found, can have only one key-value (use one filter entry per attribute)');
        return undefined;
      }
      return attributes && { dialect, attributes };
    }
    case 'all':
    case 'any': {
      if (Array.isArray(body) && body.length === 0) {
        at.fail(`${dialect} must contain at least one filter expression`);
        return undefined;
      }
      const filters = parseFilterList(body, at, triggerName);
      return filters && { dialect, filters };
    }
    case 'not': {
      if (!isPlainObject(body)) {
        at.fail(`must be one filter expression (an object), got ${describeValue(body)}`);
        return undefined;
      }
      const filter = parseFilterEntry(body, at, triggerName);
      return filter && { dialect, filter };
    }
  }
}

function parseAttributesFilter(value: unknown, at: FieldContext): FilterExpression[] | undefined {
  const filter = readObject(value, at);
  if (!filter) return undefined;
  rejectUnknownKeys(filter, ['attributes'], at);
  if (filter.attributes === undefined) return [];
  const attributes = parseAttributeMap(filter.attributes, at.at('attributes'), { allowEmptyValues: true });
  if (!attributes) return undefined;
  // The Kafka data plane drops empty values before matching, so "" means "any value, or absent".
  const required = Object.fromEntries(Object.entries(attributes).filter(([, expected]) => expected !== ''));
  return Object.keys(required).length === 0 ? [] : [{ dialect: 'exact', attributes: required }];
}

function parseAttributeMap(value: unknown, at: FieldContext, options: { allowEmptyValues: boolean }): Record<string, string> | undefined {
  const attributes = readStringMap(value, at, options);
  if (!attributes) return undefined;
  let valid = true;
  for (const name of Object.keys(attributes)) {
    if (!ATTRIBUTE_NAME.test(name)) {
      at.at(name).fail('attribute name must start with a letter and contain only lowercase letters and digits (^[a-z][a-z0-9]*$)');
      valid = false;
    }
  }
  return valid ? attributes : undefined;
}
