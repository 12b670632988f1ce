/**
 * One reader per Kubernetes kind the brokers need, from a parsed YAML document to the typed view of
 * types.ts. Each reports every problem it finds and returns undefined when there was any.
 */
import { effectiveDelivery, parseDeliverySpec } from './delivery';
import { isRefDestination, parseDestination, parseObjectRef } from './destination';
import {
  FieldContext,
  describeValue,
  readList,
  readObject,
  readOptionalObject,
  readOptionalString,
  readString,
  readStringMap,
  rejectUnknownKeys,
  type PlainObject,
} from './field-context';
import { parseTriggerFilter } from './filters';
import type {
  BrokerManifest,
  DeliverySpec,
  KafkaSinkManifest,
  PingSourceManifest,
  RefDestination,
  ServiceManifest,
  TriggerManifest,
} from './types';

export const BROKER_CLASS_ANNOTATION = 'eventing.knative.dev/broker.class';
export const DELIVERY_ORDER_ANNOTATION = 'kafka.eventing.knative.dev/delivery.order';

/** One non-empty YAML document, with where it came from. */
export interface ManifestDocument {
  readonly file: string;
  readonly index: number;
  readonly apiVersion: string;
  readonly kind: string;
  readonly body: PlainObject;
  readonly at: FieldContext;
}

/** ObjectMeta as far as routing needs it. */
export interface ObjectMetadata {
  readonly name: string;
  readonly namespace?: string;
  readonly annotations: Readonly<Record<string, string>>;
}

export function readMetadata(document: ManifestDocument): ObjectMetadata | undefined {
  const at = document.at.at('metadata');
  const metadata = readObject(document.body.metadata, at);
  if (!metadata) return undefined;
  const name = readString(metadata.name, at.at('name'));
  const namespace = readOptionalString(metadata.namespace, at.at('namespace'));
  const annotations = metadata.annotations === undefined ? {} : readStringMap(metadata.annotations, at.at('annotations'), { allowEmptyValues: true });
  if (name === undefined || annotations === undefined) return undefined;
  return namespace === undefined ? { name, annotations } : { name, namespace, annotations };
}

/** Namespaced objects must say where they live: the brokers cannot know kubectl's context. */
function requireNamespace(document: ManifestDocument, metadata: ObjectMetadata): string | undefined {
  if (metadata.namespace === undefined) document.at.at('metadata').at('namespace').fail('is required: the manifests must not depend on the namespace of the kubectl context');
  return metadata.namespace;
}

function readSpec(document: ManifestDocument): PlainObject | undefined {
  return readObject(document.body.spec, document.at.at('spec'));
}

export function readBroker(document: ManifestDocument): BrokerManifest | undefined {
  const metadata = readMetadata(document);
  const spec = document.body.spec === undefined ? {} : readSpec(document);
  if (!metadata || !spec) return undefined;
  const namespace = requireNamespace(document, metadata);
  const specAt = document.at.at('spec');
  rejectUnknownKeys(spec, ['config', 'delivery'], specAt);
  const brokerClass = metadata.annotations[BROKER_CLASS_ANNOTATION];
  if (brokerClass === undefined || brokerClass === '') {
    document.at
      .at('metadata')
      .at('annotations')
      .at(BROKER_CLASS_ANNOTATION)
      .fail('is required: without it the cluster default class (MTChannelBasedBroker) applies, not Kafka');
  }
  // Without a namespace, references still get checked (against an empty default) so every
  // problem is reported at once; the Broker itself is then refused.
  const config = spec.config === undefined ? undefined : parseObjectRef(spec.config, specAt.at('config'), namespace ?? '');
  const deliverySpec = spec.delivery === undefined ? undefined : parseDeliverySpec(spec.delivery, specAt.at('delivery'), namespace ?? '');
  if (namespace === undefined || brokerClass === undefined || brokerClass === '') return undefined;
  if ((spec.config !== undefined && !config) || (spec.delivery !== undefined && !deliverySpec)) return undefined;
  return {
    name: metadata.name,
    namespace,
    class: brokerClass,
    ...(config && { config }),
    delivery: effectiveDelivery(undefined, deliverySpec),
    ...(deliverySpec && { deliverySpec }),
  };
}

export interface ReadTrigger {
  readonly trigger: TriggerManifest;
  /** The Trigger's own delivery as written, before the Broker's is merged under it. */
  readonly deliverySpec?: DeliverySpec;
}

/** Reads a Trigger; `brokerDelivery` is its Broker's delivery as written, merged under its own. */
export function readTrigger(document: ManifestDocument, brokerDelivery: DeliverySpec | undefined): ReadTrigger | undefined {
  const metadata = readMetadata(document);
  const spec = readSpec(document);
  if (!metadata || !spec) return undefined;
  const namespace = requireNamespace(document, metadata);
  const specAt = document.at.at('spec');
  // The Trigger CRD keeps unknown keys at the top of spec, so the cluster would accept a misspelt
  // `filter` or `delivery` and ignore it; refuse it here.
  rejectUnknownKeys(spec, ['broker', 'filter', 'filters', 'subscriber', 'delivery'], specAt);
  const broker = readString(spec.broker, specAt.at('broker'));
  const ordered = readDeliveryOrder(metadata, document.at);
  const filters = parseTriggerFilter(spec, specAt, metadata.name);
  const subscriber = readSubscriber(spec.subscriber, specAt.at('subscriber'), namespace ?? '');
  const delivery = spec.delivery === undefined ? undefined : parseDeliverySpec(spec.delivery, specAt.at('delivery'), namespace ?? '');
  if (namespace === undefined || broker === undefined || ordered === undefined || !filters || !subscriber) return undefined;
  if (spec.delivery !== undefined && !delivery) return undefined;
  const trigger: TriggerManifest = {
    name: metadata.name,
    namespace,
    broker,
    ordered,
    filters,
    subscriber,
    delivery: effectiveDelivery(delivery, brokerDelivery),
  };
  return delivery ? { trigger, deliverySpec: delivery } : { trigger };
}

function readDeliveryOrder(metadata: ObjectMetadata, at: FieldContext): boolean | undefined {
  const order = metadata.annotations[DELIVERY_ORDER_ANNOTATION];
  if (order === undefined || order === 'unordered') return false;
  if (order === 'ordered') return true;
  at.at('metadata').at('annotations').at(DELIVERY_ORDER_ANNOTATION).fail(`must be ordered or unordered, got ${describeValue(order)}`);
  return undefined;
}

function readSubscriber(value: unknown, at: FieldContext, namespace: string): RefDestination | undefined {
  const destination = parseDestination(value, at, namespace);
  if (!destination) return undefined;
  if (isRefDestination(destination)) return destination;
  at.at('ref').fail('is required: the embedded broker delivers to Services by name, not to bare URLs');
  return undefined;
}

const CRON_DESCRIPTORS = ['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly'];

export function readPingSource(document: ManifestDocument): PingSourceManifest | undefined {
  const metadata = readMetadata(document);
  const spec = readSpec(document);
  if (!metadata || !spec) return undefined;
  const namespace = requireNamespace(document, metadata);
  const specAt = document.at.at('spec');
  rejectUnknownKeys(spec, ['schedule', 'timezone', 'contentType', 'data', 'sink'], specAt);
  const schedule = readString(spec.schedule, specAt.at('schedule'));
  const scheduleProblem = schedule === undefined ? undefined : cronProblem(schedule);
  if (scheduleProblem) specAt.at('schedule').fail(scheduleProblem);
  const timezone = readOptionalString(spec.timezone, specAt.at('timezone'));
  const contentType = readOptionalString(spec.contentType, specAt.at('contentType'));
  const data = spec.data === undefined ? undefined : readString(spec.data, specAt.at('data'));
  const dataProblem = contentType === 'application/json' && data !== undefined ? jsonProblem(data) : undefined;
  // The PingSource webhook checks this too: a JSON content type must carry JSON.
  if (dataProblem) specAt.at('data').fail(`must be JSON because contentType is application/json: ${dataProblem}`);
  const sink = parseDestination(spec.sink, specAt.at('sink'), namespace ?? '');
  if (namespace === undefined || schedule === undefined || scheduleProblem || dataProblem || !sink) return undefined;
  if ((spec.timezone !== undefined && timezone === undefined) || (spec.contentType !== undefined && contentType === undefined)) return undefined;
  if (spec.data !== undefined && data === undefined) return undefined;
  return {
    name: metadata.name,
    namespace,
    schedule,
    ...(timezone !== undefined && { timezone }),
    ...(contentType !== undefined && { contentType }),
    ...(data !== undefined && { data }),
    sink,
  };
}

/** A light check of Knative's cron syntax (5 fields, or 6 with leading seconds, or a descriptor). */
function cronProblem(schedule: string): string | undefined {
  const expression = schedule.trim().replace(/^(?:CRON_TZ|TZ)=\S+\s+/, '');
  if (expression.startsWith('@')) {
    return CRON_DESCRIPTORS.includes(expression) ? undefined : `${describeValue(schedule)}: only ${CRON_DESCRIPTORS.join(', ')} are accepted (@every is refused by Knative)`;
  }
  const fields = expression.split(/\s+/);
  if (fields.length !== 5 && fields.length !== 6) return `${describeValue(schedule)}: a cron schedule has 5 fields, or 6 with leading seconds`;
  const bad = fields.find((field) => !/^[0-9A-Za-z*?/,-]+$/.test(field));
  return bad === undefined ? undefined : `${describeValue(schedule)}: invalid cron field ${describeValue(bad)}`;
}

function jsonProblem(text: string): string | undefined {
  try {
    JSON.parse(text);
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

export function readKnativeService(document: ManifestDocument): ServiceManifest | undefined {
  const metadata = readMetadata(document);
  const spec = readSpec(document);
  if (!metadata || !spec) return undefined;
  const namespace = requireNamespace(document, metadata);
  const templateAt = document.at.at('spec').at('template');
  const template = readObject(spec.template, templateAt);
  const podSpec = template && readObject(template.spec, templateAt.at('spec'));
  if (!podSpec || namespace === undefined) return undefined;
  const containers = readList(podSpec.containers, templateAt.at('spec').at('containers'));
  const container = containers && readObject(containers[0], templateAt.at('spec').at('containers').at(0));
  if (!container) return undefined;
  const env = readLiteralEnv(container.env, templateAt.at('spec').at('containers').at(0).at('env'));
  const mountedConfigMaps = readConfigMapVolumes(podSpec.volumes, templateAt.at('spec').at('volumes'));
  if (!env || !mountedConfigMaps) return undefined;
  return { name: metadata.name, namespace, env, mountedConfigMaps };
}

/** `name`/`value` pairs; entries with `valueFrom` are resolved by the kubelet and left out here. */
function readLiteralEnv(value: unknown, at: FieldContext): Record<string, string> | undefined {
  if (value === undefined) return {};
  const list = readList(value, at);
  if (!list) return undefined;
  const env: Record<string, string> = {};
  let valid = true;
  list.forEach((entry, index) => {
    const variable = readObject(entry, at.at(index));
    const name = variable && readString(variable.name, at.at(index).at('name'));
    if (!variable || name === undefined) {
      valid = false;
    } else if (variable.value !== undefined) {
      if (typeof variable.value === 'string') env[name] = variable.value;
      else {
        at.at(index).at('value').fail(`must be a string, got ${describeValue(variable.value)} (quote it in YAML)`);
        valid = false;
      }
    }
  });
  return valid ? env : undefined;
}

function readConfigMapVolumes(value: unknown, at: FieldContext): string[] | undefined {
  if (value === undefined) return [];
  const list = readList(value, at);
  if (!list) return undefined;
  const names: string[] = [];
  let valid = true;
  list.forEach((entry, index) => {
    const volume = readObject(entry, at.at(index));
    const configMap = volume && readOptionalObject(volume.configMap, at.at(index).at('configMap'));
    if (!volume || (volume.configMap !== undefined && !configMap)) valid = false;
    else if (configMap) {
      const name = readString(configMap.name, at.at(index).at('configMap').at('name'));
      if (name === undefined) valid = false;
      else names.push(name);
    }
  });
  return valid ? names : undefined;
}

export function readKafkaSink(document: ManifestDocument): KafkaSinkManifest | undefined {
  const metadata = readMetadata(document);
  const spec = readSpec(document);
  if (!metadata || !spec) return undefined;
  const namespace = requireNamespace(document, metadata);
  const topic = readString(spec.topic, document.at.at('spec').at('topic'));
  if (namespace === undefined || topic === undefined) return undefined;
  return { name: metadata.name, namespace, topic };
}

export function readConfigMapData(document: ManifestDocument): { name: string; data: Record<string, string> } | undefined {
  const metadata = readMetadata(document);
  if (!metadata) return undefined;
  // ConfigMap values are strings for the API server too: an unquoted `10` or `true` is refused.
  const data = document.body.data === undefined ? {} : readStringMap(document.body.data, document.at.at('data'), { allowEmptyValues: true });
  return data && { name: metadata.name, data };
}
