/**
 * Entry point of the functions image (Procfile `web`): FUNCTION picks the handler, PORT the port
 * (Knative sets 8080), K_SINK the broker ingress, and the ConfigMaps are read from their mounts
 * under /etc/ssis/<ConfigMap>/ (SSIS_CONFIG_DIR overrides). Only this module reads the environment.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { systemClock } from '../../core/common/ports';
import { SsisError } from '../../core/errors';
import { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from '../../core/common/ports';
import { configurationFrom, type SsisConfiguration } from '../../infra/config/from-configmaps';
import { KubernetesCluster } from '../../infra/kubernetes/cluster-port';
import { createPrometheusSource } from '../../infra/prometheus/http-source';
import { createJsonLogger, type LogLevel } from '../../infra/logging/json-logger';
import { buildEvaluateFunction } from '../evaluate/index';
import { buildReconfigureFunction } from '../reconfigure/index';
import { buildRequestFunction } from '../request/index';
import { buildRolloutFunction } from '../rollout/index';
import { buildSampleFunction } from '../sample/index';
import type { SsisFunction } from './function';
import { httpPublisher } from '../../infra/http/event-publisher';
import { createFunctionApp, createFunctionRegistry } from './server';

const CONFIG_MAPS = ['ssis-config', 'autoscaler-config', 'ssis-model-catalog'];

function readConfigMaps(dir: string): Map<string, Record<string, string>> {
  const maps = new Map<string, Record<string, string>>();
  for (const name of CONFIG_MAPS) {
    const folder = join(dir, name);
    const data: Record<string, string> = {};
    // Mounted ConfigMaps are files named by key (the ..data symlink dance of kubelet is skipped).
    for (const key of readdirSync(folder)) if (!key.startsWith('..') && statSync(join(folder, key)).isFile()) data[key] = readFileSync(join(folder, key), 'utf8');
    maps.set(name, data);
  }
  return maps;
}

const FUNCTIONS = ['request', 'sample', 'evaluate', 'reconfigure', 'rollout'];

/** Kubernetes credentials: KUBECONFIG or ~/.kube/config when set, else the pod's ServiceAccount. */
async function connectCluster(configuration: SsisConfiguration, env: NodeJS.ProcessEnv, logger: Logger): Promise<KubernetesCluster> {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromDefault();
  return KubernetesCluster.connect({ kubeConfig, namespace: env['SSIS_MODELS_NAMESPACE'] ?? configuration.ssis.namespace, catalog: configuration.catalog, logger });
}

async function build(name: string, configDir: string, env: NodeJS.ProcessEnv, logger: Logger): Promise<SsisFunction> {
  if (!FUNCTIONS.includes(name)) {
    throw new SsisError('SSIS_INVALID_CONFIG', `FUNCTION must be one of ${FUNCTIONS.join(', ')}; got "${name}"`, { issues: [{ field: 'FUNCTION', message: 'unknown function' }] });
  }
  const configuration = configurationFrom(readConfigMaps(configDir));
  const ids = { next: () => crypto.randomUUID() };
  const clock = systemClock;
  const { catalog, ssis: config } = configuration;
  if (name === 'evaluate') return buildEvaluateFunction({ catalog, autoscalerConfig: () => configuration.autoscaler, config, clock, ids });
  const cluster = await connectCluster(configuration, env, logger);
  switch (name) {
    case 'request':
      return buildRequestFunction({ cluster, catalog, config, clock, ids });
    case 'sample': {
      const prometheusUrl = env['SSIS_PROMETHEUS_URL'];
      if (!prometheusUrl) throw new SsisError('SSIS_INVALID_CONFIG', 'SSIS_PROMETHEUS_URL (the Prometheus that scrapes the engines) is not set', { issues: [{ field: 'SSIS_PROMETHEUS_URL', message: 'is required for FUNCTION=sample' }] });
      return buildSampleFunction({ cluster, catalog, autoscalerConfig: () => configuration.autoscaler, config, metrics: createPrometheusSource({ url: prometheusUrl }), clock, ids });
    }
    case 'reconfigure':
      return buildReconfigureFunction({ cluster, clock, ids });
    default:
      return buildRolloutFunction({ cluster, clock, ids });
  }
}

export async function main(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const name = env['FUNCTION'] ?? '';
  const logger = createJsonLogger({ level: (env['SSIS_LOG_LEVEL'] ?? 'info') as LogLevel, base: { function: name, revision: env['K_REVISION'] } });
  const sink = env['K_SINK'];
  if (!sink) throw new SsisError('SSIS_INVALID_CONFIG', 'K_SINK (the broker ingress URL) is not set', { issues: [{ field: 'K_SINK', message: 'is required' }] });
  const fn = await build(name, env['SSIS_CONFIG_DIR'] ?? '/etc/ssis', env, logger);
  const app = createFunctionApp(fn, { logger, publisher: httpPublisher(sink), registry: createFunctionRegistry(fn.name) });
  const port = Number(env['PORT'] ?? 8080);
  createServer(app).listen(port, () => logger.info({ port }, `function ${fn.name} listening`));
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  });
}
