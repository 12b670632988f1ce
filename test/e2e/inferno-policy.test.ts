/**
 * The optimizer policy end to end: the embedded stack on its shipped configuration, where the evaluate
 * stage runs the `inferno` policy. gpt2 cold-starts on a 1g.5gb slice; at low load the optimizer keeps it there (the
 * cheapest slice whose predicted TTFT and ITL meet its SLOs); a sustained burst makes it decide more
 * capacity with predicted latencies within the SLOs, the rollout happens without losing a request, and
 * when the load stops it returns to one 1g.5gb.
 */
import { expect } from 'chai';
import type { ScaleDecided } from '../../events/scale-decided';
import { gpt2, postJson, startTestStack, waitFor, type TestStack } from './helpers';

describe('e2e: the inferno policy (the default) on the embedded stack', function () {
  this.timeout(180_000);
  let t: TestStack;
  const decisions = (): ScaleDecided[] => t.stack.broker.events().filter((e) => e.event.type === 'ssis.scale.decided').map((e) => e.event.data as ScaleDecided);
  const rolledOut = (id: string): boolean => t.stack.broker.events().some((e) => e.event.type === 'ssis.rollout.completed' && (e.event.data as { decisionId: string }).decisionId === id);

  before(async () => {
    t = await startTestStack();
  });
  after(async () => {
    await t?.stack.stop();
  });

  it('keeps gpt2 at low load on a 1g.5gb slice: no inferno decision while its SLOs are predicted met', async () => {
    for (let i = 0; i < 6; i++) {
      const r = await postJson(t.stack.ingressUrl, gpt2('What is Deep Learning?', 20));
      expect(r.status, JSON.stringify(r.body)).to.equal(200);
      await new Promise((res) => setTimeout(res, 500));
    }
    expect(decisions().map((d) => d.policy)).to.deep.equal(['cold-start']);
    expect(t.stack.cluster.getService('gpt2')!.revisions.map((r) => r.profile)).to.deep.equal(['1g.5gb']);
    const line = t.logLines.find((l) => l.includes('inferno: no change') && l.includes('optimal already: 1× 1g.5gb'));
    expect(line, 'the optimizer confirmed the 1g.5gb slice').to.be.a('string');
  });

  it('under a burst decides more capacity with TTFT and ITL predicted within the SLOs, and loses no request', async () => {
    const results: number[] = [];
    let stop = false;
    const client = async (): Promise<void> => {
      while (!stop) results.push((await postJson(t.stack.ingressUrl, gpt2('Explain the transformer architecture in detail', 20))).status);
    };
    const clients = Array.from({ length: 24 }, () => client());
    let more: ScaleDecided;
    try {
      more = await waitFor('an inferno scale-up or scale-out', () => decisions().find((d) => d.policy === 'inferno' && (d.action === 'up' || d.action === 'out')), 60_000);
      await waitFor('its rollout', () => (rolledOut(more.decisionId) ? true : undefined), 60_000);
      await new Promise((res) => setTimeout(res, 3000));
    } finally {
      stop = true;
      await Promise.all(clients);
    }
    expect(more.predicted!.itlMs).to.be.above(0).and.at.most(12);
    expect(more.predicted!.ttftMs).to.be.above(0).and.at.most(1000);
    expect(more.target.maxBatchSize).to.be.at.least(1);
    expect(more.reason).to.match(/^inferno: 1× 1g\.5gb → \d+× \S+ on A100-SXM4-40GB.*SLOs predicted met/);
    expect(results.length).to.be.greaterThan(50);
    expect(results.filter((s) => s !== 200), 'every accepted request answered 200 across the switch').to.deep.equal([]);
  });

  it('returns to one 1g.5gb replica when the load stops', async () => {
    const back = await waitFor('an inferno decision back to 1× 1g.5gb', () => decisions().find((d) => d.policy === 'inferno' && d.target.profile === '1g.5gb' && d.target.replicas === 1), 90_000);
    await waitFor('its rollout', () => (rolledOut(back.decisionId) ? true : undefined), 30_000);
    const svc = t.stack.cluster.getService('gpt2')!;
    expect(svc.revisions.map((r) => r.profile)).to.deep.equal(['1g.5gb']);
    expect(t.stack.cluster.gpus().flatMap((g) => g.instances.filter((i) => i.owner !== null))).to.have.length(1);
  });
});
