/**
 * Entry point of the functions image (Procfile `web`): FUNCTION picks the handler, PORT the port
 * (Knative sets 8080), K_SINK the broker ingress, and the ConfigMaps are read from their mounts
 * under /etc/ssis/<ConfigMap>/ (SSIS_CONFIG_DIR overrides). Only this module reads the environment.
 *
 * FUNCTION=ingress is the public inference API (func.yaml): API keys from SSIS_API_KEYS_FILE (the
 * Secret ssis-api-keys' mount), required. Every other function takes events only with an OIDC token
 * for its SSIS_EVENT_AUDIENCE, as Knative Eventing's sender identity issues them, verified against
 * the API server's ServiceAccount issuer. Events sent to the broker carry this pod's own token for
 * the broker's audience (SSIS_SERVICE_ACCOUNT, SSIS_BROKER_AUDIENCE).
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
import { createIngressApp } from '../request/ingress';
import { keyFileAuthenticator } from '../../infra/auth/api-keys';
import type { EventIntakeAuth, EventSenderAuth } from '../../infra/auth/event-auth';
import { oidcVerifier } from '../../infra/auth/oidc';
import { serviceAccountIssuer, serviceAccountKeySet } from '../../infra/kubernetes/oidc-discovery';
import { tokenRequestSender } from '../../infra/kubernetes/token-sender';

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

const FUNCTIONS = ['ingress', 'request', 'sample', 'evaluate', 'reconfigure', 'rollout'];

/** Kubernetes credentials: KUBECONFIG or ~/.kube/config when set, else the pod's ServiceAccount. */
async function connectCluster(configuration: SsisConfiguration, env: NodeJS.ProcessEnv, logger: Logger): Promise<KubernetesCluster> {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromDefault();
  return KubernetesCluster.connect({ kubeConfig, namespace: env['SSIS_MODELS_NAMESPACE'] ?? configuration.ssis.namespace, catalog: configuration.catalog, logger });
}

async function build(name: string, configuration: SsisConfiguration, env: NodeJS.ProcessEnv, logger: Logger): Promise<SsisFunction> {
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
      return buildReconfigureFunction({ cluster, catalog, config, clock, ids });
    default:
      return buildRolloutFunction({ cluster, config, clock, ids });
  }
}

function required(env: NodeJS.ProcessEnv, key: string, why: string): string {
  const value = env[key];
  if (!value) throw new SsisError('SSIS_INVALID_CONFIG', `${key} (${why}) is not set`, { issues: [{ field: key, message: 'is required' }] });
  return value;
}

/** The pod's credential towards the broker: its ServiceAccount's token for the broker's audience. */
function brokerSender(env: NodeJS.ProcessEnv, namespace: string): EventSenderAuth {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromDefault();
  const name = required(env, 'SSIS_SERVICE_ACCOUNT', "the pod's ServiceAccount, whose token the broker is sent");
  return tokenRequestSender(kubeConfig, { namespace, name }, env['SSIS_BROKER_AUDIENCE'] ?? `eventing.knative.dev/broker/${namespace}/default`);
}

/** Who may deliver events to this function: OIDC tokens for its audience, or (SSIS_EVENT_AUTH=none) anyone. */
async function eventIntake(env: NodeJS.ProcessEnv, logger: Logger): Promise<EventIntakeAuth | undefined> {
  const mode = env['SSIS_EVENT_AUTH'] ?? 'oidc';
  if (mode === 'none') {
    logger.warn({ SSIS_EVENT_AUTH: mode }, 'event sender authentication is OFF: anyone who reaches this Service can hand it events (enable Knative Eventing\'s authentication-oidc and unset SSIS_EVENT_AUTH)');
    return undefined;
  }
  if (mode !== 'oidc') throw new SsisError('SSIS_INVALID_CONFIG', `SSIS_EVENT_AUTH must be oidc or none; got "${mode}"`, { issues: [{ field: 'SSIS_EVENT_AUTH', message: 'unknown mode' }] });
  const audience = required(env, 'SSIS_EVENT_AUDIENCE', "this Service's OIDC audience, as its Trigger's subscriber.audience names it");
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromDefault();
  const issuer = env['SSIS_OIDC_ISSUER'] ?? (await serviceAccountIssuer(kubeConfig));
  return oidcVerifier({ issuer, audience, jwks: () => serviceAccountKeySet(kubeConfig) });
}

export async function main(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const name = env['FUNCTION'] ?? '';
  const logger = createJsonLogger({ level: (env['SSIS_LOG_LEVEL'] ?? 'info') as LogLevel, base: { function: name, revision: env['K_REVISION'] } });
  const sink = required(env, 'K_SINK', 'the broker ingress URL');
  if (!FUNCTIONS.includes(name)) {
    throw new SsisError('SSIS_INVALID_CONFIG', `FUNCTION must be one of ${FUNCTIONS.join(', ')}; got "${name}"`, { issues: [{ field: 'FUNCTION', message: 'unknown function' }] });
  }
  const configuration = configurationFrom(readConfigMaps(env['SSIS_CONFIG_DIR'] ?? '/etc/ssis'));
  const namespace = configuration.ssis.namespace;
  const publisher = httpPublisher(sink, env['SSIS_EVENT_AUTH'] === 'none' ? {} : { sender: brokerSender(env, namespace) });
  const port = Number(env['PORT'] ?? 8080);
  if (name === 'ingress') {
    const { ssis, catalog } = configuration;
    const keysFile = env['SSIS_API_KEYS_FILE'] ?? '/etc/ssis/ssis-api-keys/keys.yaml';
    const apiKeys = keyFileAuthenticator(keysFile, ssis.serviceClasses.map((c) => c.name), ssis.ingress.defaultServiceClass, { onError: (e) => logger.error({ error: e.message }, 'API key file not reloaded; the previous keys stay in force') });
    const cluster = await connectCluster(configuration, env, logger);
    const ingress = createIngressApp({ cluster, catalog, config: ssis, clock: systemClock, ids: { next: () => crypto.randomUUID() }, apiKeys }, { logger, publisher, registry: createFunctionRegistry('ingress') });
    createServer(ingress.app).listen(port, () => logger.info({ port, keys: apiKeys.size() }, 'ingress listening'));
    return;
  }
  const fn = await build(name, configuration, env, logger);
  const intakeAuth = await eventIntake(env, logger);
  const app = createFunctionApp(fn, { logger, publisher, registry: createFunctionRegistry(fn.name) }, intakeAuth ? { intakeAuth } : {});
  createServer(app).listen(port, () => logger.info({ port }, `function ${fn.name} listening`));
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  });
}
