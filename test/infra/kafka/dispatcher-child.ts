/**
 * A Kafka broker dispatcher in its own process, for the "killed mid-batch" test: it dispatches
 * only the ssis-reconfigure Trigger to TARGET_URL and prints "ready" once it has joined its group.
 * The test SIGKILLs it, so whatever it did after its last offset commit is redelivered.
 */
import { join } from 'node:path';
import { KafkaBroker } from '../../../infra/kafka/kafka-broker';
import { knativeNames } from '../../../infra/kafka/names';
import { loadManifests } from '../../../infra/knative/manifests';
import { createJsonLogger } from '../../../infra/logging/json-logger';

const manifests = loadManifests(join(__dirname, '..', '..', '..', 'knative'));
const broker = new KafkaBroker({
  brokers: [process.env['BOOTSTRAP']!],
  manifests,
  names: knativeNames(manifests, process.env['SUFFIX']),
  resolve: () => process.env['TARGET_URL'],
  dispatch: (t) => t.name === 'ssis-reconfigure',
  ingress: false,
  logger: createJsonLogger({ level: process.env['CHILD_LOG'] === '1' ? 'debug' : 'error', write: (l) => process.stderr.write(`${l}\n`) }),
  tuning: { sessionTimeoutMs: 2_000, heartbeatIntervalMs: 300, commitIntervalMs: Number(process.env['COMMIT_INTERVAL_MS'] ?? 50) },
});
broker.start().then(
  () => process.stdout.write('ready\n'),
  (err: unknown) => {
    process.stderr.write(`${String(err)}\n`);
    process.exit(1);
  },
);
