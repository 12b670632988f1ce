/**
 * Where the local control plane's programs live and how they get there: etcd, kube-apiserver,
 * kube-scheduler, kubectl and KWOK, built from the Go module proxy by control-plane/build.sh into
 * a cache outside the checkout (it survives fresh clones; the first build takes minutes, later
 * ones return at once from the script's version stamps).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { SsisError } from '../../core/errors';
import { PROJECT_ROOT } from '../project-root';

export const BUILD_SCRIPT = join(PROJECT_ROOT, 'infra', 'kubernetes', 'control-plane', 'build.sh');

export interface ControlPlaneBinaries {
  readonly etcd: string;
  readonly kubeApiserver: string;
  readonly kubeScheduler: string;
  readonly kubectl: string;
  readonly kwok: string;
  /** KWOK's Stage objects (node Ready and heartbeat, pod create/ready/complete/delete). */
  readonly kwokStages: string;
}

/** The cache build.sh writes to; the same environment variables decide it there. */
export function controlPlaneCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.SSIS_CONTROL_PLANE_CACHE) return env.SSIS_CONTROL_PLANE_CACHE;
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'ssis', 'control-plane');
}

export function controlPlaneBinaries(cacheDir = controlPlaneCacheDir()): ControlPlaneBinaries {
  const bin = join(cacheDir, 'bin');
  return {
    etcd: join(bin, 'etcd'),
    kubeApiserver: join(bin, 'kube-apiserver'),
    kubeScheduler: join(bin, 'kube-scheduler'),
    kubectl: join(bin, 'kubectl'),
    kwok: join(bin, 'kwok'),
    kwokStages: join(cacheDir, 'kwok', 'stages.yaml'),
  };
}

/**
 * Runs build.sh (a no-op when every binary is at its pinned version) and returns the paths.
 * A cold build takes about ten minutes on two cores; its progress goes to this process's stderr
 * unless `quiet`.
 * @throws {SsisError} SSIS_CONTROL_PLANE_START_FAILED when Go is missing or a build fails
 */
export function buildControlPlane(opts: { quiet?: boolean } = {}): ControlPlaneBinaries {
  const run = spawnSync('bash', [BUILD_SCRIPT], { encoding: 'utf8', stdio: ['ignore', 'pipe', opts.quiet ? 'pipe' : 'inherit'] });
  if (run.error || run.status !== 0) {
    const why = run.error ? String(run.error) : `${run.stderr ?? ''}`.trim().split('\n').slice(-15).join('\n');
    throw new SsisError('SSIS_CONTROL_PLANE_START_FAILED', `building the local control plane with ${BUILD_SCRIPT} failed (needs Go 1.25+ and the Go module proxy)${why ? `: ${why}` : ''}`);
  }
  const binaries = controlPlaneBinaries(run.stdout.trim().split('\n').pop()?.replace(/\/bin$/, '') || controlPlaneCacheDir());
  const missing = Object.values<string>({ ...binaries }).filter((path) => !existsSync(path));
  if (missing.length > 0) throw new SsisError('SSIS_CONTROL_PLANE_START_FAILED', `build.sh finished but left out ${missing.join(', ')}`);
  return binaries;
}
