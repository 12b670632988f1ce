/**
 * The checkout's root folder (where package.json, knative/, sim/scenarios/ and .cache/ live),
 * found from this module's own place: sources run from <root>/infra, the compiled CLI from
 * <root>/dist/infra. Paths to shipped files start here rather than at a fixed number of `..`.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

function findRoot(start: string): string {
  for (let dir = start; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) throw new Error(`no package.json above ${start}`);
  }
}

export const PROJECT_ROOT = findRoot(__dirname);
