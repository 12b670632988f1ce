#!/usr/bin/env node
// Keeps the compiled CLI in dist/ (tsc -p tsconfig.build.json, the build container images use)
// no older than its sources, so that `ssis` starts from JavaScript instead of transpiling
// TypeScript at every start. Freshness is one stat per source file and folder (a folder's mtime
// moves when a file in it is added, removed or renamed); the build is incremental and guarded by
// a lock folder, since tests start several CLIs at once. Run directly, it builds if stale.
'use strict';
const { execFileSync } = require('node:child_process');
const { existsSync, mkdirSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');

const ROOT = join(__dirname, '..');
const DIST = join(ROOT, 'dist');
const ENTRY = join(DIST, 'cli', 'main.js');
const STAMP = join(DIST, '.cli-build-stamp');
const LOCK = join(DIST, '.cli-build-lock');
const SOURCE_DIRS = ['app', 'cli', 'core', 'events', 'functions', 'infra', 'sim'];
const CONFIG_FILES = ['tsconfig.json', 'tsconfig.build.json', 'package-lock.json'];
const LOCK_STALE_MS = 120_000;

function newestSourceMs() {
  let newest = 0;
  const visit = (dir) => {
    let entries;
    try {
      newest = Math.max(newest, statSync(dir).mtimeMs);
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return; // a source folder that does not exist (yet) holds nothing to build
    }
    for (const e of entries) {
      const path = join(dir, e.name);
      if (e.isDirectory()) visit(path);
      else if (e.name.endsWith('.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
    }
  };
  for (const d of SOURCE_DIRS) visit(join(ROOT, d));
  for (const f of CONFIG_FILES) if (existsSync(join(ROOT, f))) newest = Math.max(newest, statSync(join(ROOT, f)).mtimeMs);
  return newest;
}

function isFresh() {
  return existsSync(ENTRY) && existsSync(STAMP) && statSync(STAMP).mtimeMs >= newestSourceMs();
}

function sleep(ms) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function acquireLock() {
  mkdirSync(DIST, { recursive: true });
  const deadline = Date.now() + LOCK_STALE_MS;
  for (;;) {
    try {
      mkdirSync(LOCK);
      return true;
    } catch {
      if (isFresh()) return false; // another process finished the build meanwhile
      // A lock older than any build can take was left by a killed process.
      try {
        if (Date.now() - statSync(LOCK).mtimeMs > LOCK_STALE_MS) rmSync(LOCK, { recursive: true, force: true });
      } catch {
        /* removed by its owner between the two calls */
      }
      if (Date.now() > deadline) throw new Error(`ssis: timed out waiting for the CLI build lock ${LOCK}`);
      sleep(100);
    }
  }
}

function build() {
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const startedAt = new Date();
  try {
    execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json', '--incremental', '--tsBuildInfoFile', join(DIST, '.tsbuildinfo')], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (err) {
    // tsc emits despite type errors; only a build that left no CLI behind is a failure.
    if (!existsSync(ENTRY)) throw new Error(`ssis: building the CLI failed:\n${String(err.stdout ?? '')}${String(err.stderr ?? '')}`);
    process.stderr.write('ssis: the sources have type errors (npm run typecheck lists them); running what tsc emitted\n');
  }
  // Stamped with the build's start, so a source saved during the build makes the next run rebuild.
  writeFileSync(STAMP, '');
  utimesSync(STAMP, startedAt, startedAt);
}

/** Returns the path of the compiled CLI entry, building it first when a source is newer. */
function ensureCliBuilt() {
  if (isFresh()) return ENTRY;
  if (acquireLock()) {
    try {
      if (!isFresh()) build();
    } finally {
      rmSync(LOCK, { recursive: true, force: true });
    }
  }
  return ENTRY;
}

module.exports = { ensureCliBuilt, ENTRY };

if (require.main === module) ensureCliBuilt();
