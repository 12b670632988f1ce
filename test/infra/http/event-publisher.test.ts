/**
 * httpPublisher (what a Knative function does with K_SINK) against a loopback broker ingress that
 * answers each status in turn: stored, or the catalogue code whose `retriable` says whether sending
 * again may succeed.
 */
import { expect } from 'chai';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createEvent } from '../../../events/create';
import { ROLLOUT_COMPLETED, type RolloutCompleted } from '../../../events/rollout-completed';
import { brokerRefusalCode, httpPublisher } from '../../../infra/http/event-publisher';
import { rejection } from '../../support/rejection';

const T0 = Date.parse('2026-03-02T09:00:00.000Z');
const event = createEvent(ROLLOUT_COMPLETED, {
  decisionId: 'gpt2-g0-cold-start', service: 'gpt2', revision: 'gpt2-00001', previousRevision: null, profile: '1g.5gb', gpuModel: 'A100-SXM4-40GB',
  replicas: 1, generation: 1, readyAfterMs: 30, completedAt: new Date(T0).toISOString(),
} satisfies RolloutCompleted, { source: '/ssis/functions/rollout', clock: { nowMs: () => T0 }, ids: { next: () => 'e-1' } });

describe('infra/http httpPublisher (events to the broker ingress)', () => {
  let server: Server;
  let url: string;
  let status: number;
  let received: string[];

  beforeEach(async () => {
    received = [];
    server = createServer((req, res) => {
      received.push(String(req.headers['ce-id']));
      req.resume();
      req.on('end', () => res.writeHead(status).end(status >= 400 ? 'no' : ''));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/ssis/default`;
  });
  afterEach(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('resolves when the broker stores the event (202, 200, 204), sent in binary mode', async () => {
    for (status of [202, 200, 204]) await httpPublisher(url).publish(event);
    expect(received).to.deep.equal(['e-1', 'e-1', 'e-1']);
  });

  it('5xx and 429 are SSIS_BROKER_UNAVAILABLE (retriable); any other refusal SSIS_BROKER_REFUSED (not retriable)', async () => {
    const answers: [number, string, boolean][] = [];
    for (status of [500, 503, 429, 400, 404, 413, 302]) {
      const e = await rejection(httpPublisher(url).publish(event));
      expect(e.message, String(status)).to.include(`broker refused ${ROLLOUT_COMPLETED} e-1: ${status}`);
      answers.push([status, e.code, e.retriable]);
    }
    expect(answers).to.deep.equal([
      [500, 'SSIS_BROKER_UNAVAILABLE', true],
      [503, 'SSIS_BROKER_UNAVAILABLE', true],
      [429, 'SSIS_BROKER_UNAVAILABLE', true],
      [400, 'SSIS_BROKER_REFUSED', false],
      [404, 'SSIS_BROKER_REFUSED', false],
      [413, 'SSIS_BROKER_REFUSED', false],
      [302, 'SSIS_BROKER_REFUSED', false],
    ]);
    expect(brokerRefusalCode(502)).to.equal('SSIS_BROKER_UNAVAILABLE');
  });

  it('an unreachable broker is SSIS_BROKER_UNAVAILABLE (retriable)', async () => {
    // A port that was just free: nothing listens there any more.
    const gone = createServer();
    await new Promise<void>((resolve) => gone.listen(0, '127.0.0.1', () => resolve()));
    const goneUrl = `http://127.0.0.1:${(gone.address() as AddressInfo).port}/ssis/default`;
    await new Promise<void>((resolve) => gone.close(() => resolve()));
    const e = await rejection(httpPublisher(goneUrl, { timeoutMs: 2000 }).publish(event));
    expect(e).to.include({ code: 'SSIS_BROKER_UNAVAILABLE', retriable: true });
    expect(e.message).to.include(`broker at ${goneUrl} unreachable`);
  });
});
