/**
 * `ssis kube build|start|stop|status|kubeconfig`: the local Kubernetes control plane (etcd,
 * kube-apiserver with the Knative CRDs, kube-scheduler, KWOK) on loopback, built from the Go module
 * proxy into ~/.cache/ssis/control-plane. It runs detached with its state in .cache/kube/run/, so
 * objects, keys and tokens survive a stop/start; `--fresh` starts from an empty store. Tests do not
 * use this one: they start their own in a fresh folder on free ports.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { SsisError } from '../core/errors';
import { buildControlPlane } from '../infra/kubernetes/control-plane-binaries';
import { loadKubeConfig } from '../infra/kubernetes/kubeconfig';
import { detachedControlPlane, startLocalControlPlane, stopDetachedControlPlane } from '../infra/kubernetes/local-control-plane';
import { PROJECT_ROOT } from '../infra/project-root';
import { ensureServiceAccount, writeServiceAccountKubeconfig } from '../infra/kubernetes/service-accounts';

const HELP = `Usage: ssis kube <build|start|stop|status|kubeconfig> [options]

A local Kubernetes control plane on 127.0.0.1: etcd and kube-apiserver (RBAC, ServiceAccount
tokens, the Knative CRDs), kube-scheduler, and KWOK for fake GPU Nodes (annotation
kwok.x-k8s.io/node=fake). No kube-controller-manager, no Knative controllers, no kubelet.

  build        build the programs from the Go module proxy (once; ~10 min cold, cached in ~/.cache/ssis/control-plane)
  start        build if needed, start detached and wait until ready; prints the kubeconfig path
  stop         stop it (API server first, etcd last); the stored objects are kept
  status       print its server and kubeconfig, exit 1 when not running
  kubeconfig   print the admin kubeconfig path, or with --service-account <namespace>/<name> write
               one that authenticates as that ServiceAccount (created if absent; TokenRequest token)

Options:
  --port <n>                        start: kube-apiserver port (default: a free one, kept across restarts)
  --fresh                           start: delete the stored objects, keys and tokens first
  --no-nodes                        start: without kube-scheduler and KWOK
  --service-account <ns>/<name>     kubeconfig: the identity (e.g. ssis/ssis-controller from knative/rbac.yaml)
  --expiration <s>                  kubeconfig: token lifetime in seconds (default 86400)
`;

const RUN_DIR = join(PROJECT_ROOT, '.cache', 'kube', 'run');

function running(): NonNullable<ReturnType<typeof detachedControlPlane>> {
  const plane = detachedControlPlane(RUN_DIR);
  if (!plane) throw new SsisError('SSIS_CONTROL_PLANE_START_FAILED', 'no local control plane started: npx ssis kube start');
  return plane;
}

async function serviceAccountKubeconfig(identity: string, expiration: string | undefined): Promise<string> {
  const [namespace, name, ...rest] = identity.split('/');
  if (!namespace || !name || rest.length > 0) throw new SsisError('SSIS_INVALID_CONFIG', `--service-account must be <namespace>/<name>, got ${identity}`, { issues: [{ field: '--service-account', message: 'must be <namespace>/<name>' }] });
  const expirationSeconds = Number(expiration ?? 86_400);
  if (!Number.isInteger(expirationSeconds) || expirationSeconds < 600) throw new SsisError('SSIS_INVALID_CONFIG', `--expiration must be whole seconds >= 600, got ${expiration ?? ''}`, { issues: [{ field: '--expiration', message: 'must be >= 600' }] });
  const plane = running();
  const admin = loadKubeConfig(plane.kubeconfigPath);
  await ensureServiceAccount(admin, namespace, name);
  const written = await writeServiceAccountKubeconfig(admin, { server: plane.server, caPath: plane.caPath, path: join(RUN_DIR, `sa-${namespace}-${name}.kubeconfig`) }, namespace, name, { expirationSeconds });
  return written.kubeconfigPath;
}

export async function runKube(argv: readonly string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: { port: { type: 'string' }, fresh: { type: 'boolean' }, 'no-nodes': { type: 'boolean' }, 'service-account': { type: 'string' }, expiration: { type: 'string' }, help: { type: 'boolean' } },
  });
  const command = positionals[0];
  if (values.help || command === undefined) {
    process.stdout.write(HELP);
    return;
  }
  switch (command) {
    case 'build':
      buildControlPlane();
      process.stdout.write('control plane built\n');
      return;
    case 'start': {
      const already = detachedControlPlane(RUN_DIR);
      if (already) {
        process.stdout.write(`control plane already running: ${already.server}\nexport KUBECONFIG=${already.kubeconfigPath}\n`);
        return;
      }
      const port = values.port === undefined ? undefined : Number(values.port);
      if (port !== undefined && (!Number.isInteger(port) || port < 1 || port > 65535)) throw new SsisError('SSIS_INVALID_CONFIG', `--port must be 1-65535, got ${values.port ?? ''}`, { issues: [{ field: '--port', message: 'must be 1-65535' }] });
      if (values.fresh) rmSync(RUN_DIR, { recursive: true, force: true });
      const plane = await startLocalControlPlane({ runDir: RUN_DIR, detached: true, nodes: !values['no-nodes'], ...(port === undefined ? {} : { apiserverPort: port }) });
      process.stdout.write(`control plane ready: ${plane.server} (logs in ${join(RUN_DIR, 'logs')})\nexport KUBECONFIG=${plane.kubeconfigPath}\n`);
      return;
    }
    case 'stop':
      process.stdout.write((await stopDetachedControlPlane(RUN_DIR)) ? 'control plane stopped\n' : 'control plane was not running\n');
      return;
    case 'status': {
      const plane = detachedControlPlane(RUN_DIR);
      if (!plane) {
        process.stdout.write('not running\n');
        process.exitCode = 1;
        return;
      }
      const pids = [...plane.pids].map(([name, pid]) => `${name} ${pid}`).join(', ');
      process.stdout.write(`${plane.server} (${pids})\nexport KUBECONFIG=${plane.kubeconfigPath}\n`);
      return;
    }
    case 'kubeconfig': {
      const identity = values['service-account'];
      process.stdout.write(`${identity === undefined ? running().kubeconfigPath : await serviceAccountKubeconfig(identity, values.expiration)}\n`);
      return;
    }
    default:
      throw new SsisError('SSIS_INVALID_CONFIG', `unknown kube command "${command}" (build, start, stop, status, kubeconfig)`);
  }
}
