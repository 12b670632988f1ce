/**
 * Label sets and label matchers shared by the series store and the PromQL evaluator.
 * A series is identified by its whole label set, the metric name included as `__name__`,
 * exactly as in Prometheus.
 */

export type { Labels } from '../../core/ports/metrics-source';
import type { Labels } from '../../core/ports/metrics-source';

/** The reserved label that carries the metric name. */
export const METRIC_NAME_LABEL = '__name__';

export type MatchOperator = '=' | '!=' | '=~' | '!~';

export interface LabelMatcher {
  readonly name: string;
  readonly op: MatchOperator;
  /** The literal value or the regular expression source, as written. */
  readonly value: string;
  /** Tests a label value; a series without the label is tested with "" (Prometheus semantics). */
  readonly matches: (labelValue: string) => boolean;
}

// NUL cannot occur in practice in label names and sorts below every other character, so keys
// compare like Prometheus' labels.Compare (name, then value, shorter set first).
const KEY_SEPARATOR = '\u0000';

/** A canonical identity for a label set: equal sets give equal keys; keys sort like label sets. */
export function labelsKey(labels: Labels): string {
  const names = Object.keys(labels).sort();
  let key = '';
  for (const name of names) key += `${name}${KEY_SEPARATOR}${labels[name]}${KEY_SEPARATOR}`;
  return key;
}

/** Whether a label set satisfies every matcher. */
export function matchesAll(labels: Labels, matchers: readonly LabelMatcher[]): boolean {
  for (const matcher of matchers) {
    if (!matcher.matches(labels[matcher.name] ?? '')) return false;
  }
  return true;
}

/** The label set without `__name__`; what functions and arithmetic return in Prometheus. */
export function withoutMetricName(labels: Labels): Labels {
  if (!(METRIC_NAME_LABEL in labels)) return labels;
  const rest: Record<string, string> = { ...labels };
  delete rest[METRIC_NAME_LABEL];
  return rest;
}

/** Only the named labels that are present. */
export function keepLabels(labels: Labels, names: readonly string[]): Labels {
  const kept: Record<string, string> = {};
  for (const name of names) {
    const value = labels[name];
    if (value !== undefined) kept[name] = value;
  }
  return kept;
}

/** All labels but the named ones. */
export function dropLabels(labels: Labels, names: readonly string[]): Labels {
  const rest: Record<string, string> = { ...labels };
  for (const name of names) delete rest[name];
  return rest;
}

/** Human-readable form for error messages: `{a="1", b="2"}`. */
export function formatLabels(labels: Labels): string {
  const parts = Object.keys(labels)
    .sort()
    .map((name) => `${name}=${JSON.stringify(labels[name])}`);
  return `{${parts.join(', ')}}`;
}
