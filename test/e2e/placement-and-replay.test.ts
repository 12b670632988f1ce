/**
 * The failure paths of the pipeline, end to end: a demand that no GPU can host produces a clear
 * ssis.placement.failed and a 503 with Retry-After and the reason (never a silent drop), and a
 * duplicated ssis.scale.decided replayed into the broker does not scale twice.
 */
import { expect } from 'chai';
import { toHttpBinary } from '../../events/codec/http';
import type { PlacementFailed } from '../../events/placement-failed';
import { eventSenderHeaders, gpt2, postJson, startTestStack, waitFor, type TestStack } from './helpers';

describe('e2e: placement failure and replayed decisions', function () {
  this.timeout(60_000);
  let t: TestStack;
  before(async () => {
    // One A100-40GB: once gpt2 owns a slice, no 7g.40gb (granite-13b's smallest tier) fits.
    t = await startTestStack(undefined, [{ name: 'node-a', gpus: [{ model: 'A100-SXM4-40GB', count: 1 }] }]);
  });
  after(async () => {
    await t?.stack.stop();
  });

  it('places gpt2 at the high end of the GPU, keeping slots 0–3 free', async () => {
    expect((await postJson(t.stack.ingressUrl, gpt2('hi', 4))).status).to.equal(200);
    const [gpu] = t.stack.cluster.gpus();
    expect(gpu!.instances.map((i) => `${i.profile}@${i.start}`)).to.deep.equal(['1g.5gb@6']);
  });

  it('reports an unplaceable model with ssis.placement.failed and answers 503 with Retry-After and the reason', async () => {
    const started = Date.now();
    const r = await postJson(t.stack.ingressUrl, { token: 'hello', env: { MODEL_ID: 'ibm-granite/granite-13b-instruct-v2' } });
    expect(r.status).to.equal(503);
    expect(r.headers.get('retry-after')).to.equal('5');
    expect(String(r.body['message'])).to.match(/7g\.40gb/);
    expect(r.body).to.deep.include({ code: 'SSIS_CAPACITY_UNAVAILABLE', retriable: true });
    expect(Date.now() - started, 'fails fast instead of waiting for the capacity timeout').to.be.lessThan(10_000);
    // The ingress answers once the service is marked unschedulable; the event may still be on its way to the broker.
    const failed = await waitFor('placement-failed', () => t.stack.broker.events().find((e) => e.event.type === 'ssis.placement.failed')?.event.data as PlacementFailed | undefined, 5000, 20);
    expect(failed.service).to.equal('granite13binstructv2');
    expect(failed.requested).to.deep.equal({ profile: '7g.40gb', gpuModel: 'A100-SXM4-40GB', replicas: 1 });
    expect(failed.reason).to.match(/unplaced/);
    // gpt2 is untouched and keeps serving.
    expect((await postJson(t.stack.ingressUrl, gpt2('still there?', 3))).status).to.equal(200);
  });

  it('ignores a replayed duplicate of an applied scale-decided: the service is not scaled twice', async () => {
    const original = t.stack.broker.events().find((e) => e.event.type === 'ssis.scale.decided' && e.event.partitionkey === 'gpt2')!.event;
    const generation = t.stack.cluster.getService('gpt2')!.generation;
    const sliceEvents = (): number => t.stack.broker.events().filter((e) => e.event.type === 'ssis.slice.reconfigured' && e.event.partitionkey === 'gpt2').length;
    const before = sliceEvents();
    const message = toHttpBinary(original);
    expect((await fetch(t.stack.brokerUrl, { method: 'POST', headers: message.headers, body: message.body })).status, 'without the stack secret').to.equal(401);
    const res = await fetch(t.stack.brokerUrl, { method: 'POST', headers: { ...message.headers, ...eventSenderHeaders(t.stack) }, body: message.body });
    expect(res.status).to.equal(202);
    await t.stack.broker.idle();
    expect(sliceEvents()).to.equal(before);
    expect(t.stack.cluster.getService('gpt2')!.generation).to.equal(generation);
    expect(t.stack.cluster.gpus()[0]!.instances.filter((i) => i.owner !== null)).to.have.length(1);
    expect(t.logLines.some((l) => l.includes('stale or duplicate decision ignored'))).to.equal(true);
  });

  it('counts ingress requests by service and status on /metrics', async () => {
    await waitFor('ingress metrics', async () => {
      const text = await (await fetch(`${t.stack.ingressUrl}/metrics`)).text();
      return /ssis_ingress_requests_total\{service="gpt2",api="ssis",code="200",function="ingress"\} [1-9]/.test(text) ? text : undefined;
    }, 5_000);
  });
});
