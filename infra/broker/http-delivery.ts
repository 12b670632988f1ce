/**
 * One delivery attempt of a CloudEvent to a subscriber, as the Knative Kafka dispatcher makes it
 * (notes/knative-kafka.md §1.5, §1.7), for both brokers and `ssis replay --to-url`: POST in binary mode with `Prefer: reply` and
 * `Kn-Namespace`; 2xx with an empty body = done, 2xx with a CloudEvent = a reply to re-ingest,
 * 2xx with anything else = failed (retried); ≥500, 404, 408, 409, 429 and network errors are
 * retried, other statuses go to the dead-letter sink at once. The message is sent as given (the
 * event's original data and content type); a reply may be any valid CloudEvent, as at the ingress.
 */
import { asSsisError } from '../../core/errors';
import { fromHttpAnyEvent, type HttpMessage } from '../../events/codec/http';
import type { AnyCloudEvent } from '../../events/envelope';
import { postHttp, type HttpResponse } from '../http/post';

export type AttemptOutcome =
  | { readonly ok: true; readonly status: number; readonly reply?: AnyCloudEvent }
  | { readonly ok: false; readonly retriable: boolean; readonly status: number; readonly data: string };

export function isRetriableStatus(status: number): boolean {
  return status >= 500 || status === 404 || status === 408 || status === 409 || status === 429;
}

/** `authorization`: the sender's credential (the stack secret, or an OIDC token for the subscriber's audience). */
export async function postCloudEvent(url: string, message: HttpMessage, opts: { timeoutMs: number; namespace?: string; authorization?: string }): Promise<AttemptOutcome> {
  let res: HttpResponse;
  try {
    res = await postHttp(url, {
      headers: { ...message.headers, prefer: 'reply', ...(opts.namespace ? { 'kn-namespace': opts.namespace } : {}), ...(opts.authorization ? { authorization: opts.authorization } : {}) },
      body: message.body,
      timeoutMs: opts.timeoutMs,
    });
  } catch (err) {
    return { ok: false, retriable: true, status: 0, data: String(err) };
  }
  const text = res.body;
  if (res.status >= 200 && res.status < 300) {
    if (text.length === 0) return { ok: true, status: res.status };
    try {
      return { ok: true, status: res.status, reply: fromHttpAnyEvent({ headers: res.headers, body: res.bytes }) };
    } catch (err) {
      // Knative: "Unable to decode response: unknown encoding and non empty response".
      return { ok: false, retriable: true, status: res.status, data: `non-empty response is not a CloudEvent: ${asSsisError(err).message}` };
    }
  }
  return { ok: false, retriable: isRetriableStatus(res.status), status: res.status, data: text };
}
