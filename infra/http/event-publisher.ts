/**
 * Sending events to the broker the way a Knative function does: HTTP POST in binary content mode
 * to K_SINK (the broker ingress). The broker answers 202 when the event is stored. Pooled
 * keep-alive sockets (post.ts), like the brokers' deliveries.
 */
import type { EventPublisher } from '../../events/publisher';
import { toHttpBinary } from '../../events/codec/http';
import { SsisError } from '../../core/errors';
import { postHttp, type HttpResponse } from './post';

export function httpPublisher(sinkUrl: string, opts: { timeoutMs?: number } = {}): EventPublisher {
  return {
    async publish(event) {
      const { headers, body } = toHttpBinary(event);
      let res: HttpResponse;
      try {
        res = await postHttp(sinkUrl, { headers, body, timeoutMs: opts.timeoutMs ?? 10_000 });
      } catch (err) {
        throw new SsisError('SSIS_BROKER_UNAVAILABLE', `broker at ${sinkUrl} unreachable: ${String(err)}`, { cause: err });
      }
      if (res.status !== 202 && res.status !== 200 && res.status !== 204) {
        throw new SsisError('SSIS_BROKER_UNAVAILABLE', `broker refused ${event.type} ${event.id}: ${res.status} ${res.body.slice(0, 200)}`, {
          retriable: res.status >= 500 || res.status === 429,
        });
      }
    },
  };
}
