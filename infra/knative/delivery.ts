/**
 * Delivery specs (retry, backoff, timeout, dead letter sink) as eventing-kafka-broker applies them:
 * each of Broker and Trigger delivery becomes an egress config (EgressConfigFromDelivery), and the
 * Trigger's is merged onto the Broker's field by field (MergeEgressConfig), a zero meaning "unset"
 * as in the data-plane protobuf contract. Two consequences worth knowing, kept on purpose so that
 * local runs match the cluster:
 * - A Trigger that sets `retry` but no `backoffDelay` gets the controller's default delay (1 s),
 *   not the Broker's: the default fills the Trigger's own config before the merge.
 * - Once a Trigger sets any of retry, timeout or deadLetterSink, its backoff policy wins, and an
 *   unset policy means exponential.
 */
import { parseIsoDurationMs } from './duration';
import { parseDestination } from './destination';
import { FieldContext, describeValue, readObject, readString, rejectUnknownKeys } from './field-context';
import type { BackoffPolicy, Delivery, DeliverySpec, Destination } from './types';

/** eventing-kafka-broker controller's BROKER_DEFAULT_BACKOFF_DELAY_MS. */
export const DEFAULT_BACKOFF_DELAY_MS = 1_000;
/** The Kafka dispatcher's per-attempt timeout when none is set. */
export const DEFAULT_DELIVERY_TIMEOUT_MS = 600_000;

const DELIVERY_FIELDS = ['retry', 'backoffPolicy', 'backoffDelay', 'timeout', 'deadLetterSink', 'format', 'retryAfterMax'] as const;
const BACKOFF_POLICIES: readonly BackoffPolicy[] = ['linear', 'exponential'];

/** The egress config of the data-plane contract; 0 and undefined mean "unset". */
interface EgressConfig {
  readonly deadLetter?: Destination;
  readonly retry: number;
  readonly backoffPolicy: BackoffPolicy;
  readonly backoffDelayMs: number;
  readonly timeoutMs: number;
}

/** Parses `spec.delivery`; `namespace` is the holder's, the default for the dead letter ref. */
export function parseDeliverySpec(value: unknown, at: FieldContext, namespace: string): DeliverySpec | undefined {
  const delivery = readObject(value, at);
  if (!delivery) return undefined;
  // The CRDs keep unknown keys under delivery (for feature-flagged fields), so a misspelt key would
  // be ignored silently on the cluster; refuse it here instead.
  rejectUnknownKeys(delivery, DELIVERY_FIELDS, at);
  let valid = true;
  const check = <T>(parsed: T | undefined, present: boolean): T | undefined => {
    if (present && parsed === undefined) valid = false;
    return parsed;
  };
  const spec: DeliverySpec = {
    retry: check(parseRetry(delivery.retry, at.at('retry')), delivery.retry !== undefined),
    backoffPolicy: check(parseBackoffPolicy(delivery.backoffPolicy, at.at('backoffPolicy')), delivery.backoffPolicy !== undefined),
    backoffDelayMs: check(parseDuration(delivery.backoffDelay, at.at('backoffDelay')), delivery.backoffDelay !== undefined),
    timeoutMs: check(parseDuration(delivery.timeout, at.at('timeout')), delivery.timeout !== undefined),
    deadLetterSink: check(
      delivery.deadLetterSink === undefined ? undefined : parseDestination(delivery.deadLetterSink, at.at('deadLetterSink'), namespace),
      delivery.deadLetterSink !== undefined,
    ),
  };
  // Accepted but not modelled: `format` (the embedded broker's subscribers read both encodings) and
  // `retryAfterMax` (behind a feature flag that is off by default).
  if (delivery.format !== undefined && delivery.format !== 'json' && delivery.format !== 'binary') {
    at.at('format').fail(`must be json or binary, got ${describeValue(delivery.format)}`);
    valid = false;
  }
  if (delivery.retryAfterMax !== undefined && parseDuration(delivery.retryAfterMax, at.at('retryAfterMax')) === undefined) valid = false;
  return valid ? withoutUndefined(spec) : undefined;
}

/**
 * The delivery a Trigger's events get: its own spec merged onto its Broker's, then the data
 * plane's defaults for whatever neither sets.
 */
export function effectiveDelivery(trigger: DeliverySpec | undefined, broker: DeliverySpec | undefined): Delivery {
  const egress = mergeEgressConfig(egressConfigFromDelivery(trigger), egressConfigFromDelivery(broker));
  const delivery: Delivery = {
    retry: egress?.retry ?? 0,
    backoffPolicy: egress?.backoffPolicy ?? 'exponential',
    // Only 0 when retry is unset, where no backoff ever happens; report the default instead.
    backoffDelayMs: egress?.backoffDelayMs || DEFAULT_BACKOFF_DELAY_MS,
    timeoutMs: egress?.timeoutMs || DEFAULT_DELIVERY_TIMEOUT_MS,
  };
  return egress?.deadLetter ? { ...delivery, deadLetterSink: egress.deadLetter } : delivery;
}

function egressConfigFromDelivery(spec: DeliverySpec | undefined): EgressConfig | undefined {
  if (!spec || (spec.deadLetterSink === undefined && spec.retry === undefined && spec.timeoutMs === undefined)) return undefined;
  const retrySet = spec.retry !== undefined;
  return {
    deadLetter: spec.deadLetterSink,
    retry: spec.retry ?? 0,
    // Backoff settings only take effect together with retry.
    backoffPolicy: retrySet ? (spec.backoffPolicy ?? 'exponential') : 'exponential',
    backoffDelayMs: retrySet ? (spec.backoffDelayMs ?? DEFAULT_BACKOFF_DELAY_MS) : 0,
    timeoutMs: spec.timeoutMs ?? 0,
  };
}

function mergeEgressConfig(trigger: EgressConfig | undefined, broker: EgressConfig | undefined): EgressConfig | undefined {
  if (!trigger) return broker;
  if (!broker) return trigger;
  return {
    deadLetter: trigger.deadLetter ?? broker.deadLetter,
    retry: trigger.retry || broker.retry,
    backoffPolicy: trigger.backoffPolicy,
    backoffDelayMs: trigger.backoffDelayMs || broker.backoffDelayMs,
    timeoutMs: trigger.timeoutMs || broker.timeoutMs,
  };
}

function parseRetry(value: unknown, at: FieldContext): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 2 ** 31 - 1) return value;
  at.fail(`must be a non-negative integer, got ${describeValue(value)}`);
  return undefined;
}

function parseBackoffPolicy(value: unknown, at: FieldContext): BackoffPolicy | undefined {
  if (value === undefined) return undefined;
  const policy = BACKOFF_POLICIES.find((known) => known === value);
  if (!policy) at.fail(`must be linear or exponential, got ${describeValue(value)}`);
  return policy;
}

function parseDuration(value: unknown, at: FieldContext): number | undefined {
  if (value === undefined) return undefined;
  const text = readString(value, at);
  if (text === undefined) return undefined;
  const parsed = parseIsoDurationMs(text);
  if (parsed.ok) return parsed.ms;
  at.fail(parsed.message);
  return undefined;
}

function withoutUndefined(spec: DeliverySpec): DeliverySpec {
  return Object.fromEntries(Object.entries(spec).filter(([, value]) => value !== undefined));
}
