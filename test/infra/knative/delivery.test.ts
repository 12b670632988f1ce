import { expect } from 'chai';
import type { FieldIssue } from '../../../core/errors';
import { DEFAULT_BACKOFF_DELAY_MS, DEFAULT_DELIVERY_TIMEOUT_MS, effectiveDelivery, parseDeliverySpec } from '../../../infra/knative/delivery';
import { FieldContext } from '../../../infra/knative/field-context';
import type { DeliverySpec } from '../../../infra/knative/types';

const dlq = { apiVersion: 'eventing.knative.dev/v1alpha1', kind: 'KafkaSink', name: 'dlq', namespace: 'ssis' };
const otherDlq = { ...dlq, name: 'other' };

function parse(value: unknown): { spec: DeliverySpec | undefined; issues: FieldIssue[] } {
  const issues: FieldIssue[] = [];
  const spec = parseDeliverySpec(value, FieldContext.document('t.yaml', 0, issues).at('spec').at('delivery'), 'ssis');
  return { spec, issues };
}

describe('infra/knative/delivery', () => {
  describe('parseDeliverySpec', () => {
    it('reads retry, backoff, timeout and a dead letter ref defaulting to the holder namespace', () => {
      const { spec, issues } = parse({
        retry: 3,
        backoffPolicy: 'linear',
        backoffDelay: 'PT0.2S',
        timeout: 'PT10M',
        deadLetterSink: { ref: { apiVersion: dlq.apiVersion, kind: 'KafkaSink', name: 'dlq' } },
      });
      expect(issues).to.deep.equal([]);
      expect(spec).to.deep.equal({ retry: 3, backoffPolicy: 'linear', backoffDelayMs: 200, timeoutMs: 600_000, deadLetterSink: dlq });
    });

    it('accepts an absolute dead letter uri', () => {
      expect(parse({ deadLetterSink: { uri: 'http://dlq.ssis.svc.cluster.local' } }).spec).to.deep.equal({ deadLetterSink: { uri: 'http://dlq.ssis.svc.cluster.local' } });
    });

    it('reports every bad field with its path', () => {
      const { spec, issues } = parse({ retry: -1, backoffPolicy: 'fibonacci', backoffDelay: '200ms', timeout: 30, backofDelay: 'PT1S', deadLetterSink: {}, format: 'xml' });
      expect(spec).to.equal(undefined);
      expect(issues.map((issue) => issue.field)).to.have.members([
        't.yaml#0:spec.delivery.backofDelay',
        't.yaml#0:spec.delivery.retry',
        't.yaml#0:spec.delivery.backoffPolicy',
        't.yaml#0:spec.delivery.backoffDelay',
        't.yaml#0:spec.delivery.timeout',
        't.yaml#0:spec.delivery.deadLetterSink',
        't.yaml#0:spec.delivery.format',
      ]);
    });
  });

  describe('effectiveDelivery (MergeEgressConfig)', () => {
    it('applies the data-plane defaults when neither Broker nor Trigger sets delivery', () => {
      expect(effectiveDelivery(undefined, undefined)).to.deep.equal({
        retry: 0,
        backoffPolicy: 'exponential',
        backoffDelayMs: DEFAULT_BACKOFF_DELAY_MS,
        timeoutMs: DEFAULT_DELIVERY_TIMEOUT_MS,
      });
    });

    it('inherits every Broker field the Trigger leaves unset', () => {
      const broker: DeliverySpec = { retry: 3, backoffPolicy: 'linear', backoffDelayMs: 200, timeoutMs: 5_000, deadLetterSink: dlq };
      expect(effectiveDelivery(undefined, broker)).to.deep.equal({ retry: 3, backoffPolicy: 'linear', backoffDelayMs: 200, timeoutMs: 5_000, deadLetterSink: dlq });
      // A Trigger that only sets a timeout keeps the Broker's retries, delay and dead letter sink,
      // but its (unset, hence exponential) policy wins, as in eventing-kafka-broker.
      expect(effectiveDelivery({ timeoutMs: 600_000 }, broker)).to.deep.equal({
        retry: 3,
        backoffPolicy: 'exponential',
        backoffDelayMs: 200,
        timeoutMs: 600_000,
        deadLetterSink: dlq,
      });
    });

    it('lets the Trigger override field by field', () => {
      const broker: DeliverySpec = { retry: 3, backoffDelayMs: 200, timeoutMs: 5_000, deadLetterSink: dlq };
      expect(effectiveDelivery({ retry: 5, backoffDelayMs: 50, deadLetterSink: otherDlq }, broker)).to.deep.equal({
        retry: 5,
        backoffPolicy: 'exponential',
        backoffDelayMs: 50,
        timeoutMs: 5_000,
        deadLetterSink: otherDlq,
      });
    });

    it('gives a Trigger that sets retry without a delay the controller default, not the Broker delay', () => {
      expect(effectiveDelivery({ retry: 1 }, { retry: 3, backoffDelayMs: 200 }).backoffDelayMs).to.equal(DEFAULT_BACKOFF_DELAY_MS);
    });

    it('ignores a Trigger delivery holding only backoff settings (no retry, timeout or dead letter)', () => {
      expect(effectiveDelivery({ backoffPolicy: 'linear', backoffDelayMs: 50 }, { retry: 2, backoffDelayMs: 200 })).to.deep.equal({
        retry: 2,
        backoffPolicy: 'exponential',
        backoffDelayMs: 200,
        timeoutMs: DEFAULT_DELIVERY_TIMEOUT_MS,
      });
    });
  });
});
