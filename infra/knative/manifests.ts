/**
 * The knative/ manifests as the embedded and local-Kafka brokers run them: Broker, Triggers
 * (filters compiled, delivery merged), PingSources, ConfigMaps, function Services and KafkaSinks,
 * read from the files a kustomization lists, so that local runs route exactly as the cluster does
 * (ARCHITECTURE.md: "routing is declared once").
 *
 * Every problem is collected and reported at once, as one SsisError SSIS_INVALID_CONFIG whose
 * issues name the place: `<file>#<document index, from 0>:<field path>`.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments, type Tags } from 'yaml';
import { validationError, type FieldIssue } from '../../core/errors';
import { isRefDestination } from './destination';
import { FieldContext, describeValue, isPlainObject, readString } from './field-context';
import { readKustomizationResources } from './kustomization';
import {
  readBroker,
  readConfigMapData,
  readKafkaSink,
  readKnativeService,
  readPingSource,
  readTrigger,
  type ManifestDocument,
} from './resources';
import type {
  BrokerManifest,
  Destination,
  KafkaSinkManifest,
  KnativeManifests,
  PingSourceManifest,
  ServiceManifest,
  TriggerManifest,
} from './types';

export type * from './types';
export { compileTriggerFilter, evaluateFilter, type EventAttributes, type FilterExpression, type TriggerFilter } from './filters';
export { parseIsoDurationMs } from './duration';

/** The kinds the brokers read, by `<group>/<kind>`, with the one API version the loader accepts. */
const READ_KINDS: Readonly<Record<string, string>> = {
  'eventing.knative.dev/Broker': 'v1',
  'eventing.knative.dev/Trigger': 'v1',
  'eventing.knative.dev/KafkaSink': 'v1alpha1',
  'sources.knative.dev/PingSource': 'v1',
  'serving.knative.dev/Service': 'v1',
  '/ConfigMap': 'v1',
};

/**
 * Loads and validates the manifests of the kustomization in `dir` (e.g. `knative/`).
 * @throws SsisError SSIS_INVALID_CONFIG listing every problem found.
 */
export function loadManifests(dir: string): KnativeManifests {
  const issues: FieldIssue[] = [];
  const fail = (): never => {
    throw validationError('SSIS_INVALID_CONFIG', `invalid Knative manifests in ${dir}`, issues);
  };
  const kustomization = readKustomizationResources(dir, issues);
  if (!kustomization) return fail();
  const documents = kustomization.resources.flatMap((file) => readDocuments(dir, file, issues));
  const byKind = groupByKind(documents);
  const unique = uniqueNames(issues);

  const brokers = (byKind.get('eventing.knative.dev/Broker') ?? []).flatMap((document) => {
    const broker = readBroker(document);
    return broker && unique('Broker', broker, document) ? [{ broker, document }] : [];
  });
  const brokerEntry = brokers[0];
  const brokerCount = byKind.get('eventing.knative.dev/Broker')?.length ?? 0;
  if (brokerCount !== 1) {
    issues.push({ field: `${kustomization.file}#0:resources`, message: `exactly one Broker is supported, found ${brokerCount}` });
  }

  const triggers = (byKind.get('eventing.knative.dev/Trigger') ?? []).flatMap((document) => {
    const read = readTrigger(document, brokerEntry?.broker.deliverySpec);
    if (!read || !unique('Trigger', read.trigger, document)) return [];
    if (brokerEntry) checkTriggerBroker(read.trigger, brokerEntry.broker, document);
    return [{ ...read, document }];
  });
  const pingSources = readEach(byKind, 'sources.knative.dev/PingSource', readPingSource, unique);
  const services = readEach(byKind, 'serving.knative.dev/Service', readKnativeService, unique);
  const kafkaSinks = readEach(byKind, 'eventing.knative.dev/KafkaSink', readKafkaSink, unique);
  const configMaps = readConfigMaps(byKind.get('/ConfigMap') ?? [], issues);

  const sinks = kafkaSinks.map((entry) => entry.value);
  if (brokerEntry) checkDeadLetterSink(brokerEntry.broker.deliverySpec?.deadLetterSink, sinks, brokerEntry.document);
  for (const { deliverySpec, document } of triggers) checkDeadLetterSink(deliverySpec?.deadLetterSink, sinks, document);
  if (brokerEntry) for (const { value, document } of pingSources) checkPingSink(value, brokerEntry.broker, document);

  if (issues.length > 0 || !brokerEntry) return fail();
  return {
    files: kustomization.resources,
    broker: brokerEntry.broker,
    triggers: triggers.map((entry): TriggerManifest => entry.trigger),
    pingSources: pingSources.map((entry): PingSourceManifest => entry.value),
    configMaps,
    services: services.map((entry): ServiceManifest => entry.value),
    kafkaSinks: sinks,
  };
}

/**
 * Kubernetes reads manifests as YAML 1.1 (go-yaml v2: unquoted `yes`/`on` are booleans, `0644` is
 * octal); parse the same way so that a value the API server would refuse is refused here. Two 1.1
 * types go-yaml does not resolve are dropped: timestamps (kept as strings) and base-60 numbers
 * (`1:30` stays a string, not 90).
 */
const kubernetesYamlTags = (tags: Tags): Tags =>
  tags.filter((tag) =>
    typeof tag === 'string' ? !['timestamp', 'intTime', 'floatTime'].includes(tag) : tag.tag !== 'tag:yaml.org,2002:timestamp' && tag.format !== 'TIME',
  );

function readDocuments(dir: string, file: string, issues: FieldIssue[]): ManifestDocument[] {
  const documents: ManifestDocument[] = [];
  const parsed = parseAllDocuments(readFileSync(join(dir, file), 'utf8'), { version: '1.1', customTags: kubernetesYamlTags });
  parsed.forEach((document, index) => {
    const at = FieldContext.document(file, index, issues);
    if (document.errors.length > 0) {
      for (const error of document.errors) at.fail(`invalid YAML: ${error.message}`);
      return;
    }
    const body: unknown = document.toJS();
    // Empty documents (a leading or trailing `---`) are skipped, as kubectl does.
    if (body === null || body === undefined) return;
    if (!isPlainObject(body)) {
      at.fail(`must be a Kubernetes object (a mapping), got ${describeValue(body)}`);
      return;
    }
    const apiVersion = readString(body.apiVersion, at.at('apiVersion'));
    const kind = readString(body.kind, at.at('kind'));
    if (apiVersion !== undefined && kind !== undefined) documents.push({ file, index, apiVersion, kind, body, at });
  });
  return documents;
}

/** Groups the documents the brokers read; refuses other versions of those kinds. */
function groupByKind(documents: readonly ManifestDocument[]): Map<string, ManifestDocument[]> {
  const byKind = new Map<string, ManifestDocument[]>();
  for (const document of documents) {
    const slash = document.apiVersion.lastIndexOf('/');
    const group = slash < 0 ? '' : document.apiVersion.slice(0, slash);
    const version = document.apiVersion.slice(slash + 1);
    const key = `${group}/${document.kind}`;
    const expectedVersion = READ_KINDS[key];
    // Everything else (Namespace, RBAC, core Services…) does not affect routing and is skipped.
    if (expectedVersion === undefined) continue;
    if (version !== expectedVersion) {
      const expected = group === '' ? expectedVersion : `${group}/${expectedVersion}`;
      document.at.at('apiVersion').fail(`must be ${expected} (the version the brokers read), got ${describeValue(document.apiVersion)}`);
      continue;
    }
    byKind.set(key, [...(byKind.get(key) ?? []), document]);
  }
  return byKind;
}

type UniqueCheck = (kind: string, object: { name: string; namespace: string }, document: ManifestDocument) => boolean;

/** Refuses a second object with the same kind, namespace and name, as the API server would. */
function uniqueNames(issues: FieldIssue[]): UniqueCheck {
  const seen = new Map<string, ManifestDocument>();
  return (kind, object, document) => {
    const key = `${kind}/${object.namespace}/${object.name}`;
    const first = seen.get(key);
    if (first) {
      issues.push({ field: document.at.at('metadata').at('name').field, message: `duplicate ${kind} ${object.namespace}/${object.name} (first in ${first.file}#${first.index})` });
      return false;
    }
    seen.set(key, document);
    return true;
  };
}

function readEach<T extends { name: string; namespace: string }>(
  byKind: ReadonlyMap<string, readonly ManifestDocument[]>,
  key: string,
  read: (document: ManifestDocument) => T | undefined,
  unique: UniqueCheck,
): { value: T; document: ManifestDocument }[] {
  const kind = key.slice(key.lastIndexOf('/') + 1);
  return (byKind.get(key) ?? []).flatMap((document) => {
    const value = read(document);
    return value && unique(kind, value, document) ? [{ value, document }] : [];
  });
}

/** ConfigMaps by name: the functions look them up by name, so a name must not repeat. */
function readConfigMaps(documents: readonly ManifestDocument[], issues: FieldIssue[]): Map<string, Readonly<Record<string, string>>> {
  const configMaps = new Map<string, Readonly<Record<string, string>>>();
  for (const document of documents) {
    const configMap = readConfigMapData(document);
    if (!configMap) continue;
    if (configMaps.has(configMap.name)) {
      issues.push({ field: document.at.at('metadata').at('name').field, message: `duplicate ConfigMap ${configMap.name}` });
      continue;
    }
    configMaps.set(configMap.name, configMap.data);
  }
  return configMaps;
}

function checkTriggerBroker(trigger: TriggerManifest, broker: BrokerManifest, document: ManifestDocument): void {
  if (trigger.broker === broker.name && trigger.namespace === broker.namespace) return;
  document.at
    .at('spec')
    .at('broker')
    .fail(`no Broker ${trigger.namespace}/${trigger.broker} in the manifests (the Broker is ${broker.namespace}/${broker.name})`);
}

/** A KafkaSink dead letter sink must be one of ours: the embedded broker writes to its topic. */
function checkDeadLetterSink(sink: Destination | undefined, kafkaSinks: readonly KafkaSinkManifest[], document: ManifestDocument): void {
  if (!sink || !isRefDestination(sink) || sink.kind !== 'KafkaSink') return;
  if (kafkaSinks.some((candidate) => candidate.name === sink.name && candidate.namespace === sink.namespace)) return;
  document.at.at('spec').at('delivery').at('deadLetterSink').at('ref').fail(`no KafkaSink ${sink.namespace}/${sink.name} in the manifests`);
}

function checkPingSink(source: PingSourceManifest, broker: BrokerManifest, document: ManifestDocument): void {
  const sink = source.sink;
  if (!isRefDestination(sink) || sink.kind !== 'Broker') return;
  if (sink.name === broker.name && sink.namespace === broker.namespace) return;
  document.at.at('spec').at('sink').at('ref').fail(`no Broker ${sink.namespace}/${sink.name} in the manifests (the Broker is ${broker.namespace}/${broker.name})`);
}
