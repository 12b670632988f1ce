/**
 * A single-node Apache Kafka (KRaft, broker + controller in one JVM) on loopback, from the jars
 * that infra/kafka/pom.xml fetches from Maven Central into .cache/kafka/<version>/lib
 * (notes/knative-kafka.md §6): no tarball, no Docker.
 *
 * Every start gets its own run folder (config, data, log, pid files) and, unless told otherwise,
 * free ports, so a broker left behind by a crashed run never collides with the next one; such
 * leftovers are reaped on the next start (their owner process is gone).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { SsisError } from '../../core/errors';
import { PROJECT_ROOT } from '../project-root';
import { belongsToRunFolder, isAlive, killPidFileProcess, readPid, reapOrphanedRunFolders } from '../local-process/run-folders';

/** Keep in step with <kafka.version> in infra/kafka/pom.xml (passed to mvn, so this one wins). */
export const KAFKA_VERSION = '4.3.1';
export { PROJECT_ROOT };
const RUN_DIR_PREFIX = 'ssis-kafka-';

export function kafkaLibDir(root = PROJECT_ROOT, version = KAFKA_VERSION): string {
  return join(root, '.cache', 'kafka', version, 'lib');
}

/**
 * Copies kafka_2.13 and its runtime dependencies into the cache with `mvn` unless already there.
 * A marker file is written last, so an interrupted fetch is redone rather than half-used.
 * @throws {SsisError} SSIS_BROKER_START_FAILED when mvn is missing or fails
 */
export function fetchKafka(opts: { root?: string; version?: string; quiet?: boolean } = {}): string {
  const root = opts.root ?? PROJECT_ROOT;
  const version = opts.version ?? KAFKA_VERSION;
  const lib = kafkaLibDir(root, version);
  const marker = join(lib, '.complete');
  if (existsSync(marker)) return lib;
  const args = ['-B', ...(opts.quiet === false ? [] : ['-q']), '-f', join(root, 'infra', 'kafka', 'pom.xml'), 'dependency:copy-dependencies',
    `-DoutputDirectory=${lib}`, '-DincludeScope=runtime', `-Dkafka.version=${version}`];
  const run = spawnSync('mvn', args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (run.error || run.status !== 0) {
    const why = run.error ? String(run.error) : `${run.stdout}${run.stderr}`.trim().split('\n').slice(-15).join('\n');
    throw new SsisError('SSIS_BROKER_START_FAILED', `fetching Apache Kafka ${version} from Maven Central failed (needs mvn and Java 17+): ${why}`);
  }
  writeFileSync(marker, `${new Date().toISOString()}\n`);
  return lib;
}

/** A port the OS says is free now (there is a small race until Kafka binds it; runs are local). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done, fail) => {
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => done());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  await new Promise<void>((done) => server.close(() => done()));
  return port;
}

export interface LocalKafkaOptions {
  readonly root?: string;
  readonly version?: string;
  /** PLAINTEXT port on 127.0.0.1; a free one when absent. */
  readonly port?: number;
  readonly controllerPort?: number;
  /** Run folder; a fresh one under the OS temp folder when absent. */
  readonly runDir?: string;
  /** Outlive this process (the `ssis kafka start` command); tests keep it attached. */
  readonly detached?: boolean;
  readonly heapMb?: number;
  /**
   * 'start-up' (default): C1 only and the serial GC, for test brokers that live seconds to minutes.
   * 'throughput': the JVM's full tiered compilation and G1, for benchmarks and long runs.
   */
  readonly jvm?: 'start-up' | 'throughput';
  /** Default partition count of auto-created topics. */
  readonly partitions?: number;
}

export interface LocalKafka {
  /** host:port for kafkajs `brokers`. */
  readonly bootstrap: string;
  readonly runDir: string;
  pid(): number | undefined;
  /** Waits until the broker answers metadata requests. */
  ready(timeoutMs?: number): Promise<void>;
  /** Stops the JVM (SIGTERM, then SIGKILL after graceMs) and keeps the data for a restart. */
  stop(graceMs?: number): Promise<void>;
  /** Starts the JVM again on the same ports and data (a broker restart). */
  restart(): Promise<void>;
  /** Stops the JVM and deletes the run folder. */
  destroy(): Promise<void>;
  /** Synchronous last resort (process 'exit' handlers): SIGKILL, no clean-up. */
  killNow(): void;
}

function serverProperties(o: { port: number; controllerPort: number; dataDir: string; partitions: number }): string {
  return [
    '# Written by infra/kafka/local-kafka.ts: one KRaft node, loopback only, test-tuned.',
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@127.0.0.1:${o.controllerPort}`,
    `listeners=PLAINTEXT://127.0.0.1:${o.port},CONTROLLER://127.0.0.1:${o.controllerPort}`,
    `advertised.listeners=PLAINTEXT://127.0.0.1:${o.port}`,
    'inter.broker.listener.name=PLAINTEXT',
    'controller.listener.names=CONTROLLER',
    'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
    `log.dirs=${o.dataDir}`,
    `num.partitions=${o.partitions}`,
    'offsets.topic.replication.factor=1',
    // One partition for committed offsets instead of 50: the broker is up in ~2 s, not ~10.
    'offsets.topic.num.partitions=1',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    'share.coordinator.state.topic.replication.factor=1',
    'share.coordinator.state.topic.min.isr=1',
    // The default 3 s would delay every consumer group's first join.
    'group.initial.rebalance.delay.ms=0',
    // Lets a test consumer use a short session, so a killed one is replaced in seconds.
    'group.min.session.timeout.ms=1000',
    'auto.create.topics.enable=true',
    // A single-node broker on a small machine: fewer request threads than the defaults (3 network,
    // 8 I/O) means less context switching against the clients on the same cores.
    'num.network.threads=1',
    'num.io.threads=2',
    '',
  ].join('\n');
}

const LOG4J2 = [
  'status = warn',
  'appender.file.type = Console',
  'appender.file.name = OUT',
  'appender.file.layout.type = PatternLayout',
  'appender.file.layout.pattern = [%d] %p %m (%c)%n',
  'rootLogger.level = warn',
  'rootLogger.appenderRef.out.ref = OUT',
  // "Kafka Server started" is the one INFO line worth keeping.
  'logger.server.name = kafka.server.KafkaRaftServer',
  'logger.server.level = info',
  '',
].join('\n');

/**
 * Kills brokers whose owning process is gone (a test run that was SIGKILLed) and deletes their run
 * folders, so their ports and disk are freed. Detached brokers (`ssis kafka start`) have no owner.
 */
export function reapStaleKafkas(base = tmpdir()): number {
  return reapOrphanedRunFolders(base, RUN_DIR_PREFIX, (dir) => killPidFileProcess(join(dir, 'kafka.pid'), dir));
}

function tail(path: string, lines = 20): string {
  try {
    return readFileSync(path, 'utf8').trim().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/**
 * Waits until the broker at `bootstrap` answers metadata requests with a controller.
 * @throws {SsisError} SSIS_BROKER_UNAVAILABLE on timeout; SSIS_BROKER_START_FAILED when `running` says the JVM is gone
 */
export async function waitForKafka(bootstrap: string, opts: { timeoutMs?: number; running?: () => boolean; logPath?: string } = {}): Promise<void> {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const deadline = Date.now() + timeoutMs;
  const log = (): string => (opts.logPath ? `:\n${tail(opts.logPath)}` : '');
  const admin = new Kafka({ clientId: 'ssis-local-kafka', brokers: [bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 0 }, connectionTimeout: 1000 }).admin();
  try {
    for (;;) {
      if (opts.running && !opts.running()) throw new SsisError('SSIS_BROKER_START_FAILED', `Kafka exited during start-up${log()}`);
      try {
        await admin.connect();
        const cluster = await admin.describeCluster();
        if (cluster.brokers.length > 0 && cluster.controller !== null) return;
      } catch {
        /* not up yet */
      }
      if (Date.now() > deadline) throw new SsisError('SSIS_BROKER_UNAVAILABLE', `Kafka at ${bootstrap} not ready after ${timeoutMs} ms${log()}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/** The broker started detached in `runDir` (`ssis kafka start`), if it still runs. */
export function detachedKafka(runDir: string): { pid: number; bootstrap: string } | undefined {
  const pid = readPid(join(runDir, 'kafka.pid'));
  if (pid === undefined || !isAlive(pid) || !belongsToRunFolder(pid, runDir)) return undefined;
  return { pid, bootstrap: readFileSync(join(runDir, 'bootstrap'), 'utf8').trim() };
}

/** Stops the detached broker of `runDir` (SIGTERM, SIGKILL after graceMs); false when none ran. */
export async function stopDetachedKafka(runDir: string, graceMs = 15_000): Promise<boolean> {
  const running = detachedKafka(runDir);
  if (!running) return false;
  process.kill(running.pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (isAlive(running.pid)) {
    if (Date.now() > deadline) process.kill(running.pid, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 100));
  }
  return true;
}

/**
 * Formats storage (first start only) and starts the broker; resolves once it is ready.
 * @throws {SsisError} SSIS_BROKER_START_FAILED when mvn or Java is missing or the JVM exits; SSIS_BROKER_UNAVAILABLE when the broker does not come up in time
 */
export async function startLocalKafka(opts: LocalKafkaOptions = {}): Promise<LocalKafka> {
  const lib = fetchKafka({ ...(opts.root ? { root: opts.root } : {}), ...(opts.version ? { version: opts.version } : {}) });
  if (!opts.detached) reapStaleKafkas();
  const runDir = opts.runDir ?? mkdtempSync(join(tmpdir(), RUN_DIR_PREFIX));
  mkdirSync(runDir, { recursive: true });
  const port = opts.port ?? (await freePort());
  const controllerPort = opts.controllerPort ?? (await freePort());
  const dataDir = join(runDir, 'data');
  const propsPath = join(runDir, 'server.properties');
  const logPath = join(runDir, 'kafka.log');
  writeFileSync(propsPath, serverProperties({ port, controllerPort, dataDir, partitions: opts.partitions ?? 1 }));
  writeFileSync(join(runDir, 'log4j2.properties'), LOG4J2);
  if (opts.detached) rmSync(join(runDir, 'owner.pid'), { force: true });
  else writeFileSync(join(runDir, 'owner.pid'), `${process.pid}\n`);
  const classpath = `${lib}/*`;

  if (!existsSync(join(dataDir, 'meta.properties'))) {
    const clusterId = spawnSync('java', ['-cp', classpath, 'kafka.tools.StorageTool', 'random-uuid'], { encoding: 'utf8' });
    if (clusterId.error || clusterId.status !== 0) {
      throw new SsisError('SSIS_BROKER_START_FAILED', `cannot run Java 17+ for Kafka: ${String(clusterId.error ?? clusterId.stderr)}`);
    }
    const format = spawnSync('java', ['-cp', classpath, 'kafka.tools.StorageTool', 'format', '-t', clusterId.stdout.trim(), '-c', propsPath, '--ignore-formatted'], { encoding: 'utf8' });
    if (format.status !== 0) throw new SsisError('SSIS_BROKER_START_FAILED', `formatting Kafka storage failed: ${format.stderr || format.stdout}`);
  }

  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  const jvmArgs = [
    `-Xms128m`, `-Xmx${opts.heapMb ?? 512}m`,
    // Start-up over throughput by default: a test broker lives for seconds to minutes on a 2-core machine.
    ...(opts.jvm === 'throughput' ? ['-XX:+UseG1GC', '-XX:MaxGCPauseMillis=20'] : ['-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1']),
    '-Djava.awt.headless=true',
    `-Dlog4j2.configurationFile=file:${join(runDir, 'log4j2.properties')}`,
    '-cp', classpath, 'kafka.Kafka', propsPath,
  ];
  const launch = (): void => {
    const out = openSync(logPath, 'a');
    const proc = spawn('java', jvmArgs, { cwd: runDir, detached: opts.detached ?? false, stdio: ['ignore', out, out] });
    closeSync(out);
    child = proc;
    exited = new Promise<void>((done) => proc.once('exit', () => done()));
    if (proc.pid !== undefined) writeFileSync(join(runDir, 'kafka.pid'), `${proc.pid}\n`);
    if (opts.detached) proc.unref();
  };
  const running = (): boolean => child !== undefined && child.exitCode === null && child.signalCode === null;
  const bootstrap = `127.0.0.1:${port}`;

  writeFileSync(join(runDir, 'bootstrap'), `${bootstrap}\n`);
  const ready = (timeoutMs = 60_000): Promise<void> => waitForKafka(bootstrap, { timeoutMs, running, logPath });

  const stop = async (graceMs = 10_000): Promise<void> => {
    if (!running()) return;
    child?.kill('SIGTERM');
    const timer = setTimeout(() => child?.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  };

  launch();
  const kafka: LocalKafka = {
    bootstrap,
    runDir,
    pid: () => child?.pid,
    ready,
    stop,
    async restart() {
      await stop();
      launch();
      await ready();
    },
    async destroy() {
      await stop();
      rmSync(runDir, { recursive: true, force: true });
    },
    killNow() {
      if (running()) child?.kill('SIGKILL');
    },
  };
  try {
    await ready();
  } catch (err) {
    if (!opts.detached) await kafka.destroy();
    throw err;
  }
  return kafka;
}
