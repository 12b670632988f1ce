/**
 * A real Kubernetes control plane on loopback, started and stopped by the project's own code:
 * etcd and kube-apiserver (RBAC, ServiceAccount tokens, the Knative CRDs), and optionally
 * kube-scheduler and KWOK, which plays the kubelet for Nodes annotated `kwok.x-k8s.io/node=fake`
 * (they turn Ready; pods bound to them run). The programs come from control-plane/build.sh.
 *
 * Not here: kube-controller-manager (so no namespace `default` ServiceAccounts, no garbage
 * collection, no namespace deletion, no node lifecycle), Knative's controllers and webhooks, the
 * GPU operator. What stands in for them is said where it is done.
 *
 * Every start gets its own run folder (keys, tokens, certificates, etcd data, logs, pid files) and
 * free ports, unless told otherwise; planes left by a run that was killed outright are reaped at
 * the next start, as infra/kafka/local-kafka.ts does for brokers.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { get as httpsGet } from 'node:https';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { SsisError } from '../../core/errors';
import { buildControlPlane, type ControlPlaneBinaries } from './control-plane-binaries';
import { installCrds, KNATIVE_CRD_DIR, loadKnativeCrds } from './knative-crds';
import { loadKubeConfig, writeKubeconfig } from './kubeconfig';
import { killRunFolderPids, reapOrphanedRunFolders, runFolderPids, startRunFolderProcess, stopRunFolderPids, tailOf, type RunFolderProcess } from '../local-process/run-folders';
import { ensureServiceAccount, writeServiceAccountKubeconfig, type ServiceAccountToken } from './service-accounts';

const RUN_DIR_PREFIX = 'ssis-kube-';
const STATE_FILE = 'control-plane.json';
/** Reverse start order: the API server must go before etcd, or it hangs retrying etcd. */
const STOP_ORDER = ['kwok', 'kube-scheduler', 'kube-apiserver', 'etcd'] as const;
export const SERVICE_CLUSTER_IP_RANGE = '10.96.0.0/16';
export const SERVICE_ACCOUNT_ISSUER = 'https://kubernetes.default.svc.cluster.local';
/** The annotation KWOK is told to manage; a Node without it is left alone. */
export const KWOK_NODE_ANNOTATION = 'kwok.x-k8s.io/node';

export interface LocalControlPlaneOptions {
  /** Run folder; a fresh one under the OS temp folder when absent. An existing one is restarted. */
  readonly runDir?: string;
  /** kube-apiserver's port on 127.0.0.1; a free one when absent (or the port of a restarted folder). */
  readonly apiserverPort?: number;
  /** Outlive this process (`ssis kube start`); tests keep the plane attached. */
  readonly detached?: boolean;
  /** kube-scheduler and KWOK (default true); without them Nodes and Pods are plain stored objects. */
  readonly nodes?: boolean;
  /** Folder of the Knative CRDs to install (default shared/reference/knative-crds); false for none. */
  readonly knativeCrds?: string | false;
  readonly readyTimeoutMs?: number;
  /** build.sh progress to stderr (default true: a cold build takes minutes). */
  readonly buildProgress?: boolean;
}

export interface LocalControlPlane {
  /** https://127.0.0.1:<port> */
  readonly server: string;
  /** kubeconfig of the admin user (group system:masters). */
  readonly kubeconfigPath: string;
  readonly adminToken: string;
  /** CA bundle of the API server's serving certificate. */
  readonly caPath: string;
  readonly runDir: string;
  readonly binaries: ControlPlaneBinaries;
  /** A client configuration for the admin user. */
  kubeConfig(): KubeConfig;
  /**
   * Creates the ServiceAccount if absent and writes a kubeconfig that authenticates as it with a
   * TokenRequest token: how a function gets the identity knative/rbac.yaml grants.
   */
  serviceAccountKubeconfig(namespace: string, name: string, opts?: { expirationSeconds?: number }): Promise<ServiceAccountToken & { kubeconfigPath: string }>;
  /** Stops every process (API server before etcd); deletes the run folder when start made it. */
  stop(graceMs?: number): Promise<void>;
  /** Synchronous last resort (process 'exit' handlers): SIGKILL, no clean-up. */
  killNow(): void;
}

/** What a run folder records so that a restart (or `ssis kube status`) finds the same plane. */
interface PlaneState {
  readonly server: string;
  readonly ports: { readonly etcdClient: number; readonly etcdPeer: number; readonly apiserver: number };
  readonly tokens: { readonly admin: string; readonly scheduler: string; readonly kwok: string };
}

/** Ports the OS says are free now, held open together so that no two are the same. */
async function freePorts(count: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const server = createServer();
      servers.push(server);
      await new Promise<void>((done, fail) => {
        server.once('error', fail);
        server.listen(0, '127.0.0.1', () => done());
      });
    }
    return servers.map((server) => {
      const address = server.address();
      return typeof address === 'object' && address ? address.port : 0;
    });
  } finally {
    await Promise.all(servers.map((server) => new Promise<void>((done) => server.close(() => done()))));
  }
}

function readState(runDir: string): PlaneState | undefined {
  try {
    return JSON.parse(readFileSync(join(runDir, STATE_FILE), 'utf8')) as PlaneState;
  } catch {
    return undefined;
  }
}

const newToken = (): string => randomBytes(24).toString('hex');

/**
 * The static token file: the admin, and the two components' own identities. kube-scheduler's is
 * the user the bootstrap RBAC policy grants scheduling to; KWOK, standing in for every kubelet,
 * is given system:masters.
 */
function tokenFile(tokens: PlaneState['tokens']): string {
  return [`${tokens.admin},ssis-admin,ssis-admin,"system:masters"`, `${tokens.scheduler},system:kube-scheduler,system:kube-scheduler`, `${tokens.kwok},kwok,kwok,"system:masters"`, ''].join('\n');
}

/** The key pair the API server signs and verifies ServiceAccount tokens with; kept across restarts. */
function ensureServiceAccountKey(pkiDir: string): { privateKey: string; publicKey: string } {
  const privateKey = join(pkiDir, 'service-account.key');
  const publicKey = join(pkiDir, 'service-account.pub');
  if (!existsSync(privateKey) || !existsSync(publicKey)) {
    const pair = generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });
    writeFileSync(privateKey, pair.privateKey, { mode: 0o600 });
    writeFileSync(publicKey, pair.publicKey);
  }
  return { privateKey, publicKey };
}

function etcdArgs(runDir: string, ports: PlaneState['ports']): string[] {
  const client = `http://127.0.0.1:${ports.etcdClient}`;
  const peer = `http://127.0.0.1:${ports.etcdPeer}`;
  return [
    '--name=ssis',
    `--data-dir=${join(runDir, 'etcd')}`,
    `--listen-client-urls=${client}`,
    `--advertise-client-urls=${client}`,
    `--listen-peer-urls=${peer}`,
    `--initial-advertise-peer-urls=${peer}`,
    `--initial-cluster=ssis=${peer}`,
    '--log-level=warn',
    // A throw-away local store: fsync per write dominates the API server's latency on a shared disk.
    '--unsafe-no-fsync',
  ];
}

function apiserverArgs(runDir: string, ports: PlaneState['ports'], key: { privateKey: string; publicKey: string }): string[] {
  return [
    `--etcd-servers=http://127.0.0.1:${ports.etcdClient}`,
    '--bind-address=127.0.0.1',
    // Else it advertises (and puts in its certificate) the host's first non-loopback address.
    '--advertise-address=127.0.0.1',
    `--secure-port=${ports.apiserver}`,
    // It writes a self-signed serving certificate (and its CA) here on first start.
    `--cert-dir=${join(runDir, 'pki')}`,
    `--token-auth-file=${join(runDir, 'pki', 'tokens.csv')}`,
    '--authorization-mode=RBAC',
    `--service-cluster-ip-range=${SERVICE_CLUSTER_IP_RANGE}`,
    // No kubelets or kube-proxy to reach the `kubernetes` Service's endpoints through.
    '--endpoint-reconciler-type=none',
    `--service-account-issuer=${SERVICE_ACCOUNT_ISSUER}`,
    `--service-account-key-file=${key.publicKey}`,
    `--service-account-signing-key-file=${key.privateKey}`,
    // The node lifecycle controller (kube-controller-manager) that would lift the not-ready taint
    // this plugin puts on every new Node does not run; KWOK reports readiness in the Node's status.
    '--disable-admission-plugins=TaintNodesByCondition',
    '--profiling=false',
  ];
}

function schedulerConfig(kubeconfig: string): string {
  return [
    'apiVersion: kubescheduler.config.k8s.io/v1',
    'kind: KubeSchedulerConfiguration',
    'clientConnection:',
    `  kubeconfig: ${JSON.stringify(kubeconfig)}`,
    // One scheduler: no lease to take first.
    'leaderElection:',
    '  leaderElect: false',
    '',
  ].join('\n');
}

function get(url: string, opts: { ca?: Buffer; token?: string }): Promise<{ status: number; body: string }> {
  return new Promise((done, fail) => {
    const options = { ca: opts.ca, headers: opts.token ? { authorization: `Bearer ${opts.token}` } : {}, timeout: 2000 };
    const request = (url.startsWith('https:') ? httpsGet : httpGet)(url, options, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => done({ status: response.statusCode ?? 0, body }));
    });
    request.on('timeout', () => request.destroy(new Error('timeout')));
    request.on('error', fail);
  });
}

async function waitUntil(what: string, check: () => Promise<boolean>, opts: { timeoutMs: number; process: RunFolderProcess }): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  for (;;) {
    if (!opts.process.running()) throw new SsisError('SSIS_CONTROL_PLANE_START_FAILED', `${opts.process.name} exited before ${what}:\n${tailOf(opts.process.logPath)}`);
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new SsisError('SSIS_CONTROL_PLANE_START_FAILED', `${what} not reached after ${opts.timeoutMs} ms:\n${tailOf(opts.process.logPath)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * Kills the processes of planes whose owning process is gone (a test run that was SIGKILLed) and
 * deletes their run folders. Detached planes (`ssis kube start`) have no owner and are kept.
 */
export function reapStaleControlPlanes(base = tmpdir()): number {
  return reapOrphanedRunFolders(base, RUN_DIR_PREFIX, killRunFolderPids);
}

export interface DetachedControlPlane {
  readonly server: string;
  readonly kubeconfigPath: string;
  readonly caPath: string;
  /** Live processes by name. */
  readonly pids: ReadonlyMap<string, number>;
}

/** The plane started detached in `runDir`, if its API server still runs. */
export function detachedControlPlane(runDir: string): DetachedControlPlane | undefined {
  const state = readState(runDir);
  const pids = runFolderPids(runDir);
  if (!state || !pids.has('kube-apiserver')) return undefined;
  return { server: state.server, kubeconfigPath: join(runDir, 'admin.kubeconfig'), caPath: join(runDir, 'pki', 'apiserver.crt'), pids };
}

/** Stops the detached plane of `runDir` (data kept); false when nothing ran. */
export function stopDetachedControlPlane(runDir: string, graceMs = 15_000): Promise<boolean> {
  return stopRunFolderPids(runDir, STOP_ORDER, graceMs);
}

/**
 * Builds the programs if needed, starts etcd and kube-apiserver, installs the Knative CRDs, then
 * (unless `nodes: false`) kube-scheduler and KWOK; resolves once the API server is ready and the
 * CRDs are Established.
 * @throws {SsisError} SSIS_CONTROL_PLANE_START_FAILED when a build fails, a process exits or does not get ready in time
 */
export async function startLocalControlPlane(opts: LocalControlPlaneOptions = {}): Promise<LocalControlPlane> {
  const binaries = buildControlPlane({ quiet: opts.buildProgress === false });
  const detached = opts.detached ?? false;
  if (!detached) reapStaleControlPlanes();
  const ownsRunDir = opts.runDir === undefined;
  const runDir = opts.runDir ?? mkdtempSync(join(tmpdir(), RUN_DIR_PREFIX));
  if (runFolderPids(runDir).size > 0) throw new SsisError('SSIS_CONTROL_PLANE_START_FAILED', `a control plane already runs in ${runDir}`);
  mkdirSync(join(runDir, 'pki'), { recursive: true });
  if (detached) rmSync(join(runDir, 'owner.pid'), { force: true });
  else writeFileSync(join(runDir, 'owner.pid'), `${process.pid}\n`);

  // A restarted folder keeps its ports: etcd's data records its peer URL.
  const previous = readState(runDir);
  const [etcdClient = 0, etcdPeer = 0, apiserver = 0] = previous ? [] : await freePorts(3);
  const ports = previous
    ? { ...previous.ports, apiserver: opts.apiserverPort ?? previous.ports.apiserver }
    : { etcdClient, etcdPeer, apiserver: opts.apiserverPort ?? apiserver };
  const tokens = previous?.tokens ?? { admin: newToken(), scheduler: newToken(), kwok: newToken() };
  const state: PlaneState = { server: `https://127.0.0.1:${ports.apiserver}`, ports, tokens };
  writeFileSync(join(runDir, STATE_FILE), `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  writeFileSync(join(runDir, 'pki', 'tokens.csv'), tokenFile(tokens), { mode: 0o600 });
  const key = ensureServiceAccountKey(join(runDir, 'pki'));
  const caPath = join(runDir, 'pki', 'apiserver.crt');
  const kubeconfigPath = join(runDir, 'admin.kubeconfig');
  const readyTimeoutMs = opts.readyTimeoutMs ?? 90_000;

  const processes: RunFolderProcess[] = [];
  const start = (name: string, command: string, args: string[]): RunFolderProcess => {
    const started = startRunFolderProcess({ name, command, args, runDir, detached });
    processes.push(started);
    return started;
  };
  const killNow = (): void => {
    for (const p of processes) p.killNow();
  };
  const onExit = (): void => {
    killNow();
    if (ownsRunDir) rmSync(runDir, { recursive: true, force: true });
  };
  if (!detached) process.once('exit', onExit);
  let stopped = false;
  const stop = async (graceMs = 10_000): Promise<void> => {
    if (stopped) return;
    stopped = true;
    process.removeListener('exit', onExit);
    for (const name of STOP_ORDER) await processes.find((p) => p.name === name)?.stop(graceMs);
    if (ownsRunDir) rmSync(runDir, { recursive: true, force: true });
  };

  try {
    const etcd = start('etcd', binaries.etcd, etcdArgs(runDir, ports));
    await waitUntil('etcd health', async () => (await get(`http://127.0.0.1:${ports.etcdClient}/health`, {})).body.includes('"true"'), { timeoutMs: readyTimeoutMs, process: etcd });

    const api = start('kube-apiserver', binaries.kubeApiserver, apiserverArgs(runDir, ports, key));
    await waitUntil(
      'kube-apiserver /readyz',
      async () => existsSync(caPath) && (await get(`${state.server}/readyz`, { ca: readFileSync(caPath), token: tokens.admin })).status === 200,
      { timeoutMs: readyTimeoutMs, process: api },
    );
    writeKubeconfig(kubeconfigPath, { server: state.server, caPath, token: tokens.admin, user: 'ssis-admin' });
    const admin = loadKubeConfig(kubeconfigPath);

    if (opts.knativeCrds !== false) await installCrds(admin, loadKnativeCrds(opts.knativeCrds ?? KNATIVE_CRD_DIR), readyTimeoutMs);

    if (opts.nodes ?? true) {
      const schedulerKubeconfig = writeKubeconfig(join(runDir, 'kube-scheduler.kubeconfig'), { server: state.server, caPath, token: tokens.scheduler, user: 'system:kube-scheduler' });
      writeFileSync(join(runDir, 'kube-scheduler.yaml'), schedulerConfig(schedulerKubeconfig));
      // --secure-port=0: no health or metrics endpoint to listen on.
      start('kube-scheduler', binaries.kubeScheduler, [`--config=${join(runDir, 'kube-scheduler.yaml')}`, '--secure-port=0']);
      const kwokKubeconfig = writeKubeconfig(join(runDir, 'kwok.kubeconfig'), { server: state.server, caPath, token: tokens.kwok, user: 'kwok' });
      start('kwok', binaries.kwok, [
        `--kubeconfig=${kwokKubeconfig}`,
        `--manage-nodes-with-annotation-selector=${KWOK_NODE_ANNOTATION}=fake`,
        `--config=${binaries.kwokStages}`,
        // The address KWOK reports in a Node's status; nothing listens there.
        '--node-ip=127.0.0.1',
      ]);
    }
    const failed = processes.find((p) => !p.running());
    if (failed) throw new SsisError('SSIS_CONTROL_PLANE_START_FAILED', `${failed.name} exited during start-up:\n${tailOf(failed.logPath)}`);

    return {
      server: state.server,
      kubeconfigPath,
      adminToken: tokens.admin,
      caPath,
      runDir,
      binaries,
      kubeConfig: () => loadKubeConfig(kubeconfigPath),
      async serviceAccountKubeconfig(namespace, name, tokenOpts = {}) {
        await ensureServiceAccount(admin, namespace, name);
        return writeServiceAccountKubeconfig(admin, { server: state.server, caPath, path: join(runDir, `sa-${namespace}-${name}.kubeconfig`) }, namespace, name, tokenOpts);
      },
      stop,
      killNow,
    };
  } catch (err) {
    // A failed start leaves nothing running, detached or not.
    await stop(2000);
    throw err;
  }
}
