/**
 * Entry point of the functions image (Procfile `web`): FUNCTION picks the handler, PORT the port
 * (Knative sets 8080), K_SINK the broker ingress, and the ConfigMaps are read from their mounts
 * under /etc/ssis/<ConfigMap>/ (SSIS_CONFIG_DIR overrides). Only this module reads the environment.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { systemClock } from '../../core/common/ports';
import { SsisError } from '../../core/errors';
import { configurationFrom } from '../../infra/config/from-configmaps';
import { createJsonLogger, type LogLevel } from '../../infra/logging/json-logger';
import { buildEvaluateFunction } from '../evaluate/index';
import type { SsisFunction } from './function';
import { httpPublisher } from '../../infra/http/event-publisher';
import { createFunctionApp, createFunctionRegistry } from './server';

const CONFIG_MAPS = ['ssis-config', 'autoscaler-config', 'ssis-model-catalog'];

function readConfigMaps(dir: string): Map<string, Record<string, string>> {
  const maps = new Map<string, Record<string, string>>();
  for (const name of CONFIG_MAPS) {
    const folder = join(dir, name);
    const data: Record<string, string> = {};
    // Mounted ConfigMaps are files named by key (the ..data symlink dance of kubelet is skipped).
    for (const key of readdirSync(folder)) if (!key.startsWith('..') && statSync(join(folder, key)).isFile()) data[key] = readFileSync(join(folder, key), 'utf8');
    maps.set(name, data);
  }
  return maps;
}

function build(name: string, configDir: string): SsisFunction {
  const configuration = configurationFrom(readConfigMaps(configDir));
  const ids = { next: () => crypto.randomUUID() };
  switch (name) {
    case 'evaluate':
      return buildEvaluateFunction({ catalog: configuration.catalog, autoscalerConfig: () => configuration.autoscaler, config: configuration.ssis, clock: systemClock, ids });
    case 'request':
    case 'sample':
    case 'reconfigure':
    case 'rollout':
      // These act on the cluster through the ClusterPort; its Kubernetes adapter (Knative Serving
      // + GPU operator labels) is not part of this build yet: only the embedded stack runs them.
      throw new SsisError('SSIS_INVALID_CONFIG', `FUNCTION=${name} needs the Kubernetes cluster adapter, which this build does not include yet; run it in the embedded stack (npm start)`);
    default:
      throw new SsisError('SSIS_INVALID_CONFIG', `FUNCTION must be one of request, sample, evaluate, reconfigure, rollout; got "${name}"`, { issues: [{ field: 'FUNCTION', message: 'unknown function' }] });
  }
}

export function main(env: NodeJS.ProcessEnv = process.env): void {
  const name = env['FUNCTION'] ?? '';
  const logger = createJsonLogger({ level: (env['SSIS_LOG_LEVEL'] ?? 'info') as LogLevel, base: { function: name, revision: env['K_REVISION'] } });
  const sink = env['K_SINK'];
  if (!sink) throw new SsisError('SSIS_INVALID_CONFIG', 'K_SINK (the broker ingress URL) is not set', { issues: [{ field: 'K_SINK', message: 'is required' }] });
  const fn = build(name, env['SSIS_CONFIG_DIR'] ?? '/etc/ssis');
  const app = createFunctionApp(fn, { logger, publisher: httpPublisher(sink), registry: createFunctionRegistry(fn.name) });
  const port = Number(env['PORT'] ?? 8080);
  createServer(app).listen(port, () => logger.info({ port }, `function ${fn.name} listening`));
}

if (require.main === module) {
  try {
    main();
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exitCode = 1;
  }
}
