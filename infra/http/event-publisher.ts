/**
 * Sending events to the broker the way a Knative function does: HTTP POST in binary content mode
 * to K_SINK (the broker ingress). The broker answers 202 when the event is stored. Pooled
 * keep-alive sockets (post.ts), like the brokers' deliveries.
 */
import type { EventPublisher } from '../../events/publisher';
import { toHttpBinary } from '../../events/codec/http';
import { SsisError, type ErrorCode } from '../../core/errors';
import { postHttp, type HttpResponse } from './post';
import type { EventSenderAuth } from '../auth/event-auth';

/**
 * The catalogue code for a broker ingress that did not take an event: a 5xx or 429 is an outage or
 * load (SSIS_BROKER_UNAVAILABLE, retriable); any other refusal is about the event or the address
 * (a malformed event, no such broker), and sending it again cannot succeed (SSIS_BROKER_REFUSED).
 */
export function brokerRefusalCode(status: number): Extract<ErrorCode, 'SSIS_BROKER_UNAVAILABLE' | 'SSIS_BROKER_REFUSED'> {
  return status >= 500 || status === 429 ? 'SSIS_BROKER_UNAVAILABLE' : 'SSIS_BROKER_REFUSED';
}

/** `sender`: the credential the broker ingress asks for (the stack secret; in a cluster the pod's OIDC token). */
export function httpPublisher(sinkUrl: string, opts: { timeoutMs?: number; sender?: EventSenderAuth } = {}): EventPublisher {
  return {
    async publish(event) {
      const { headers, body } = toHttpBinary(event);
      let res: HttpResponse;
      try {
        const authorization = await opts.sender?.authorization();
        res = await postHttp(sinkUrl, { headers: authorization ? { ...headers, authorization } : headers, body, timeoutMs: opts.timeoutMs ?? 10_000 });
      } catch (err) {
        throw new SsisError('SSIS_BROKER_UNAVAILABLE', `broker at ${sinkUrl} unreachable: ${String(err)}`, { cause: err });
      }
      if (res.status !== 202 && res.status !== 200 && res.status !== 204) {
        throw new SsisError(brokerRefusalCode(res.status), `broker refused ${event.type} ${event.id}: ${res.status} ${res.body.slice(0, 200)}`);
      }
    },
  };
}
