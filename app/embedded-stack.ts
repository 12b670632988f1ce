/**
 * The whole SSIS system on one machine with no external services (`npm start`): the embedded
 * broker (Trigger semantics from knative/), the five functions each on its own loopback HTTP
 * server exactly as in the cluster, the simulated MIG cluster with emulated inference servers,
 * the PingSource ticker, and the public ingress (the inference APIs only) on PORT. The broker and
 * every function endpoint take events only from senders holding the stack's secret.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Clock, IdSource, Logger } from '../core/common/ports';
import { systemClock } from '../core/common/ports';
import { SsisError } from '../core/errors';
import type { SimulatedNodeConfig } from '../core/config/ssis-config';
import { gpuInventory } from '../core/optimizer/cluster-system';
import type { SsisEvent } from '../events/envelope';
import { buildEvaluateFunction } from '../functions/evaluate/index';
import { buildReconfigureFunction } from '../functions/reconfigure/index';
import { buildRequestFunction } from '../functions/request/index';
import { buildRolloutFunction } from '../functions/rollout/index';
import type { SsisFunction } from '../functions/runtime/function';
import { httpPublisher } from '../infra/http/event-publisher';
import { createFunctionApp, createFunctionRegistry } from '../functions/runtime/server';
import { buildSampleFunction } from '../functions/sample/index';
import { EmbeddedBroker } from '../infra/broker/embedded-broker';
import { fileEventLog, type LoggedEvent } from '../infra/broker/event-log';
import { runPingSource, type PingSourceRunner } from '../infra/broker/ping-source';
import { SimulatedCluster } from '../infra/cluster/simulated';
import type { ClusterPort } from '../core/ports/cluster';
import { configurationFrom, type SsisConfiguration } from '../infra/config/from-configmaps';
import { KafkaBroker } from '../infra/kafka/kafka-broker';
import type { KafkaNames } from '../infra/kafka/names';
import type { KafkaTuning } from '../infra/kafka/trigger-dispatcher';
import { loadManifests } from '../infra/knative/manifests';
import type { Destination, KnativeManifests } from '../infra/knative/types';
import { startStackMetrics, type MetricsMode } from './stack-metrics';
import { createIngressApp, type Ingress } from '../functions/request/ingress';
import { keyFileAuthenticator } from '../infra/auth/api-keys';
import { sharedSecretAuth, stackSecret } from '../infra/auth/event-auth';

export const DEFAULT_NODES: readonly SimulatedNodeConfig[] = [
  { name: 'node-a', gpus: [{ model: 'A100-SXM4-40GB', count: 2 }] },
  { name: 'node-b', gpus: [{ model: 'A100-SXM4-40GB', count: 2 }] },
];

/** The Knative Service of each function: knative/services.yaml, plus ssis-request from func.yaml. */
export const FUNCTION_SERVICES: Readonly<Record<string, string>> = {
  'ssis-request': 'request',
  'ssis-sample': 'sample',
  'ssis-evaluate': 'evaluate',
  'ssis-reconfigure': 'reconfigure',
  'ssis-rollout': 'rollout',
};

export interface StackOptions {
  readonly knativeDir: string;
  readonly stateDir: string;
  readonly ingressPort: number;
  readonly ingressHost?: string;
  readonly logger: Logger;
  /** Overrides the PingSource schedule (embedded runs sample faster than the cluster's 10 s). */
  readonly sampleEverySec?: number;
  readonly nodes?: readonly SimulatedNodeConfig[];
  readonly loadTimeScale?: number;
  /** Config overrides applied on top of the ConfigMaps (tests shorten windows with it). */
  readonly configure?: (c: SsisConfiguration) => SsisConfiguration;
  readonly clock?: Clock;
  readonly ids?: IdSource;
  readonly random?: () => number;
  /** Kafka broker mode (SSIS_BROKER=kafka://…): the Knative Kafka Broker on a real Kafka instead of the embedded one. */
  readonly kafka?: { readonly brokers: readonly string[]; readonly names?: KafkaNames; readonly tuning?: Partial<KafkaTuning> };
  /**
   * The API key file of the inference APIs (core/auth/tenants.ts). Required when the ingress binds
   * anything but loopback; without it every local caller is the anonymous tenant.
   */
  readonly apiKeysFile?: string;
  /** Where the sample function reads metrics (app/stack-metrics.ts); default `direct`, the in-process scrape. */
  readonly metrics?: MetricsMode;
  /**
   * The cluster the functions act on; default the simulated cluster. The local control plane
   * mode (app/kube-stack.ts) passes the Kubernetes adapter here.
   */
  readonly cluster?: (configuration: SsisConfiguration, logger: Logger) => Promise<StackCluster>;
}

/** A cluster adapter the stack can stop with itself. */
export interface StackCluster extends ClusterPort {
  shutdown(): Promise<void>;
  /** The admin kubeconfig of a local control plane the cluster runs on, for a person's kubectl. */
  readonly kubeconfigPath?: string;
}

/** What the stack needs from its broker, embedded or Kafka. */
export interface StackBroker {
  publish(event: SsisEvent): Promise<void>;
  /** Events stored through this broker, in order. */
  events(): readonly LoggedEvent[];
  /** Resolves when no delivery is pending. */
  idle(): Promise<void>;
  stop(): Promise<void>;
}

export interface RunningStack {
  readonly ingressUrl: string;
  readonly brokerUrl: string;
  readonly functionUrls: Readonly<Record<string, string>>;
  readonly cluster: StackCluster;
  readonly broker: StackBroker;
  /** `embedded`, or the kafka:// bootstrap servers. */
  readonly brokerMode: string;
  /** `direct`, or the URL of the Prometheus the sample function queries. */
  readonly metricsMode: string;
  readonly manifests: KnativeManifests;
  readonly configuration: SsisConfiguration;
  readonly eventLogPath: string;
  /** The stack's event-sender secret (mode 0600): what `ssis replay --to-url` authenticates with. */
  readonly eventSecretPath: string;
  stop(): Promise<void>;
}

function randomIds(): IdSource {
  return { next: () => crypto.randomUUID() };
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

async function listen(server: Server, port: number, host: string): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const { port: bound } = server.address() as AddressInfo;
  return `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${bound}`;
}

export async function startEmbeddedStack(opts: StackOptions): Promise<RunningStack> {
  const clock = opts.clock ?? systemClock;
  const ids = opts.ids ?? randomIds();
  const logger = opts.logger;
  const manifests = loadManifests(opts.knativeDir);
  let configuration = configurationFrom(manifests.configMaps);
  if (opts.configure) configuration = opts.configure(configuration);
  const { ssis, catalog } = configuration;
  const nodes = opts.nodes ?? (ssis.cluster.nodes.length > 0 ? ssis.cluster.nodes : DEFAULT_NODES);
  const ingressHost = opts.ingressHost ?? '127.0.0.1';
  if (!opts.apiKeysFile && !isLoopback(ingressHost)) {
    throw new SsisError('SSIS_INVALID_CONFIG', `the ingress would listen on ${ingressHost} with no API keys: anyone who can reach it could use the models. Create a key (npx ssis keys create --tenant <name>) and pass --api-keys <file>, or bind 127.0.0.1`, {
      issues: [{ field: '--api-keys', message: 'required when --host is not loopback' }],
    });
  }
  const classNames = ssis.serviceClasses.map((c) => c.name);
  const apiKeys = opts.apiKeysFile
    ? keyFileAuthenticator(opts.apiKeysFile, classNames, ssis.ingress.defaultServiceClass, { onError: (e) => logger.error({ error: e.message }, 'API key file not reloaded; the previous keys stay in force') })
    : undefined;
  // The stack's own parts authenticate to each other with one secret; a client of the public port never sees it.
  const eventSecretPath = join(opts.stateDir, 'event-secret');
  const eventAuth = sharedSecretAuth(stackSecret(eventSecretPath));
  let ingressUrl: string;

  const cluster: StackCluster = opts.cluster
    ? await opts.cluster(configuration, logger.child({ component: 'cluster' }))
    : new SimulatedCluster({
        namespace: ssis.namespace,
        nodes,
        catalog,
        loadTimeScale: opts.loadTimeScale ?? ssis.cluster.loadTimeScale,
        logger: logger.child({ component: 'cluster' }),
        ...(opts.random ? { random: opts.random } : {}),
        // Services, replicas, generations and MIG layouts survive a restart on the same state folder.
        stateFile: join(opts.stateDir, 'cluster-state.json'),
      });

  const functionUrls: Record<string, string> = {};
  const resolve = (d: Destination): string | undefined => {
    if ('kind' in d) {
      const fn = d.kind === 'Service' ? FUNCTION_SERVICES[d.name] : undefined;
      const base = fn ? functionUrls[fn] : undefined;
      return base ? `${base}${d.uri ?? ''}` : undefined;
    }
    return d.uri;
  };
  const eventLogPath = join(opts.stateDir, 'events.jsonl');
  const broker = opts.kafka
    ? new KafkaBroker({ brokers: opts.kafka.brokers, manifests, resolve, logger: logger.child({ component: 'broker' }), intakeAuth: eventAuth, senderAuth: eventAuth, eventLog: fileEventLog(eventLogPath, logger), ...(opts.kafka.names ? { names: opts.kafka.names } : {}), ...(opts.kafka.tuning ? { tuning: opts.kafka.tuning } : {}) })
    : new EmbeddedBroker({ manifests, resolve, logger: logger.child({ component: 'broker' }), intakeAuth: eventAuth, senderAuth: eventAuth, eventLog: fileEventLog(eventLogPath, logger), deadLetterLog: fileEventLog(join(opts.stateDir, 'dead-letter.jsonl'), logger) });
  const brokerUrl = await broker.start();

  const stackMetrics = await startStackMetrics(opts.metrics ?? 'direct', cluster, logger).catch(async (err: unknown) => {
    await broker.stop();
    throw err;
  });
  const metrics = stackMetrics.source;
  const autoscalerConfig = () => configuration.autoscaler;
  const functions: SsisFunction[] = [
    buildRequestFunction({ cluster, catalog, config: ssis, clock, ids }),
    buildSampleFunction({ cluster, catalog, autoscalerConfig, config: ssis, metrics, clock, ids }),
    buildEvaluateFunction({ catalog, autoscalerConfig, config: ssis, clock, ids, inventory: () => gpuInventory(cluster.gpus()) }),
    buildReconfigureFunction({ cluster, catalog, config: ssis, clock, ids }),
    buildRolloutFunction({ cluster, config: ssis, clock, ids }),
  ];
  const servers: Server[] = [];
  let ingress: Ingress | null = null;
  const closeServers = async (): Promise<void> => {
    ingress?.close();
    for (const s of servers) s.closeAllConnections();
    await Promise.all(servers.filter((s) => s.listening).map((s) => new Promise<void>((r) => s.close(() => r()))));
  };
  try {
    for (const fn of functions) {
      const ctx = { logger: logger.child({ function: fn.name }), publisher: httpPublisher(brokerUrl, { sender: eventAuth }), registry: createFunctionRegistry(fn.name) };
      const server = createServer(createFunctionApp(fn, ctx, { bodyLimitBytes: ssis.ingress.maxBodyBytes, intakeAuth: eventAuth }));
      servers.push(server);
      // Every function's event endpoint is on a free loopback port; the public port serves only the inference APIs.
      functionUrls[fn.name] = await listen(server, 0, '127.0.0.1');
    }
    const ingressCtx = { logger: logger.child({ function: 'ingress' }), publisher: httpPublisher(brokerUrl, { sender: eventAuth }), registry: createFunctionRegistry('ingress') };
    ingress = createIngressApp({ cluster, catalog, config: ssis, clock, ids, ...(apiKeys ? { apiKeys } : {}) }, ingressCtx, { bodyLimitBytes: ssis.ingress.maxBodyBytes });
    const publicServer = createServer(ingress.app);
    servers.push(publicServer);
    ingressUrl = await listen(publicServer, opts.ingressPort, ingressHost);
  } catch (err) {
    // Leave nothing running behind a failed start (the process must be able to exit).
    await closeServers();
    await broker.stop();
    await stackMetrics.stop();
    await cluster.shutdown();
    if ((err as { code?: string }).code === 'EADDRINUSE') {
      throw new SsisError('SSIS_INVALID_CONFIG', `port ${opts.ingressPort} is already in use: stop what listens there or choose another with PORT=… or --port`, {
        issues: [{ field: 'PORT', message: 'address already in use' }],
      });
    }
    throw err;
  }

  const pings: PingSourceRunner[] = manifests.pingSources
    .filter((ps) => 'kind' in ps.sink && ps.sink.kind === 'Broker')
    .map((ps) => runPingSource(ps, broker, { clock, ids, ...(opts.sampleEverySec ? { everySec: opts.sampleEverySec } : {}), onError: (err) => logger.error({ error: String(err) }, 'ping failed') }));

  let stopped = false;
  return {
    ingressUrl,
    eventSecretPath,
    brokerUrl,
    functionUrls,
    cluster,
    broker,
    brokerMode: opts.kafka ? `kafka://${opts.kafka.brokers.join(',')}` : 'embedded',
    metricsMode: stackMetrics.description,
    manifests,
    configuration,
    eventLogPath,
    async stop() {
      if (stopped) return;
      stopped = true;
      for (const p of pings) p.stop();
      await closeServers();
      await broker.stop();
      await stackMetrics.stop();
      await cluster.shutdown();
    },
  };
}
