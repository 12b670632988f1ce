/**
 * Reading a folder of Inferno's JSON files (accelerator, capacity, model, serviceclass, server,
 * optimizer data, and optionally system-data.json) into the {fileName → document} map that
 * core/optimizer's loadInfernoSystem takes. The expected solution-data.json is never read.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SsisError } from '../../core/errors';
import { loadInfernoSystem, type InfernoSystem } from '../../core/optimizer/data';

export function readInfernoFolder(dir: string, opts: { includeSystemData?: boolean } = {}): Record<string, unknown> {
  if (!existsSync(dir)) throw new SsisError('SSIS_NOT_FOUND', `no folder ${dir}`, { issues: [{ field: '--data', message: 'does not exist' }] });
  const files: Record<string, unknown> = {};
  for (const name of readdirSync(dir)) {
    if (!name.endsWith('-data.json') || name === 'solution-data.json') continue;
    if (name === 'system-data.json' && opts.includeSystemData === false) continue;
    try {
      files[name] = JSON.parse(readFileSync(join(dir, name), 'utf8')) as unknown;
    } catch (err) {
      throw new SsisError('SSIS_INVALID_CONFIG', `${name} is not valid JSON: ${(err as Error).message}`, { issues: [{ field: name, message: (err as Error).message }] });
    }
  }
  return files;
}

export function loadInfernoFolder(dir: string, opts: { includeSystemData?: boolean } = {}): InfernoSystem {
  return loadInfernoSystem(readInfernoFolder(dir, opts));
}
