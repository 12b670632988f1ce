/**
 * Typed configuration from the ConfigMaps (knative/configmaps.yaml locally; mounted files or the
 * API in a cluster). YAML problems and schema problems name the ConfigMap, key and field.
 */
import { parse as parseYaml } from 'yaml';
import { parseModelCatalog, type ModelCatalog } from '../../core/catalog/model-catalog';
import { parseAutoscalerConfig, type AutoscalerConfig } from '../../core/config/autoscaler-config';
import { parseSsisConfig, type SsisConfig } from '../../core/config/ssis-config';
import { SsisError, validationError } from '../../core/errors';

export interface SsisConfiguration {
  readonly ssis: SsisConfig;
  readonly catalog: ModelCatalog;
  readonly autoscaler: AutoscalerConfig;
}

export type ConfigMaps = ReadonlyMap<string, Readonly<Record<string, string>>>;

function yamlValue(configMap: string, key: string, text: string): unknown {
  try {
    return parseYaml(text) as unknown;
  } catch (err) {
    throw new SsisError('SSIS_INVALID_CONFIG', `ConfigMap ${configMap} key ${key} is not valid YAML: ${(err as Error).message}`, {
      issues: [{ field: `${configMap}.data.${key}`, message: (err as Error).message }],
    });
  }
}

function requireKey(maps: ConfigMaps, name: string, key: string): string {
  const value = maps.get(name)?.[key];
  if (value === undefined) {
    throw new SsisError('SSIS_INVALID_CONFIG', `ConfigMap ${name} with key ${key} is missing`, { issues: [{ field: `${name}.data.${key}`, message: 'is required' }] });
  }
  return value;
}

export function configurationFrom(maps: ConfigMaps): SsisConfiguration {
  const ssis = parseSsisConfig(yamlValue('ssis-config', 'ssis.yaml', requireKey(maps, 'ssis-config', 'ssis.yaml')), 'ssis-config.data.ssis.yaml');
  const catalog = parseModelCatalog(yamlValue('ssis-model-catalog', 'models.yaml', requireKey(maps, 'ssis-model-catalog', 'models.yaml')), 'ssis-model-catalog.data.models.yaml');
  const autoscalerData = maps.get('autoscaler-config') ?? {};
  const decoded: Record<string, unknown> = {};
  for (const [key, text] of Object.entries(autoscalerData)) decoded[key] = yamlValue('autoscaler-config', key, text);
  const autoscaler = parseAutoscalerConfig(decoded, 'autoscaler-config.data');
  // A mistyped model id would silently fall into the default class, with its SLOs and policy.
  const unknown = ssis.serviceClasses.flatMap((c, i) => c.models.map((m, j) => ({ m, field: `ssis-config.data.ssis.yaml.serviceClasses[${i}].models[${j}].modelId` })))
    .filter(({ m }) => !catalog.has(m.modelId))
    .map(({ m, field }) => ({ field, message: `${m.modelId} is not in ssis-model-catalog` }));
  if (unknown.length > 0) throw validationError('SSIS_INVALID_CONFIG', 'invalid ssis-config.data.ssis.yaml', unknown);
  return { ssis, catalog, autoscaler };
}
