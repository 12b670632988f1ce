/**
 * What can be checked of the llama.cpp engine without building it: the TypeScript side and
 * build.sh agree on versions and cache paths, the server gets the flags this machine needs, and a
 * missing tool or binary fails with a clear SsisError before anything runs.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { SsisError } from '../../../core/errors';
import {
  buildLlamaCpp,
  engineCacheDir,
  GEMMA_FILE,
  GEMMA_PACKAGE,
  GEMMA_PACKAGE_VERSION,
  LLAMA_CPP_BUILD_SCRIPT,
  LLAMA_CPP_PYTHON_VERSION,
  llamaCppArtifacts,
} from '../../../infra/engines/llama-cpp-binaries';
import { llamaServerArgs, startLlamaServer } from '../../../infra/engines/llama-server';

function scriptDefault(name: string): string {
  const script = readFileSync(LLAMA_CPP_BUILD_SCRIPT, 'utf8');
  const match = new RegExp(`^${name}="(?:\\$\\{[A-Z_]+:-)?([^}"]+)\\}?"$`, 'm').exec(script);
  if (!match?.[1]) throw new Error(`build.sh sets no ${name}`);
  return match[1];
}

/** A PATH with only the tools build.sh needs before it looks for cmake. */
function pathWithoutCmake(dir: string): string {
  const python = spawnSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).stdout.trim();
  mkdirSync(dir, { recursive: true });
  symlinkSync(python, join(dir, 'python3'));
  for (const tool of ['bash', 'cat', 'cut', 'flock', 'grep', 'mkdir', 'nproc', 'sha256sum']) {
    const found = spawnSync('bash', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).stdout.trim();
    if (found !== '') symlinkSync(found, join(dir, tool));
  }
  return dir;
}

describe('llama.cpp engine: build script and start-up checks', () => {
  it('build.sh pins the same versions and files as the TypeScript side', () => {
    expect(scriptDefault('LLAMA_CPP_PYTHON_VERSION')).to.equal(LLAMA_CPP_PYTHON_VERSION);
    expect(scriptDefault('MODEL_PACKAGE')).to.equal(GEMMA_PACKAGE);
    expect(scriptDefault('MODEL_PACKAGE_VERSION')).to.equal(GEMMA_PACKAGE_VERSION);
    expect(scriptDefault('MODEL_FILE')).to.equal(GEMMA_FILE);
  });

  it('keeps the binary and the model in the cache outside the checkout, by version', () => {
    expect(engineCacheDir({ SSIS_ENGINE_CACHE: '/c' })).to.equal('/c');
    expect(engineCacheDir({ XDG_CACHE_HOME: '/x' })).to.equal('/x/ssis');
    const artifacts = llamaCppArtifacts('/c');
    expect(artifacts.llamaServer).to.equal(`/c/llama.cpp/${LLAMA_CPP_PYTHON_VERSION}/llama-server`);
    expect(artifacts.model).to.equal(`/c/models/${GEMMA_PACKAGE}-${GEMMA_PACKAGE_VERSION}/${GEMMA_FILE}`);
  });

  it('starts the server without weight repacking, with metrics, offline', () => {
    const args = llamaServerArgs({ model: '/m.gguf', alias: 'gemma-3-270m', threads: 2, contextSize: 2048, parallel: 2 });
    expect(args.join(' ')).to.equal('-m /m.gguf --alias gemma-3-270m -t 2 -c 2048 -np 2 --no-repack --metrics --offline');
  });

  it('refuses to start without a binary, naming the build script, and leaves no run folder', async () => {
    const before = readdirSync(tmpdir()).filter((n) => n.startsWith('ssis-llama-server-'));
    const err = await startLlamaServer({ modelPath: '/nowhere.gguf', alias: 'x', binary: '/nowhere/llama-server' }).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(SsisError);
    expect((err as SsisError).message).to.contain('/nowhere/llama-server').and.contain('build.sh');
    expect(readdirSync(tmpdir()).filter((n) => n.startsWith('ssis-llama-server-'))).to.deep.equal(before);
  });

  it('fails the build with a clear SsisError when cmake is missing', function () {
    this.timeout(30_000);
    const scratch = mkdtempSync(join(tmpdir(), 'ssis-llama-build-test-'));
    try {
      const env = { HOME: scratch, SSIS_ENGINE_CACHE: join(scratch, 'cache'), PATH: pathWithoutCmake(join(scratch, 'bin')) };
      const script = spawnSync('bash', [LLAMA_CPP_BUILD_SCRIPT, 'server'], { encoding: 'utf8', env });
      expect(script.status).to.equal(1);
      expect(script.stderr).to.contain('cmake not found: apt-get install -y cmake build-essential');
      const err = (() => {
        try {
          buildLlamaCpp({ quiet: true, env });
        } catch (e) {
          return e;
        }
        return undefined;
      })();
      expect(err).to.be.instanceOf(SsisError);
      expect((err as SsisError).message).to.contain('cmake not found');
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });

  it('build.sh refuses an unknown step', () => {
    const run = spawnSync('bash', [LLAMA_CPP_BUILD_SCRIPT, 'everything'], { encoding: 'utf8', env: { ...process.env, SSIS_ENGINE_CACHE: join(tmpdir(), 'ssis-llama-unused') } });
    expect(run.status).to.equal(2);
    expect(run.stderr).to.contain('usage:');
  });
});
