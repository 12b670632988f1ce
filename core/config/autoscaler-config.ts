/**
 * The SSIS reference's `autoscaler-config` ConfigMap (notes/ssis.md §3.1): one data key per
 * inference service holding a YAML list of {name, query, slo, scaleUpFactor, scaleDownFactor}.
 * Fixes over the reference: a `default` key serves every service without its own key (the
 * reference skipped them), and `%s` in a query is the *service* name (the reference substituted
 * the pod, which cannot express a service with several replicas).
 */
import { FieldReader } from '../common/fields';
import { validationError } from '../errors';
import type { MetricRule } from '../scaling/ladder';

export type AutoscalerConfig = ReadonlyMap<string, readonly MetricRule[]>;

export const DEFAULT_KEY = 'default';

/** `data` maps ConfigMap keys to already YAML-decoded values. */
export function parseAutoscalerConfig(data: Readonly<Record<string, unknown>>, where = 'autoscaler-config'): AutoscalerConfig {
  const r = new FieldReader(where);
  const out = new Map<string, MetricRule[]>();
  for (const [key, value] of Object.entries(data)) {
    const list = r.array(value, key);
    if (!list) continue;
    const rules: MetricRule[] = [];
    list.forEach((item, i) => {
      const f = r.child(key).child(i);
      const o = f.object(item, '');
      if (!o) return;
      f.unknownKeys(o, ['name', 'query', 'slo', 'scaleUpFactor', 'scaleDownFactor']);
      const name = f.string(o, 'name');
      const query = f.string(o, 'query');
      const slo = f.number(o, 'slo', { exclusiveMin: 0 });
      const scaleUpFactor = f.number(o, 'scaleUpFactor', { min: 1 });
      const scaleDownFactor = f.number(o, 'scaleDownFactor', { min: 0, max: 1 });
      if (name !== undefined && rules.some((x) => x.name === name)) f.fail('name', `duplicate metric name "${name}"`);
      if (name !== undefined && query !== undefined && slo !== undefined && scaleUpFactor !== undefined && scaleDownFactor !== undefined) {
        rules.push({ name, query, slo, scaleUpFactor, scaleDownFactor });
      }
    });
    out.set(key, rules);
  }
  if (r.issues.length > 0) throw validationError('SSIS_INVALID_CONFIG', `invalid ${where}`, r.issues);
  return out;
}

export function rulesFor(config: AutoscalerConfig, service: string): readonly MetricRule[] {
  return config.get(service) ?? config.get(DEFAULT_KEY) ?? [];
}

/** Substitutes every `%s` with the service name (label values are quoted by the query author). */
export function queryFor(rule: MetricRule, service: string): string {
  return rule.query.split('%s').join(service);
}
