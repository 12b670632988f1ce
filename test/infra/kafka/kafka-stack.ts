/** A whole SSIS stack on the shared test Kafka, tuned like the embedded e2e stack (test/e2e/helpers.ts). */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SsisConfiguration } from '../../../infra/config/from-configmaps';
import { startEmbeddedStack, type RunningStack } from '../../../app/embedded-stack';
import type { KafkaNames } from '../../../infra/kafka/names';
import { loadManifests } from '../../../infra/knative/manifests';
import { createJsonLogger } from '../../../infra/logging/json-logger';
import { ROOT } from '../../e2e/helpers';
import { isolatedNames, sharedKafka } from './kafka-fixture';

export interface KafkaTestStack {
  readonly stack: RunningStack;
  readonly names: KafkaNames;
  readonly bootstrap: string;
  readonly logLines: string[];
}

export async function startKafkaTestStack(opts: { sampleEverySec?: number } = {}): Promise<KafkaTestStack> {
  const kafka = await sharedKafka();
  const knativeDir = join(ROOT, 'knative');
  const names = isolatedNames(loadManifests(knativeDir));
  const logLines: string[] = [];
  const stack = await startEmbeddedStack({
    knativeDir,
    stateDir: mkdtempSync(join(tmpdir(), 'ssis-kafka-e2e-')),
    ingressPort: 0,
    logger: createJsonLogger({ level: 'debug', write: (l) => logLines.push(l) }),
    sampleEverySec: opts.sampleEverySec ?? 1,
    loadTimeScale: 0.2,
    kafka: { brokers: [kafka.bootstrap], names },
    configure: (c): SsisConfiguration => ({
      ...c,
      // The ladder for every class, as in test/e2e/embedded-stack.test.ts.
      ssis: {
        ...c.ssis, sampler: { windowSec: 4 }, scaler: { ...c.ssis.scaler, stabilizationWindowSec: 4, upCooldownSec: 3 },
        serviceClasses: c.ssis.serviceClasses.map((cl) => ({ ...cl, policy: 'ssis-ladder' as const })),
      },
      autoscaler: new Map([...c.autoscaler].map(([k, rules]) => [k, rules.map((r) => ({ ...r, query: r.query.replaceAll('[20s]', '[4s]') }))])),
    }),
  });
  return { stack, names, bootstrap: kafka.bootstrap, logLines };
}
