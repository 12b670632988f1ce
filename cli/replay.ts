/** `ssis replay`: read the Kafka broker topic back and re-deliver its events, or replay them offline (what-if). */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { parseSsisConfig } from '../core/config/ssis-config';
import { SsisError } from '../core/errors';
import { toHttpBinary } from '../events/codec/http';
import type { AnyCloudEvent, SsisEvent } from '../events/envelope';
import { METRICS_SAMPLED } from '../events/metrics-sampled';
import { PLACEMENT_FAILED } from '../events/placement-failed';
import { ROLLOUT_COMPLETED } from '../events/rollout-completed';
import { SCALE_DECIDED, SCALE_POLICIES } from '../events/scale-decided';
import { configurationFrom } from '../infra/config/from-configmaps';
import { DEFAULT_NODES } from '../app/embedded-stack';
import { postCloudEvent } from '../infra/broker/http-delivery';
import { isKafkaUrl, knativeNames, parseKafkaUrl } from '../infra/kafka/names';
import { parsePosition, readTopic, type ReadRecord } from '../infra/kafka/topic-reader';
import { formatWhatIf, narrowWhatIf, whatIf, type WhatIfPolicy } from '../app/what-if';
import { loadManifests } from '../infra/knative/manifests';
import { gpuInventory } from '../core/optimizer/cluster-system';
import { PROJECT_ROOT } from '../infra/project-root';

const POLICIES = SCALE_POLICIES.filter((p) => p !== 'cold-start');

const HELP = `Usage: ssis replay [range and filters] (--to-url <url> | --what-if [--policy <name>] [--set k=v]…)

Reads the Kafka broker topic (knative-broker-<ns>-<broker>) with a throw-away consumer group (the
Triggers' offsets are not touched) and does one of:

  --to-url <url>        re-deliver each selected event to a function URL, as the broker does
                        (HTTP POST, binary CloudEvents, Prefer: reply); prints each answer.
                        Handlers are idempotent: replaying applied decisions changes nothing.
                        The functions take events only from authenticated senders: the local
                        stack's secret is read from --secret-file (default .ssis/event-secret);
                        in a cluster pass an OIDC token for the function's audience in
                        $SSIS_EVENT_TOKEN.
  --what-if             re-run the recorded metrics samples offline through the evaluate function
                        with --policy and --set, and print the recorded decisions (ssis.scale.decided
                        in the topic) beside the new ones, with how many differ. Open loop: each
                        sample is evaluated as it was recorded.

Range and filters:
  --from <pos>          start: RFC 3339 time, ms since epoch, relative (-5m, -30s, -2h), or
                        offsets p:offset[,p:offset…] (default: the beginning)
  --to <pos>            end, exclusive, same forms (default: the end when reading starts)
  --type <type>         only events of this type (repeatable; trailing * = prefix); --to-url only
  --subject <s>         only events about this service (subject or partition key)

What-if options:
  --policy <name>       force a policy for every service: ${POLICIES.join(' | ')} (default: each class's own)
  --set <key>=<value>   override a scaler setting of ssis-config, e.g. scaler.stabilizationWindowSec=0,
                        scaler.upCooldownSec=0, scaler.maxReplicas=8 (repeatable)

Where:
  --broker <url>        kafka://host:port (default: $SSIS_BROKER)
  --topic <name>        topic to read (default: the broker topic of --knative's Broker)
  --knative <dir>       manifests: Broker name, ConfigMaps for --what-if (default: knative/)

Examples:
  ssis replay --broker kafka://127.0.0.1:9092 --from -10m --subject gpt2 --what-if --set scaler.stabilizationWindowSec=0
  ssis replay --from 2026-11-23T10:00:00Z --to 2026-11-23T10:05:00Z --type ssis.scale.decided --to-url http://127.0.0.1:8083/
`;

export async function runReplay(argv: readonly string[]): Promise<void> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      broker: { type: 'string' }, topic: { type: 'string' }, knative: { type: 'string' }, from: { type: 'string' }, to: { type: 'string' },
      type: { type: 'string', multiple: true }, subject: { type: 'string' }, 'to-url': { type: 'string' }, 'what-if': { type: 'boolean' },
      policy: { type: 'string' }, set: { type: 'string', multiple: true }, 'secret-file': { type: 'string' }, help: { type: 'boolean' },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return;
  }
  if (!values['to-url'] === !values['what-if']) {
    throw new SsisError('SSIS_INVALID_CONFIG', 'choose one mode: --to-url <url> or --what-if (see ssis replay --help)', { issues: [{ field: '--to-url/--what-if', message: 'exactly one is required' }] });
  }
  const url = values.broker ?? process.env['SSIS_BROKER'];
  if (!isKafkaUrl(url)) throw new SsisError('SSIS_INVALID_CONFIG', 'replay reads a Kafka broker topic: pass --broker kafka://host:port or set SSIS_BROKER', { issues: [{ field: '--broker', message: 'missing or not kafka://' }] });
  const brokers = parseKafkaUrl(url, '--broker');
  const manifests = loadManifests(resolve(values.knative ?? join(PROJECT_ROOT, 'knative')));
  const topic = values.topic ?? knativeNames(manifests).topic;
  const keepSubject = (e: AnyCloudEvent): boolean => values.subject === undefined || e.subject === values.subject || e.partitionkey === values.subject;

  const records = await readTopic({
    brokers,
    topic,
    ...(values.from ? { from: parsePosition(values.from, '--from') } : {}),
    ...(values.to ? { to: parsePosition(values.to, '--to') } : {}),
  });
  const invalid = records.filter((r) => r.event === undefined).length;
  if (invalid > 0) process.stderr.write(`ssis replay: ${invalid} record(s) in range are not valid CloudEvents and were skipped\n`);

  if (values['to-url']) {
    const types = values.type ?? [];
    const keep = (e: AnyCloudEvent): boolean => keepSubject(e) && (types.length === 0 || types.some((t) => (t.endsWith('*') ? e.type.startsWith(t.slice(0, -1)) : e.type === t)));
    await redeliver(records, keep, values['to-url'], manifests.broker.namespace, senderAuthorization(values['secret-file']));
    return;
  }

  const policy = values.policy;
  if (policy !== undefined && !(POLICIES as readonly string[]).includes(policy)) {
    throw new SsisError('SSIS_INVALID_CONFIG', `--policy must be one of ${POLICIES.join(', ')}, got ${policy}`, { issues: [{ field: '--policy', message: `unknown policy ${policy}` }] });
  }
  const configuration = configurationFrom(manifests.configMaps);
  const ssis = applySettings(configuration.ssis, values.set ?? []);
  const nodes = ssis.cluster.nodes.length > 0 ? ssis.cluster.nodes : DEFAULT_NODES;
  const inventory = gpuInventory(nodes.flatMap((n) => n.gpus.flatMap((g) => Array.from({ length: g.count }, () => ({ model: g.model })))));
  const wanted = new Set([METRICS_SAMPLED, SCALE_DECIDED, ROLLOUT_COMPLETED, PLACEMENT_FAILED]);
  // Every service is replayed (joint optimization); --subject narrows what is printed.
  const events = records.map((r) => r.event).filter((e): e is SsisEvent => e !== undefined && wanted.has(e.type));
  const full = await whatIf(events, { catalog: configuration.catalog, autoscalerConfig: () => configuration.autoscaler, config: ssis, inventory: () => inventory }, policy as WhatIfPolicy | undefined);
  const report = values.subject === undefined ? full : narrowWhatIf(full, values.subject);
  const label = [policy ?? 'replayed', ...(values.set ?? [])].join(' ');
  process.stdout.write(`${formatWhatIf(report, label)}\n`);
}

async function redeliver(records: readonly ReadRecord[], keep: (e: AnyCloudEvent) => boolean, url: string, namespace: string, authorization: string | undefined): Promise<void> {
  let sent = 0;
  let failed = 0;
  for (const r of records) {
    if (!r.event || !keep(r.event)) continue;
    const outcome = await postCloudEvent(url, toHttpBinary(r.event), { timeoutMs: 30_000, namespace, ...(authorization ? { authorization } : {}) });
    sent++;
    if (!outcome.ok) failed++;
    const answer = outcome.ok ? `${outcome.status}${outcome.reply ? ` reply ${outcome.reply.type} ${outcome.reply.id}` : ''}` : `${outcome.status} ${outcome.data.slice(0, 200)}`;
    process.stdout.write(`${JSON.stringify({ partition: r.partition, offset: r.offset, id: r.event.id, type: r.event.type, subject: r.event.subject, answer })}\n`);
  }
  process.stderr.write(`ssis replay: ${sent} event(s) re-delivered to ${url}, ${failed} failed\n`);
  if (failed > 0) process.exitCode = 1;
}

type Ssis = ReturnType<typeof configurationFrom>['ssis'];

/** `scaler.<field>=<number>` overrides for the what-if. */
export function applySettings(ssis: Ssis, settings: readonly string[]): Ssis {
  let scaler = ssis.scaler;
  for (const s of settings) {
    const m = /^scaler\.([A-Za-z]+)=(-?\d+(?:\.\d+)?)$/.exec(s.trim());
    if (!m || !Object.hasOwn(scaler, m[1]!)) {
      throw new SsisError('SSIS_INVALID_CONFIG', `--set "${s}": expected scaler.<field>=<number> with field one of ${Object.keys(scaler).join(', ')}`, { issues: [{ field: '--set', message: `bad setting ${s}` }] });
    }
    scaler = { ...scaler, [m[1]!]: Number(m[2]) };
  }
  // The same bounds as the ConfigMap (e.g. maxReplicas >= minReplicas), each problem named.
  return { ...ssis, scaler: parseSsisConfig({ scaler }, '--set').scaler };
}

/** The credential a function asks of event senders: a cluster OIDC token, or the local stack's secret. */
function senderAuthorization(secretFile: string | undefined): string | undefined {
  const token = process.env['SSIS_EVENT_TOKEN'];
  if (token) return `Bearer ${token}`;
  const path = secretFile ?? join(PROJECT_ROOT, '.ssis', 'event-secret');
  if (!existsSync(path)) {
    if (secretFile) throw new SsisError('SSIS_INVALID_CONFIG', `--secret-file ${secretFile} does not exist`, { issues: [{ field: '--secret-file', message: 'not found' }] });
    return undefined;
  }
  return `Bearer ${readFileSync(path, 'utf8').trim()}`;
}
