/**
 * The embedded stack restarted on the same state folder carries on where it stopped: the model
 * that cold-started in the first run is still deployed (its replica started again, no new cold
 * start), event offsets continue in events.jsonl, and decision ids never repeat across runs.
 */
import { expect } from 'chai';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmbeddedStack, type RunningStack } from '../../../app/embedded-stack';
import type { LoggedEvent } from '../../../infra/broker/event-log';
import { createJsonLogger } from '../../../infra/logging/json-logger';
import type { ScaleDecided } from '../../../events/scale-decided';
import { gpt2, postJson, ROOT, waitFor } from '../../e2e/helpers';

describe('infra/cluster: the embedded stack across a restart on the same state folder', function () {
  this.timeout(120_000);
  const stateDir = mkdtempSync(join(tmpdir(), 'ssis-restart-'));
  const logLines: string[] = [];
  let stack: RunningStack | undefined;
  const start = (): Promise<RunningStack> =>
    startEmbeddedStack({ knativeDir: join(ROOT, 'knative'), stateDir, ingressPort: 0, logger: createJsonLogger({ level: 'info', write: (l) => logLines.push(l) }), sampleEverySec: 1, loadTimeScale: 0.2 });
  after(async () => {
    await stack?.stop();
  });

  const coldStarts = (events: readonly LoggedEvent[]): ScaleDecided[] =>
    events.filter((e) => e.event.type === 'ssis.scale.decided').map((e) => e.event.data as ScaleDecided).filter((d) => d.action === 'cold-start');
  const fileEntries = (): LoggedEvent[] => readFileSync(join(stateDir, 'events.jsonl'), 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as LoggedEvent);

  it('keeps the deployed model, continues the event offsets and never repeats a decision id', async () => {
    stack = await start();
    const first = await postJson(stack.ingressUrl, gpt2('What is Deep Learning?', 5));
    expect(first.status, JSON.stringify(first.body)).to.equal(200);
    expect(coldStarts(stack.broker.events())).to.have.length(1);
    const running = stack;
    await waitFor('the cold start to complete', () => (running.cluster.getService('gpt2')?.rollout === null ? true : undefined), 20_000);
    const before = running.cluster.getService('gpt2')!;
    const layoutsBefore = JSON.parse(JSON.stringify(running.cluster.gpus())) as unknown;
    await stack.broker.idle();
    await stack.stop();
    const lastOffset = Math.max(...fileEntries().map((e) => e.offset));

    stack = await start();
    const restored = stack.cluster.getService('gpt2');
    expect(restored, 'gpt2 is still deployed').to.not.equal(undefined);
    expect(restored!.generation).to.equal(before.generation);
    expect(restored!.traffic).to.deep.equal(before.traffic);
    expect(restored!.revisions.map((r) => [r.name, r.profile, r.replicas.map((x) => x.id)])).to.deep.equal(before.revisions.map((r) => [r.name, r.profile, r.replicas.map((x) => x.id)]));
    expect(stack.cluster.gpus(), 'MIG layouts and slice owners').to.deep.equal(layoutsBefore);
    // Started again: 'starting' until its server is up and the model loaded (test/infra/cluster/simulated-restore.test.ts).
    expect(restored!.revisions[0]!.replicas[0]!.phase).to.be.oneOf(['starting', 'ready']);
    expect(logLines.some((l) => l.includes('"cluster state restored"'))).to.equal(true);

    const second = await postJson(stack.ingressUrl, gpt2('And what is a transformer?', 5));
    expect(second.status, JSON.stringify(second.body)).to.equal(200);
    const again = stack;
    await waitFor('the replica ready', () => (again.cluster.getService('gpt2')!.revisions[0]!.replicas.every((x) => x.phase === 'ready') ? true : undefined), 20_000);
    await stack.broker.idle();
    expect(coldStarts(stack.broker.events()), 'no new cold start').to.deep.equal([]);
    expect(stack.broker.events()[0]!.offset).to.be.greaterThan(lastOffset);

    await stack.stop();
    stack = undefined;
    const entries = fileEntries();
    const offsets = entries.map((e) => e.offset);
    expect(new Set(offsets).size, 'offsets unique in events.jsonl').to.equal(offsets.length);
    const decisionIds = entries.filter((e) => e.event.type === 'ssis.scale.decided').map((e) => (e.event.data as ScaleDecided).decisionId);
    expect(new Set(decisionIds).size, `decision ids unique: ${decisionIds.join(', ')}`).to.equal(decisionIds.length);
  });
});
