/**
 * AdmissionQueue (core/admission/admission-queue.ts): slots, a bounded queue ordered by priority
 * (1 = highest) then arrival, shedding when full unless the newcomer outranks the lowest waiter,
 * cancel, pump, idempotent release, and one outcome per request whatever happens.
 */
import { expect } from 'chai';
import { AdmissionQueue, predictedQueueRoom, queueBound, type Admission, type AdmissionLimits, type Grant, type ShedReason } from '../../../core/admission/admission-queue';

type Queued = Extract<Admission, { kind: 'queued' }>;

/** A queue over limits the test changes at will. */
function queue(slots: number, maxQueued: number): { q: AdmissionQueue; limits: { slots: number; maxQueued: number } } {
  const limits = { slots, maxQueued };
  return { q: new AdmissionQueue((): AdmissionLimits => ({ ...limits })), limits };
}

const granted = (a: Admission): Grant => {
  if (a.kind !== 'granted') throw new Error(`expected granted, got ${a.kind}`);
  return a.grant;
};
const queued = (a: Admission): Queued => {
  if (a.kind !== 'queued') throw new Error(`expected queued, got ${a.kind}`);
  return a;
};

/** Records the order in which queued requests are settled, by name. */
function recorder(): { log: string[]; watch: (name: string, a: Queued) => void; grants: Map<string, Grant> } {
  const log: string[] = [];
  const grants = new Map<string, Grant>();
  return {
    log,
    grants,
    watch: (name, a) => {
      void a.granted.then((o) => {
        if (typeof o === 'string') log.push(`${name}:${o}`);
        else {
          grants.set(name, o);
          log.push(name);
        }
      });
    },
  };
}

const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('core/admission AdmissionQueue', () => {
  it('grants at once while slots are free, then queues, then sheds the newcomer when the queue is full', () => {
    const { q } = queue(2, 1);
    granted(q.admit(1));
    granted(q.admit(1));
    expect(q.admit(1).kind).to.equal('queued');
    expect(q.admit(1)).to.deep.equal({ kind: 'shed', reason: 'queue-full' });
    expect([q.inFlight, q.queued]).to.deep.equal([2, 1]);
  });

  it('sheds at once when there is no queue at all (maxQueued 0) and no free slot', () => {
    const { q } = queue(1, 0);
    granted(q.admit(1));
    expect(q.admit(1)).to.deep.equal({ kind: 'shed', reason: 'queue-full' });
    expect(q.admit(5)).to.deep.equal({ kind: 'shed', reason: 'queue-full' });
  });

  it('grants waiters of one priority in arrival order (FIFO) as slots are released', async () => {
    const { q } = queue(1, 10);
    const first = granted(q.admit(3));
    const r = recorder();
    for (const name of ['a', 'b', 'c']) r.watch(name, queued(q.admit(3)));
    first.release();
    await settle();
    expect(r.log).to.deep.equal(['a']);
    r.grants.get('a')!.release();
    await settle();
    r.grants.get('b')!.release();
    await settle();
    expect(r.log).to.deep.equal(['a', 'b', 'c']);
  });

  it('grants higher priorities (lower numbers) first, FIFO among equals', async () => {
    const { q } = queue(1, 10);
    const first = granted(q.admit(1));
    const r = recorder();
    const order: [string, number][] = [['low-1', 3], ['mid-1', 2], ['high-1', 1], ['low-2', 3], ['high-2', 1], ['mid-2', 2]];
    for (const [name, p] of order) r.watch(name, queued(q.admit(p)));
    let current = first;
    for (let k = 0; k < order.length; k++) {
      current.release();
      await settle();
      current = r.grants.get(r.log[r.log.length - 1]!)!;
    }
    expect(r.log).to.deep.equal(['high-1', 'high-2', 'mid-1', 'mid-2', 'low-1', 'low-2']);
  });

  it('a newcomer that outranks the lowest waiter takes its place: the latest of the lowest priority is shed "outranked"', async () => {
    const { q } = queue(1, 3);
    const first = granted(q.admit(1));
    const r = recorder();
    r.watch('low-1', queued(q.admit(2)));
    r.watch('low-2', queued(q.admit(2)));
    r.watch('mid', queued(q.admit(1)));
    // Full. A priority-1 newcomer displaces low-2 (lowest priority, latest arrival).
    r.watch('high', queued(q.admit(1)));
    await settle();
    expect(r.log).to.deep.equal(['low-2:outranked']);
    expect(q.queued).to.equal(3);
    // Equal priority never displaces: a priority-2 newcomer is shed itself, as is a priority-3 one.
    expect(q.admit(2)).to.deep.equal({ kind: 'shed', reason: 'queue-full' });
    expect(q.admit(3)).to.deep.equal({ kind: 'shed', reason: 'queue-full' });
    first.release();
    await settle();
    expect(r.log).to.deep.equal(['low-2:outranked', 'mid']);
  });

  it('cancel removes a waiter ("timeout") so the next one gets the slot; cancelling twice or after the grant changes nothing', async () => {
    const { q } = queue(1, 2);
    const first = granted(q.admit(1));
    const r = recorder();
    const a = queued(q.admit(1));
    r.watch('a', a);
    const b = queued(q.admit(1));
    r.watch('b', b);
    a.cancel();
    a.cancel();
    await settle();
    expect(r.log).to.deep.equal(['a:timeout']);
    expect(q.queued).to.equal(1);
    first.release();
    await settle();
    expect(r.log).to.deep.equal(['a:timeout', 'b']);
    b.cancel();
    expect(q.inFlight, 'a cancel after the grant leaves the grant standing').to.equal(1);
    r.grants.get('b')!.release();
    expect(q.inFlight).to.equal(0);
  });

  it('pump grants waiters when the slots grew (replicas became ready), in order, up to the new slot count', async () => {
    const { q, limits } = queue(0, 5);
    const r = recorder();
    for (const name of ['a', 'b', 'c']) r.watch(name, queued(q.admit(1)));
    q.pump();
    await settle();
    expect(r.log, 'no slots yet').to.deep.equal([]);
    limits.slots = 2;
    q.pump();
    await settle();
    expect(r.log).to.deep.equal(['a', 'b']);
    expect([q.inFlight, q.queued]).to.deep.equal([2, 1]);
  });

  it('a newcomer never overtakes waiters when slots grew without a pump: the oldest waiter is granted first', async () => {
    const { q, limits } = queue(0, 5);
    const r = recorder();
    r.watch('old', queued(q.admit(1)));
    limits.slots = 1;
    const newcomer = q.admit(1);
    expect(newcomer.kind).to.equal('queued');
    r.watch('new', queued(newcomer));
    await settle();
    expect(r.log).to.deep.equal(['old']);
  });

  it('release is idempotent: releasing one grant twice frees one slot only', async () => {
    const { q } = queue(1, 5);
    const g = granted(q.admit(1));
    const r = recorder();
    r.watch('a', queued(q.admit(1)));
    r.watch('b', queued(q.admit(1)));
    g.release();
    g.release();
    await settle();
    expect(r.log).to.deep.equal(['a']);
    expect([q.inFlight, q.queued]).to.deep.equal([1, 1]);
  });

  it('close sheds every waiter ("closed") and leaves running requests their slots', async () => {
    const { q } = queue(1, 5);
    const g = granted(q.admit(1));
    const r = recorder();
    r.watch('a', queued(q.admit(1)));
    r.watch('b', queued(q.admit(2)));
    q.close();
    await settle();
    expect(r.log).to.deep.equal(['a:closed', 'b:closed']);
    expect([q.inFlight, q.queued]).to.deep.equal([1, 0]);
    g.release();
    expect(q.inFlight).to.equal(0);
  });

  it('every request gets exactly one outcome and no slot is lost, over a long random mix of admits, cancels, releases, slot changes and outranking', async () => {
    let seed = 12345;
    const random = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const { q, limits } = queue(2, 4);
    const running: Grant[] = [];
    const waiting: Queued[] = [];
    const outcomes = new Map<number, (Grant | ShedReason)[]>();
    let next = 0;
    let immediateSheds = 0;
    for (let step = 0; step < 5000; step++) {
      const op = random();
      if (op < 0.45) {
        const id = next++;
        const a = q.admit(1 + Math.floor(random() * 3));
        if (a.kind === 'granted') running.push(a.grant);
        else if (a.kind === 'shed') immediateSheds++;
        else {
          outcomes.set(id, []);
          waiting.push(a);
          void a.granted.then((o) => {
            outcomes.get(id)!.push(o);
            if (typeof o !== 'string') running.push(o);
          });
        }
      } else if (op < 0.75 && running.length > 0) {
        const g = running.splice(Math.floor(random() * running.length), 1)[0]!;
        g.release();
        if (random() < 0.2) g.release();
      } else if (op < 0.85 && waiting.length > 0) {
        waiting[Math.floor(random() * waiting.length)]!.cancel();
      } else if (op < 0.95) {
        limits.slots = Math.floor(random() * 4);
        limits.maxQueued = Math.floor(random() * 5);
        q.pump();
      }
      if (step % 50 === 0) await settle();
    }
    q.close();
    await settle();
    expect(q.queued).to.equal(0);
    for (const [id, o] of outcomes) expect(o, `request ${id}`).to.have.length(1);
    // Every slot the queue counts is held by a grant the test holds: none leaked, none double-freed.
    expect(q.inFlight).to.equal(running.length);
    for (const g of running.splice(0)) g.release();
    expect(q.inFlight).to.equal(0);
    // The mix exercised every path.
    expect(immediateSheds).to.be.above(0);
    expect([...outcomes.values()].map((o) => (typeof o[0] === 'string' ? o[0] : 'granted'))).to.include.members(['granted', 'timeout', 'outranked', 'closed']);
  });
});

describe('core/admission queueBound', () => {
  it('holds coldHold while there are no slots (a cold start)', () => {
    expect(queueBound(0, 1000, 100, 256)).to.equal(256);
    expect(queueBound(-1, 1000, 100, 7)).to.equal(7);
  });

  it('is what the slots clear within the wait budget at the measured service time', () => {
    expect(queueBound(4, 1000, 250, 256)).to.equal(16);
    expect(queueBound(2, 1000, 100, 256)).to.equal(20);
    expect(queueBound(8, 500, 1000, 256)).to.be.at.most(8);
  });

  it('grows with slots and budget, shrinks with service time, and survives a 0 ms service time', () => {
    expect(queueBound(8, 1000, 250, 256)).to.be.above(queueBound(4, 1000, 250, 256));
    expect(queueBound(4, 2000, 250, 256)).to.be.above(queueBound(4, 1000, 250, 256));
    expect(queueBound(4, 1000, 500, 256)).to.be.below(queueBound(4, 1000, 250, 256));
    expect(queueBound(4, 1000, 0, 256)).to.equal(4000);
  });

  describe('predictedQueueRoom', () => {
    it('counts the waiters whose slot frees within the budget: none behind a batch that just started and takes longer, all slots once it is nearly done', () => {
      // 4 slots, all started at t=0, each takes 1,500 ms; budget 1,000 ms.
      const starts = [0, 0, 0, 0];
      expect(predictedQueueRoom(starts, 4, 1500, 1000, 0, 100)).to.equal(0);
      expect(predictedQueueRoom(starts, 4, 1500, 1000, 499, 100)).to.equal(0);
      expect(predictedQueueRoom(starts, 4, 1500, 1000, 500, 100)).to.equal(4);
      // Short requests: several rounds fit (k-th waiter needs floor(k/4) more rounds of 100 ms).
      expect(predictedQueueRoom(starts, 4, 100, 1000, 50, 100)).to.equal(40);
      expect(predictedQueueRoom(starts, 4, 100, 1000, 50, 12)).to.equal(12);
    });

    it('takes idle slots at once, frees the oldest first, and counts only usable slots when more run than the capacity now has', () => {
      expect(predictedQueueRoom([0], 2, 1500, 1000, 0, 1)).to.equal(1);
      // Staggered: the one started at -900 frees in 600 ms, the one at 0 in 1,500 ms.
      expect(predictedQueueRoom([0, -900], 2, 1500, 1000, 0, 100)).to.equal(1);
      // Capacity shrank to 1 with 2 running: the first completion frees nothing usable.
      expect(predictedQueueRoom([-900, 0], 1, 1500, 1000, 0, 100)).to.equal(0);
      expect(predictedQueueRoom([], 0, 1500, 1000, 0, 7)).to.equal(7);
    });
  });
});
