/**
 * `npm run bench:kafka`: the broker's cost in the pipeline, Kafka mode against the embedded broker,
 * in one run. Not a test: it prints figures.
 *
 * The functions run in a child process, as they run in their own pods beside the broker's data
 * plane: three stand-in functions on the real function runtime (HTTP, CloudEvents binary mode, replies)
 * take the places of evaluate (metrics-sampled → scale-decided), reconfigure (scale-decided →
 * slice-reconfigured) and rollout (records when each slice-reconfigured arrives), so the figures
 * measure the broker (ingest, Trigger routing from knative/, ordered dispatch, reply re-ingest),
 * not the MIG planner. Samples are spread over SERVICES partition keys.
 *
 * Phase 1, paced: RATE samples/s for SECONDS; latency from publishing a metrics-sampled to its
 * slice-reconfigured reaching the rollout stand-in (p50, p99). Phase 2, saturated: BURST samples
 * published at once; events/s each handler sustains until the last one is through.
 *
 * Environment: SSIS_BROKER=kafka://… uses that Kafka; otherwise one is started (infra/kafka).
 * BENCH_RATE (167 samples/s = 500 broker events/s, the throughput the brokers must sustain), BENCH_SECONDS (10), BENCH_BURST (3000), BENCH_SERVICES (20),
 * BENCH_WARMUP_SECONDS (5, paced at BENCH_RATE, not measured), BENCH_BROKERS (embedded,kafka: which to run; the
 * ratios need both), BENCH_PARTITIONS (the broker topic's partitions; the knative/ ConfigMap's 10 by default).
 */
import { fork } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createEvent } from '../events/create';
import type { SsisEvent } from '../events/envelope';
import { METRICS_SAMPLED, type MetricsSampled } from '../events/metrics-sampled';
import { SCALE_DECIDED, type ScaleDecided } from '../events/scale-decided';
import { SLICE_RECONFIGURED, type SliceReconfigured } from '../events/slice-reconfigured';
import type { SsisFunction } from '../functions/runtime/function';
import { createFunctionApp, createFunctionRegistry } from '../functions/runtime/server';
import { silentLogger } from '../core/common/ports';
import { EmbeddedBroker } from '../infra/broker/embedded-broker';
import { KafkaBroker } from '../infra/kafka/kafka-broker';
import { startLocalKafka, type LocalKafka } from '../infra/kafka/local-kafka';
import { isKafkaUrl, knativeNames, parseKafkaUrl } from '../infra/kafka/names';
import { loadManifests } from '../infra/knative/manifests';
import type { Destination, KnativeManifests } from '../infra/knative/types';

const RATE = Number(process.env['BENCH_RATE'] ?? 167);
const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 10);
const BURST = Number(process.env['BENCH_BURST'] ?? 3000);
const SERVICES = Number(process.env['BENCH_SERVICES'] ?? 20);
const WARMUP_SECONDS = Number(process.env['BENCH_WARMUP_SECONDS'] ?? 5);
/** Each sample makes three broker events: metrics-sampled, scale-decided, slice-reconfigured. */
const EVENTS_PER_SAMPLE = 3;
/** BENCH_PARTITIONS: the broker ConfigMap's default.topic.partitions for this run (kafkajs' cost per fetch grows with it). */
function withPartitions(loaded: KnativeManifests, partitions: string | undefined): KnativeManifests {
  const configName = loaded.broker.config?.name;
  if (partitions === undefined || configName === undefined) return loaded;
  const configMaps = new Map(loaded.configMaps);
  configMaps.set(configName, { ...configMaps.get(configName), 'default.topic.partitions': partitions });
  return { ...loaded, configMaps };
}
const manifests = withPartitions(loadManifests(join(__dirname, '..', 'knative')), process.env['BENCH_PARTITIONS']);

interface Broker {
  publish(e: SsisEvent): Promise<void>;
  stop(): Promise<void>;
}

let seq = 0;
const ids = { next: () => `bench-${++seq}` };
const clock = { nowMs: () => Date.now() };
const SOURCE = '/ssis/bench';
const T = new Date().toISOString();

function sample(service: string, generation: number): SsisEvent<MetricsSampled> {
  const data: MetricsSampled = {
    service, modelId: 'openai-community/gpt2', generation, revision: `${service}-00001`, profile: '1g.5gb', gpuModel: 'A100-SXM4-40GB', replicas: 1, readyReplicas: 1,
    rolloutInProgress: false, windowSec: 20, sampledAt: T, metrics: [{ name: 'ttft_p95', value: 0.4 }],
    load: { arrivalRatePerSec: 3, avgInputTokens: 100, avgOutputTokens: 20, requestsRunning: 1, requestsWaiting: 0, ttftMs: 400, itlMs: 20, kvCacheUsage: 0.3 },
    placeableProfiles: ['1g.5gb', '2g.10gb'],
  };
  return createEvent(METRICS_SAMPLED, data, { source: SOURCE, clock, ids });
}

/** Stand-in handlers; `seen` gets (service, generation) of each slice-reconfigured at arrival. */
function standIns(seen: (key: string, atMs: number) => void): Record<string, SsisFunction> {
  return {
    evaluate: {
      name: 'evaluate', handles: [METRICS_SAMPLED],
      onEvent: (e) => {
        const s = e.data as MetricsSampled;
        const d: ScaleDecided = {
          decisionId: `${s.service}-g${s.generation}`, service: s.service, modelId: s.modelId, action: 'out', policy: 'ssis-ladder', fromGeneration: s.generation,
          current: { profile: '1g.5gb', gpuModel: 'A100-SXM4-40GB', replicas: 1 }, target: { profile: '1g.5gb', gpuModel: 'A100-SXM4-40GB', replicas: 2 }, reason: 'bench', decidedAt: T,
        };
        return Promise.resolve(createEvent(SCALE_DECIDED, d, { source: SOURCE, clock, ids }));
      },
    },
    reconfigure: {
      name: 'reconfigure', handles: [SCALE_DECIDED],
      onEvent: (e) => {
        const d = e.data as ScaleDecided;
        const r: SliceReconfigured = {
          decisionId: d.decisionId, service: d.service, modelId: d.modelId, fromGeneration: d.fromGeneration, revision: `${d.service}-00002`, previousRevision: null,
          profile: '1g.5gb', gpuModel: 'A100-SXM4-40GB', replicas: 2, slices: [], layouts: [], reconfiguredAt: T,
        };
        return Promise.resolve(createEvent(SLICE_RECONFIGURED, r, { source: SOURCE, clock, ids }));
      },
    },
    rollout: {
      name: 'rollout', handles: [SLICE_RECONFIGURED],
      onEvent: (e) => {
        const r = e.data as SliceReconfigured;
        seen(`${r.service}/${r.fromGeneration}`, Date.now());
        return Promise.resolve(undefined);
      },
    },
    // The other Triggers' subscribers (request dispatch, sample tick) get nothing in this bench.
    request: { name: 'request', handles: [], onEvent: () => Promise.resolve(undefined) },
    sample: { name: 'sample', handles: [], onEvent: () => Promise.resolve(undefined) },
  };
}

const SERVICE_OF: Readonly<Record<string, string>> = { 'ssis-request': 'request', 'ssis-sample': 'sample', 'ssis-evaluate': 'evaluate', 'ssis-reconfigure': 'reconfigure', 'ssis-rollout': 'rollout' };

async function serve(fns: Record<string, SsisFunction>): Promise<{ urls: Record<string, string>; close: () => Promise<void> }> {
  const servers: Server[] = [];
  const urls: Record<string, string> = {};
  for (const [name, fn] of Object.entries(fns)) {
    const server = createServer(createFunctionApp(fn, { logger: silentLogger, publisher: { publish: () => Promise.resolve() }, registry: createFunctionRegistry(name) }));
    server.keepAliveTimeout = 60_000;
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    servers.push(server);
    urls[name] = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }
  return {
    urls,
    close: async () => {
      for (const s of servers) s.closeAllConnections();
      await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
    },
  };
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

interface Result {
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly delivered: number;
  readonly sent: number;
  readonly pacedRate: number;
  readonly perHandlerPerSec: number;
}

/** The stand-in functions in a child process; arrivals come back over IPC with the child's clock (same machine). */
async function functionsProcess(seen: (key: string, atMs: number) => void): Promise<{ urls: Record<string, string>; close: () => Promise<void> }> {
  const child = fork(__filename, ['--functions'], { execArgv: ['--require', 'tsx/cjs'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const urls = await new Promise<Record<string, string>>((resolve, reject) => {
    child.on('message', (m: { urls?: Record<string, string>; key?: string; at?: number }) => {
      if (m.urls) resolve(m.urls);
      else if (m.key !== undefined && m.at !== undefined) seen(m.key, m.at);
    });
    child.once('exit', (code) => reject(new Error(`functions process exited with ${code}`)));
  });
  return { urls, close: () => new Promise<void>((r) => { child.once('exit', () => r()); child.kill('SIGTERM'); }) };
}

async function runOne(label: string, make: (resolve: (d: Destination) => string | undefined) => Promise<Broker>): Promise<Result> {
  const published = new Map<string, number>();
  const latencies: number[] = [];
  let arrived = 0;
  let onArrival: () => void = () => undefined;
  const { urls, close } = await functionsProcess((key, at) => {
    const t0 = published.get(key);
    if (t0 !== undefined) {
      latencies.push(at - t0);
      published.delete(key);
    }
    arrived++;
    onArrival();
  });
  const broker = await make((d) => ('kind' in d ? urls[SERVICE_OF[d.name] ?? ''] : d.uri));
  const gen = new Map<string, number>();
  const next = (i: number): SsisEvent<MetricsSampled> => {
    const service = `bench${i % SERVICES}`;
    const g = (gen.get(service) ?? 0) + 1;
    gen.set(service, g);
    return sample(service, g);
  };
  const waitArrivals = async (count: number, timeoutMs: number): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    while (arrived < count && Date.now() < deadline) await new Promise<void>((r) => { onArrival = r; setTimeout(r, 100); });
  };

  // Warm-up: connections, consumer fetch loops, and the JITs (Node's and the broker JVM's C2) at the paced rate.
  const warmTotal = Math.max(200, Math.round(RATE * WARMUP_SECONDS));
  const warmStart = Date.now();
  for (let i = 0; i < warmTotal; ) {
    const due = Math.min(warmTotal, Math.floor(((Date.now() - warmStart) / 1000) * RATE) + 1);
    const batch: Promise<void>[] = [];
    for (; i < due; i++) batch.push(broker.publish(next(i)));
    await Promise.all(batch);
    await new Promise((r) => setTimeout(r, 2));
  }
  await waitArrivals(warmTotal, 30_000);
  latencies.length = 0;

  // Phase 1: paced.
  const total = RATE * SECONDS;
  const started = Date.now();
  let sent = 0;
  arrived = 0;
  while (sent < total) {
    const due = Math.min(total, Math.floor(((Date.now() - started) / 1000) * RATE));
    const batch: Promise<void>[] = [];
    for (; sent < due; sent++) {
      const e = next(sent);
      published.set(`${e.data.service}/${e.data.generation}`, Date.now());
      batch.push(broker.publish(e));
    }
    await Promise.all(batch);
    await new Promise((r) => setTimeout(r, 2));
  }
  const pacedRate = total / ((Date.now() - started) / 1000);
  await waitArrivals(total, 30_000);
  const sorted = [...latencies].sort((a, b) => a - b);
  const paced = { p50Ms: percentile(sorted, 50), p99Ms: percentile(sorted, 99), maxMs: sorted.at(-1) ?? Number.NaN, delivered: latencies.length, sent: total, pacedRate };

  // Phase 2: saturated.
  arrived = 0;
  const burstStart = Date.now();
  await Promise.all(Array.from({ length: BURST }, (_, i) => broker.publish(next(i))));
  await waitArrivals(BURST, 120_000);
  const perHandlerPerSec = arrived / ((Date.now() - burstStart) / 1000);

  await broker.stop();
  await close();
  const r = { ...paced, perHandlerPerSec };
  process.stdout.write(`${label.padEnd(9)} paced ${r.pacedRate.toFixed(0)} samples/s (${(r.pacedRate * EVENTS_PER_SAMPLE).toFixed(0)} broker events/s): p50 ${r.p50Ms.toFixed(1)} ms, p99 ${r.p99Ms.toFixed(1)} ms, max ${r.maxMs.toFixed(0)} ms (${r.delivered}/${r.sent} through); saturated: ${r.perHandlerPerSec.toFixed(0)} events/s per handler\n`);
  return r;
}

async function main(): Promise<void> {
  process.stdout.write(`bench:kafka — metrics-sampled → evaluate → scale-decided → reconfigure → slice-reconfigured → rollout; ${RATE}/s for ${SECONDS}s over ${SERVICES} partition keys, then a burst of ${BURST}\n`);
  let local: LocalKafka | undefined;
  let brokers: string[];
  const configured = process.env['SSIS_BROKER'];
  if (isKafkaUrl(configured)) {
    brokers = parseKafkaUrl(configured);
  } else {
    local = await startLocalKafka({ heapMb: 1024, jvm: (process.env['BENCH_JVM'] as 'throughput' | 'start-up' | undefined) ?? 'start-up' });
    brokers = [local.bootstrap];
  }
  try {
    const only = (process.env['BENCH_BROKERS'] ?? 'embedded,kafka').split(',');
    const skipped: Result = { p50Ms: Number.NaN, p99Ms: Number.NaN, maxMs: Number.NaN, delivered: 0, sent: 0, pacedRate: 0, perHandlerPerSec: 0 };
    const embedded = !only.includes('embedded') ? skipped : await runOne('embedded', async (resolve) => {
      const b = new EmbeddedBroker({ manifests, resolve });
      await b.start();
      return b;
    });
    const kafka = !only.includes('kafka') ? skipped : await runOne('kafka', async (resolve) => {
      const b = new KafkaBroker({ brokers, manifests, resolve, names: knativeNames(manifests, `-bench-${Date.now()}`), ingress: false });
      await b.start();
      return b;
    });
    const ratio = (k: number, e: number): string => (e > 0 ? `${(k / e).toFixed(2)}×` : 'n/a');
    process.stdout.write(
      `ratios kafka/embedded: p50 ${ratio(kafka.p50Ms, embedded.p50Ms)}, p99 ${ratio(kafka.p99Ms, embedded.p99Ms)}, saturated throughput ${ratio(kafka.perHandlerPerSec, embedded.perHandlerPerSec)}\n` +
        `target (p99 < 50 ms at ${RATE} samples/s = ${RATE * EVENTS_PER_SAMPLE} broker events/s on Kafka): ${kafka.p99Ms < 50 ? 'met' : 'NOT met'}\n`,
    );
  } finally {
    await local?.destroy();
  }
}

if (process.argv.includes('--functions')) {
  void serve(standIns((key, at) => process.send?.({ key, at }))).then(({ urls }) => process.send?.({ urls }));
} else {
  main().catch((err: unknown) => {
    process.stderr.write(`bench:kafka failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
    process.exitCode = 1;
  });
}
