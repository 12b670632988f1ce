/** `ssis start`: the embedded stack in the foreground until SIGINT/SIGTERM. */
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { SimulatedNodeConfig } from '../core/config/ssis-config';
import { SsisError } from '../core/errors';
import { startEmbeddedStack } from '../app/embedded-stack';
import { parseMetricsMode } from '../app/stack-metrics';
import { kubeCluster } from '../app/kube-stack';
import { parseKafkaUrl } from '../infra/kafka/names';
import { createJsonLogger, type LogLevel } from '../infra/logging/json-logger';
import { PROJECT_ROOT } from '../infra/project-root';

const HELP = `Usage: ssis start [options]

Runs the whole SSIS system on one machine: embedded broker (Triggers from knative/), the five
functions, a simulated MIG cluster with emulated inference servers, and the ingress.

Options:
  --port <n>            ingress port (default: $PORT or 8080)
  --host <addr>         ingress address (default: 127.0.0.1; any other needs --api-keys)
  --api-keys <file>     API keys of the inference APIs (ssis keys create); default: $SSIS_API_KEYS_FILE,
                        else none: every caller on loopback is the anonymous tenant
  --nodes <spec>        simulated GPUs, e.g. "node-a=2xA100-SXM4-40GB;node-b=2xH100-80GB"
                        (default: ssis-config's cluster.nodes: 2 nodes × 2 A100-SXM4-40GB)
  --sample-every <sec>  metrics sampling period (default 2; the cluster's PingSource says 10)
  --knative <dir>       manifests to run (default: knative/)
  --state-dir <dir>     event log and state (default: .ssis/)
  --log-level <level>   debug | info | warn | error (default: info, or $SSIS_LOG_LEVEL)
  --broker <url>        kafka://host:port: the Knative Kafka Broker semantics on a real Kafka
                        (default: $SSIS_BROKER; unset = the embedded in-memory broker).
                        A local Kafka: npm run kafka -- start (see README "Kafka mode")
  --metrics <mode>      where the sample function reads metrics (default: $SSIS_METRICS or direct):
                        direct = scrape the replicas, PromQL in-process; prometheus = start a
                        local Prometheus (/usr/bin/prometheus) scraping them; http://… = a running one
  --kube                the functions drive a real local kube-apiserver instead of the simulated
                        cluster (README "Local control plane"): etcd, kube-apiserver,
                        kube-scheduler and KWOK GPU nodes, with stand-ins for the GPU operator's
                        mig-manager and Knative Serving; prints the kubeconfig for kubectl
`;

/** KWOK nodes of the --kube mode: a Kubernetes node holds GPUs of one product. */
const KUBE_DEFAULT_NODES: SimulatedNodeConfig[] = [
  { name: 'node-a', gpus: [{ model: 'A100-SXM4-40GB', count: 2 }] },
  { name: 'node-b', gpus: [{ model: 'A100-SXM4-40GB', count: 2 }] },
];

export function parseNodes(spec: string): SimulatedNodeConfig[] {
  return spec.split(';').filter((s) => s.trim() !== '').map((part, i) => {
    const [name, gpus] = part.includes('=') ? part.split('=', 2) as [string, string] : [`node-${i + 1}`, part];
    return {
      name: name.trim(),
      gpus: gpus.split(',').map((g) => {
        const m = /^\s*(\d+)\s*x\s*([A-Za-z0-9-]+)\s*$/.exec(g);
        if (!m) throw new SsisError('SSIS_INVALID_CONFIG', `--nodes: "${g}" is not <count>x<GPU model>`, { issues: [{ field: '--nodes', message: `bad GPU spec "${g}"` }] });
        return { model: m[2]!, count: Number(m[1]) };
      }),
    };
  });
}

export async function runStart(argv: readonly string[]): Promise<void> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      port: { type: 'string' }, host: { type: 'string' }, nodes: { type: 'string' }, 'sample-every': { type: 'string' },
      knative: { type: 'string' }, 'state-dir': { type: 'string' }, 'log-level': { type: 'string' }, broker: { type: 'string' }, metrics: { type: 'string' }, kube: { type: 'boolean' }, 'api-keys': { type: 'string' }, help: { type: 'boolean' },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return;
  }
  const root = PROJECT_ROOT;
  const port = Number(values.port ?? process.env['PORT'] ?? 8080);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new SsisError('SSIS_INVALID_CONFIG', `--port must be 0-65535, got ${values.port ?? process.env['PORT'] ?? ''}`);
  const sampleEverySec = Number(values['sample-every'] ?? 2);
  const level = (values['log-level'] ?? process.env['SSIS_LOG_LEVEL'] ?? 'info') as LogLevel;
  const logger = createJsonLogger({ level, base: { app: 'ssis' } });
  const nodeSpec = values.nodes ?? process.env['SSIS_NODES'];
  const stateDir = resolve(values['state-dir'] ?? join(root, '.ssis'));
  const brokerUrl = values.broker ?? process.env['SSIS_BROKER'];
  const kafka = brokerUrl !== undefined && brokerUrl.trim() !== '' ? { brokers: parseKafkaUrl(brokerUrl, values.broker ? '--broker' : 'SSIS_BROKER') } : undefined;
  const apiKeysFile = values['api-keys'] ?? process.env['SSIS_API_KEYS_FILE'];
  const stack = await startEmbeddedStack({
    knativeDir: resolve(values.knative ?? join(root, 'knative')),
    stateDir,
    ingressPort: port,
    ingressHost: values.host ?? process.env['SSIS_HOST'] ?? '127.0.0.1',
    ...(apiKeysFile ? { apiKeysFile: resolve(apiKeysFile) } : {}),
    logger,
    sampleEverySec,
    ...(nodeSpec ? { nodes: parseNodes(nodeSpec) } : {}),
    ...(kafka ? { kafka } : {}),
    ...(values.kube ? { cluster: kubeCluster({ nodes: nodeSpec ? parseNodes(nodeSpec) : KUBE_DEFAULT_NODES }) } : {}),
    metrics: parseMetricsMode(values.metrics ?? process.env['SSIS_METRICS'] ?? 'direct', values.metrics ? '--metrics' : 'SSIS_METRICS'),
  });

  const gpus = stack.cluster.gpus();
  const kubeconfig = stack.cluster.kubeconfigPath;
  const lines = [
    '',
    `SSIS is running (${kafka ? `Kafka broker at ${stack.brokerMode}` : 'embedded: in-memory broker'}, ${values.kube ? 'local kube-apiserver with KWOK GPU nodes' : 'simulated MIG cluster'}, emulated inference servers)`,
    `  ingress     ${stack.ingressUrl}   (SSIS body on POST /, OpenAI on /v1/completions, /v1/chat/completions; ${apiKeysFile ? `API keys from ${apiKeysFile}` : 'no API keys: loopback callers are anonymous'})`,
    `  broker      ${stack.brokerUrl}   (Trigger routing from knative/, metrics on /metrics)`,
    // Event endpoints: they take CloudEvents only with the stack's secret (.ssis/event-secret).
    ...Object.entries(stack.functionUrls).map(([n, u]) => `  ${n.padEnd(11)} ${u}${n === 'request' ? '   (dispatch; event endpoints need the secret in ' + stack.eventSecretPath + ')' : ''}`),
    `  cluster     ${gpus.length} GPUs: ${[...new Set(gpus.map((g) => g.node))].map((n) => `${n} (${gpus.filter((g) => g.node === n).map((g) => g.model).join(', ')})`).join('; ')}`,
    ...(kubeconfig ? [`  kubectl     kubectl --kubeconfig ${kubeconfig} get ksvc,revisions,nodes -A -L nvidia.com/mig.config`] : []),
    `  models      ${[...stack.configuration.catalog.keys()].join(', ')}`,
    `  events      ${stack.eventLogPath}   (npx ssis events${kafka ? `; the topic: npx ssis events --broker ${stack.brokerMode}` : ''})`,
    `  sampling    every ${sampleEverySec}s, metrics ${stack.metricsMode === 'direct' ? 'scraped in-process' : `from Prometheus at ${stack.metricsMode}`}`,
    '',
    'Try:',
    `  curl -s ${stack.ingressUrl.replace('127.0.0.1', 'localhost')} -H 'content-type: application/json' \\`,
    `    -d '{"token":"What is Deep Learning?","par":{"max_new_tokens":20},"env":{"MODEL_ID":"openai-community/gpt2"}}'`,
    '',
  ];
  process.stderr.write(`${lines.join('\n')}\n`);

  await new Promise<void>((done) => {
    const shutdown = (signal: string): void => {
      logger.info({ signal }, 'stopping');
      // Stopping waits on child processes (the local control plane's) that do not hold the event
      // loop open by themselves: without this, Node would exit half-way through the stop.
      const keepAlive = setInterval(() => undefined, 1000);
      stack.stop().then(done, (err: unknown) => {
        logger.error({ error: String(err) }, 'stop failed');
        done();
      }).finally(() => clearInterval(keepAlive));
    };
    process.once('SIGINT', () => shutdown('SIGINT'));
    process.once('SIGTERM', () => shutdown('SIGTERM'));
  });
}
