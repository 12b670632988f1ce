import { expect } from 'chai';
import { CoalescingSaver } from '../../../infra/cluster/coalescing-saver';

describe('infra/cluster coalescing saver', () => {
  const wait = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

  it('turns a burst of changes into one save, taken after the burst', async () => {
    let state = 0;
    const saved: number[] = [];
    const saver = new CoalescingSaver({ save: () => saved.push(state), delayMs: 20, onError: () => undefined });
    for (let i = 1; i <= 5000; i++) {
      state = i;
      saver.changed();
    }
    await wait(60);
    expect(saved).to.deep.equal([5000]);
    expect(saver.saveCount).to.equal(1);
  });

  it('reports a failed save without throwing, and saves it with the next flush', async () => {
    const errors: unknown[] = [];
    let fail = true;
    let saves = 0;
    const saver = new CoalescingSaver({
      save: () => {
        if (fail) throw new Error('disk full');
        saves += 1;
      },
      delayMs: 5,
      onError: (err) => errors.push(err),
    });
    saver.changed();
    await wait(30);
    expect(errors).to.have.length(1);
    fail = false;
    saver.flush();
    expect(saves).to.equal(1);
    saver.flush();
    expect(saves, 'nothing changed since').to.equal(1);
    saver.changed();
    await wait(30);
    expect(saves).to.equal(2);
  });

  it('flushes at stop and ignores changes after it', async () => {
    let saves = 0;
    const saver = new CoalescingSaver({ save: () => (saves += 1), delayMs: 60_000, onError: () => undefined });
    saver.changed();
    saver.stop();
    expect(saves).to.equal(1);
    saver.changed();
    saver.flush();
    await wait(10);
    expect(saves).to.equal(1);
  });
});
