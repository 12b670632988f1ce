/**
 * Admission control of the public ingress: IngressAdmission's slots and queue bound over a REAL
 * SimulatedCluster, and the ingress under load over loopback HTTP with a FAKE upstream that holds
 * every request until the test answers it, so slots stay taken exactly as long as a test needs.
 * Load beyond the queue bound is shed at once with 503 + Retry-After; a higher-priority class is
 * served first and outranks lower-priority waiters; a client that leaves frees its place.
 */
import { expect } from 'chai';
import { queueBound, type Grant, type ShedReason } from '../../../core/admission/admission-queue';
import { SsisError } from '../../../core/errors';
import type { SimulatedCluster } from '../../../infra/cluster/simulated';
import { IngressAdmission } from '../../../functions/request/admission';
import type { FunctionContext } from '../../../functions/runtime/function';
import { CONFIG, deploy, MODELS, newCluster, until, type Harness } from '../helpers';
import {
  call, chatBody, gpt2Batch, HoldingUpstream, json, metric, routedCluster, ssisBody, startIngress, twoClassConfig,
  type Answer, type RunningIngress, type UpstreamRoutedCluster,
} from './ingress-fixture';

const GPT2 = MODELS.gpt2;
const RETRY_AFTER = String(CONFIG.ssis.ingress.retryAfterSec);

describe('functions/request IngressAdmission (slots and queue bound per service)', () => {
  const clusters: SimulatedCluster[] = [];
  const admissions: IngressAdmission[] = [];
  afterEach(async () => {
    for (const a of admissions.splice(0)) a.close();
    await Promise.all(clusters.splice(0).map((c) => c.shutdown()));
  });

  function setup(batch: number, ingress: Partial<typeof CONFIG.ssis.ingress> = {}): { cluster: SimulatedCluster; admission: IngressAdmission } {
    const catalog = gpt2Batch(batch);
    const cluster = newCluster(1, 'A100-SXM4-40GB', catalog);
    clusters.push(cluster);
    const admission = new IngressAdmission({ cluster, catalog, config: { ...CONFIG.ssis, ingress: { ...CONFIG.ssis.ingress, ...ingress } } });
    admissions.push(admission);
    return { cluster, admission };
  }

  const grantOf = (a: ReturnType<IngressAdmission['admit']>): Grant => {
    if (a.kind !== 'granted') throw new Error(`expected a grant, got ${a.kind}`);
    return a.grant;
  };

  it('counts as slots the batch slots of the ready replicas that receive traffic, and nothing else', async () => {
    const { cluster, admission } = setup(4);
    expect(admission.slots('gpt2'), 'no such service').to.equal(0);
    await cluster.ensureService('gpt2', GPT2);
    expect(admission.slots('gpt2'), 'cold service').to.equal(0);
    const revision = await deploy(cluster, 'gpt2', GPT2, '1g.5gb', 2);
    expect(admission.slots('gpt2'), '2 ready replicas × batch 4').to.equal(8);
    await cluster.setTraffic('gpt2', []);
    expect(admission.slots('gpt2'), 'replicas outside the traffic split').to.equal(0);
    await cluster.setTraffic('gpt2', [{ revision, percent: 100 }]);
    await cluster.stopReplica('gpt2', `${revision}-1`);
    expect(admission.slots('gpt2'), 'one replica stopped').to.equal(4);
  });

  it('lets a request wait only while it is predicted a slot within the TTFT SLO (measured service time, when the running ones started), up to ingress.maxQueuedPerService', async () => {
    const { cluster, admission } = setup(4, { maxQueuedPerService: 10 });
    await deploy(cluster, 'gpt2', GPT2, '1g.5gb', 1);
    const grants = Array.from({ length: 4 }, () => grantOf(admission.admit('gpt2', GPT2, 1)));
    const fill = (): number => {
      let n = 0;
      while (admission.admit('gpt2', GPT2, 1).kind === 'queued') n++;
      return n;
    };
    // Until a request has finished, one is assumed to take its SLO: gpt2's 1 s TTFT + 20 default
    // tokens × 12 ms ITL = 1.24 s. The four running just started, so no slot frees within the 1 s
    // budget: a waiter now would miss it, and is shed instead.
    const before = fill();
    expect(before).to.equal(0);
    expect(queueBound(4, 1000, 1000 + 20 * 12, 10), 'what the average-rate bound alone would allow').to.equal(3);
    // Requests measured at 10 ms: 4 slots clear 400 within the SLO, capped at maxQueuedPerService.
    for (let k = 0; k < 100; k++) admission.observe('gpt2', 10);
    expect(before + fill()).to.equal(10);
    expect(admission.depth('gpt2')).to.deep.equal({ inFlight: 4, queued: 10 });
    expect(admission.admit('gpt2', GPT2, 1)).to.deep.equal({ kind: 'shed', reason: 'queue-full' });
    for (const g of grants) g.release();
    expect(admission.depth('gpt2')).to.deep.equal({ inFlight: 4, queued: 6 });
  });

  it('holds up to maxQueuedPerService requests of a cold service and grants them in arrival order once its replicas are ready', async () => {
    const { cluster, admission } = setup(2, { maxQueuedPerService: 3 });
    await cluster.ensureService('gpt2', GPT2);
    const waiting = Array.from({ length: 3 }, () => admission.admit('gpt2', GPT2, 1));
    expect(admission.admit('gpt2', GPT2, 1)).to.deep.equal({ kind: 'shed', reason: 'queue-full' });
    const outcomes: (number | ShedReason)[] = [];
    waiting.forEach((w, k) => {
      if (w.kind === 'queued') void w.granted.then((o) => outcomes.push(typeof o === 'string' ? o : k));
    });
    await deploy(cluster, 'gpt2', GPT2, '1g.5gb', 1);
    admission.pump('gpt2');
    await until('two grants', () => (outcomes.length >= 2 ? true : undefined));
    expect(outcomes).to.deep.equal([0, 1]);
    expect(admission.depth('gpt2')).to.deep.equal({ inFlight: 2, queued: 1 });
    admission.close();
    await until('the third settles', () => (outcomes.length >= 3 ? true : undefined));
    expect(outcomes).to.deep.equal([0, 1, 'closed']);
  });
});

describe('functions/request ingress under load (FAKE upstream holding every request)', () => {
  let upstream: HoldingUpstream;
  let cluster: UpstreamRoutedCluster;
  let ing: RunningIngress;
  let h: Harness;
  let url: string;

  /**
   * gpt2 with `batch` slots per replica behind the FAKE upstream. Unless cold, the service is first
   * warmed up with quick requests (the ingress's clock is manual, so each measures 0 ms): the queue
   * bound is then `queue` (ingress.maxQueuedPerService), whatever slack the SLO formula allows.
   */
  async function setup(opts: { batch: number; queue: number; twoClasses?: boolean; ctx?: (h: Harness) => FunctionContext; cold?: boolean }): Promise<void> {
    upstream = await new HoldingUpstream().start();
    const catalog = gpt2Batch(opts.batch);
    cluster = routedCluster(catalog);
    if (!opts.cold) await deploy(cluster, 'gpt2', GPT2, '1g.5gb', 1);
    cluster.upstreamUrl = upstream.url;
    const config = opts.twoClasses ? twoClassConfig({ maxQueuedPerService: opts.queue }) : { ...CONFIG.ssis, ingress: { ...CONFIG.ssis.ingress, maxQueuedPerService: opts.queue } };
    ing = await startIngress({ cluster, catalog, config }, opts.ctx ? { ctx: opts.ctx } : {});
    ({ h, url } = ing);
    if (opts.cold) return;
    upstream.autoAnswer = true;
    for (let k = 0; k < 40; k++) expect((await call(url, json(prompt(`warm-${k}`)))).status).to.equal(200);
    upstream.autoAnswer = false;
    upstream.requests.splice(0);
    h.publisher.events.splice(0);
  }
  afterEach(async () => {
    await ing?.stop();
    await upstream?.stop();
    await cluster?.shutdown();
  });

  /** Sends one request; resolves once the ingress has admitted it (its request-received is out) or answered it. */
  async function send(body: Record<string, unknown>, path = '/', signal?: AbortSignal): Promise<{ answer: Promise<Answer | Error> }> {
    const before = h.publisher.events.length;
    let settled = false;
    const answer = call(`${url}${path}`, { ...json(body), ...(signal ? { signal } : {}) }).catch((e: unknown) => e as Error).finally(() => (settled = true));
    await until('admitted or answered', () => (h.publisher.events.length > before || settled ? true : undefined));
    return { answer };
  }

  const prompt = (p: string, cls?: string): Record<string, unknown> => ssisBody(p, GPT2, cls ? { class: cls } : undefined);
  const answered = async (a: Promise<Answer | Error>): Promise<Answer> => {
    const r = await a;
    if (r instanceof Error) throw r;
    return r;
  };

  it('sheds requests beyond the queue bound at once with 503 SSIS_OVERLOADED and Retry-After (both APIs); the admitted ones are all answered 200', async () => {
    await setup({ batch: 1, queue: 1 });
    // One replica with one slot: one request runs, one may wait.
    const running = await send(prompt('first'));
    await upstream.arrived(1);
    const waiting = await send(prompt('second'));
    const started = Date.now();
    const shed = await Promise.all([
      call(url, json(prompt('third'))), call(url, json(prompt('fourth'))),
      call(`${url}/v1/chat/completions`, json(chatBody('fifth'))), call(`${url}/v1/completions`, json({ model: GPT2, prompt: 'sixth', max_tokens: 4 })),
    ]);
    expect(Date.now() - started, 'shed at once, not after capacityWaitTimeoutSec').to.be.below(2000);
    expect(upstream.requests.length, 'the first still holds its slot').to.equal(1);
    for (const r of shed) {
      expect(r.status).to.equal(503);
      expect(r.headers['retry-after']).to.equal(RETRY_AFTER);
    }
    expect(shed[0].json()).to.deep.include({ code: 'SSIS_OVERLOADED', retriable: true });
    expect(shed[2].json()['error']).to.include({ type: 'server_error', code: 'overloaded' });
    // Shed before request-received: a refused request is no demand signal of its own.
    expect(h.publisher.events).to.have.length(2);
    expect(await metric(url, 'ssis_ingress_shed_total', { service: 'gpt2', reason: 'queue-full' })).to.equal(4);

    upstream.answerAll();
    await upstream.arrived(2);
    upstream.answerAll();
    const [a, b] = await Promise.all([answered(running.answer), answered(waiting.answer)]);
    expect([a.status, b.status]).to.deep.equal([200, 200]);
    expect(upstream.prompts()).to.deep.equal(['first', 'second']);
    expect(b.json()['generated_text']).to.equal(' answer to second');
  });

  it('serves the queued requests of a higher-priority class first', async () => {
    await setup({ batch: 2, queue: 2, twoClasses: true });
    const r1 = await send(prompt('run-1'));
    const r2 = await send(prompt('run-2'));
    await upstream.arrived(2);
    const low = await send(prompt('low'));
    const high = await send(prompt('high', 'premium'));
    upstream.requests[0]!.answer();
    await upstream.arrived(3);
    expect(upstream.prompts()[2], 'the premium request overtakes the earlier default one').to.equal('high');
    upstream.requests[1]!.answer();
    await upstream.arrived(4);
    upstream.answerAll();
    const all = await Promise.all([r1, r2, low, high].map((s) => answered(s.answer)));
    expect(all.map((r) => r.status)).to.deep.equal([200, 200, 200, 200]);
    expect(upstream.prompts()).to.deep.equal(['run-1', 'run-2', 'high', 'low']);
  });

  it('a full queue sheds its lowest-priority waiter (outranked) for a higher-priority newcomer, and sheds a newcomer that does not outrank anyone', async () => {
    await setup({ batch: 2, queue: 2, twoClasses: true });
    const running = [await send(prompt('run-1')), await send(prompt('run-2'))];
    await upstream.arrived(2);
    const low1 = await send(prompt('low-1'));
    const low2 = await send(prompt('low-2'));
    // The queue is full. A premium newcomer displaces the latest default waiter.
    const high1 = await send(prompt('high-1', 'premium'));
    const displaced2 = await answered(low2.answer);
    expect(displaced2.status).to.equal(503);
    expect(displaced2.headers['retry-after']).to.equal(RETRY_AFTER);
    expect(displaced2.json()).to.deep.include({ code: 'SSIS_OVERLOADED', retriable: true });
    expect(displaced2.json()['message']).to.include('displaced by higher-priority work');
    const high2 = await send(prompt('high-2', 'premium'));
    expect((await answered(low1.answer)).status, 'the other default waiter goes next').to.equal(503);
    // Now only premium requests wait: a default newcomer is shed, and so is a premium one (equal priority never displaces).
    const lowLate = await call(url, json(prompt('low-late')));
    const highLate = await call(url, json(prompt('high-late', 'premium')));
    expect([lowLate.status, highLate.status]).to.deep.equal([503, 503]);
    expect(lowLate.headers['retry-after']).to.equal(RETRY_AFTER);

    upstream.answerAll();
    await upstream.arrived(4);
    upstream.answerAll();
    const served = await Promise.all([...running, high1, high2].map((s) => answered(s.answer)));
    expect(served.map((r) => r.status)).to.deep.equal([200, 200, 200, 200]);
    expect(upstream.prompts()).to.deep.equal(['run-1', 'run-2', 'high-1', 'high-2']);
    expect(await metric(url, 'ssis_ingress_shed_total', { service: 'gpt2', reason: 'outranked' })).to.equal(2);
    expect(await metric(url, 'ssis_ingress_shed_total', { service: 'gpt2', reason: 'queue-full' })).to.equal(2);
  });

  it('a client that disconnects while queued leaves the queue: the next waiter gets its place and then the slot', async () => {
    await setup({ batch: 1, queue: 1 });
    const first = await send(prompt('first'));
    await upstream.arrived(1);
    const leaving = new AbortController();
    const gone = await send(prompt('gone'), '/', leaving.signal);
    expect(await metric(url, 'ssis_ingress_queued_requests', { service: 'gpt2' })).to.equal(1);
    leaving.abort();
    expect(await gone.answer).to.be.instanceOf(Error);
    await until('the queue emptied', async () => ((await metric(url, 'ssis_ingress_queued_requests', { service: 'gpt2' })) === 0 ? true : undefined));
    // Had the leaver kept its place, this one would be shed (the bound is one waiter).
    const next = await send(prompt('next'));
    expect(await metric(url, 'ssis_ingress_queued_requests', { service: 'gpt2' })).to.equal(1);
    upstream.answerAll();
    await upstream.arrived(2);
    upstream.answerAll();
    expect((await answered(first.answer)).status).to.equal(200);
    expect((await answered(next.answer)).status).to.equal(200);
    expect(upstream.prompts(), 'the leaver never reaches the model').to.deep.equal(['first', 'next']);
    expect(await metric(url, 'ssis_ingress_requests_total', { service: 'gpt2', code: '499' })).to.equal(1);
  });

  it('a client that disconnects while its request runs upstream has the upstream request aborted and its slot freed', async () => {
    await setup({ batch: 1, queue: 1 });
    const leaving = new AbortController();
    const gone = await send(prompt('gone'), '/', leaving.signal);
    await upstream.arrived(1);
    leaving.abort();
    expect(await gone.answer).to.be.instanceOf(Error);
    await until('the upstream request closed', () => (upstream.requests[0]!.closedEarly ? true : undefined));
    expect(upstream.requests[0]?.answered).to.equal(false);
    // The slot is free again: the next request goes straight upstream.
    const next = await send(prompt('next'));
    await upstream.arrived(2);
    upstream.answerAll();
    expect((await answered(next.answer)).status).to.equal(200);
    await until('499 counted', async () => ((await metric(url, 'ssis_ingress_requests_total', { service: 'gpt2', code: '499' })) === 1 ? true : undefined));
  });

  it('a request whose request-received the broker does not take during a cold start leaves no waiter behind: once ready, the service serves at once', async () => {
    let refuse = true;
    await setup({
      batch: 1,
      queue: 1,
      cold: true,
      ctx: (fh) => ({
        ...fh.ctx,
        publisher: { publish: (e) => (refuse ? Promise.reject(new SsisError('SSIS_BROKER_UNAVAILABLE', 'broker refused: 503')) : fh.publisher.publish(e)) },
      }),
    });
    const refused = await call(url, json(prompt('refused')));
    expect(refused.status).to.equal(503);
    expect(refused.json()['code']).to.equal('SSIS_BROKER_UNAVAILABLE');
    expect(refused.headers['retry-after']).to.equal(RETRY_AFTER);
    refuse = false;
    await deploy(cluster, 'gpt2', GPT2, '1g.5gb', 1);
    // Longer than the admission's poll: a waiter left behind would now be granted the only slot, for good.
    await new Promise((r) => setTimeout(r, 200));
    const served = await send(prompt('served'));
    await upstream.arrived(1);
    upstream.answerAll();
    expect((await answered(served.answer)).status).to.equal(200);
    expect(upstream.prompts()).to.deep.equal(['served']);
  });

  it('stopping the ingress (close) answers its queued requests 503 with Retry-After at once', async () => {
    await setup({ batch: 1, queue: 2, cold: true });
    const waiting = [await send(prompt('a')), await send(prompt('b'))];
    const third = await call(url, json(prompt('c')));
    expect(third.status, 'a cold service holds maxQueuedPerService').to.equal(503);
    ing.ingress.close();
    const answers = await Promise.all(waiting.map((w) => answered(w.answer)));
    for (const r of answers) {
      expect(r.status).to.equal(503);
      expect(r.headers['retry-after']).to.equal(RETRY_AFTER);
      expect(r.json()['code']).to.equal('SSIS_OVERLOADED');
    }
    expect(upstream.requests).to.deep.equal([]);
  });
});
