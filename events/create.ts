/**
 * Making and admitting SSIS events. createEvent is how every producer builds one (clock and ids
 * injected, so the simulator and tests are deterministic); validateEnvelope is the boundary check
 * every decoded or received event goes through before a handler trusts its type.
 */
import { validationError } from '../core/errors.js';
import type { Clock, IdSource } from '../core/common/ports.js';
import type { ExtensionValue, SsisEvent } from './envelope.js';
import { checkEnvelope } from './envelope-check.js';

export interface CreateEventOptions {
  /** URI-reference of the producer, e.g. `/ssis/functions/evaluate`. */
  readonly source: string;
  readonly clock: Clock;
  readonly ids: IdSource;
  /** Defaults to data.service. */
  readonly subject?: string;
  /** Extension attributes: names ^[a-z0-9]+$, values strings, booleans or 32-bit integers. */
  readonly extensions?: Readonly<Record<string, ExtensionValue>>;
}

/**
 * Builds an event about `data.service`: that service is the partition key (so all events about a
 * model stay in order on one Kafka partition) and the default subject. The event is checked like
 * a received one, so a malformed event fails where it is made rather than at its consumers.
 * @throws {SsisError} SSIS_INVALID_EVENT listing every problem
 */
export function createEvent<T extends { readonly service: string }>(type: string, data: T, options: CreateEventOptions): SsisEvent<T> {
  const extensions = options.extensions ?? {};
  const event: SsisEvent<T> = {
    specversion: '1.0',
    id: options.ids.next(),
    type,
    source: options.source,
    subject: options.subject ?? data.service,
    time: new Date(options.clock.nowMs()).toISOString(),
    datacontenttype: 'application/json',
    partitionkey: data.service,
    data,
    // Left out when empty so that the event deep-equals itself after a trip through a codec.
    ...(Object.keys(extensions).length === 0 ? {} : { extensions: { ...extensions } }),
  };
  validateEnvelope(event);
  return event;
}

/**
 * Checks a CloudEvent from outside and returns it as an SsisEvent. Accepts the flat CloudEvents
 * JSON form (extensions as top-level attributes) or an SsisEvent (extensions nested).
 *
 * Checked: specversion 1.0; non-empty id, type, source (and subject when present); time RFC 3339
 * when present; partitionkey a string when present; extension names ^[a-z0-9]+$ with string,
 * boolean or integer values; datacontenttype application/json when there is data (parameters
 * such as charset are dropped). For ssis.* types, time, partitionkey and data are required,
 * partitionkey must equal data.service and the data must match the type's schema; PingSource
 * data must be an object when present. All problems are reported at once.
 *
 * Events of foreign types (PingSource) come back without `partitionkey`, `time` or
 * `datacontenttype` when they had none, although SsisEvent declares them.
 * @throws {SsisError} SSIS_INVALID_EVENT with one issue per problem (`id`, `partitionkey`, `data.service`, ...)
 */
export function validateEnvelope(obj: unknown): SsisEvent<unknown> {
  const result = checkEnvelope(obj);
  if (!result.ok) throw validationError('SSIS_INVALID_EVENT', 'invalid CloudEvent', result.issues);
  return result.event;
}
