/**
 * The simulator's future-event list: a binary min-heap on (time, insertion order) kept in parallel
 * typed arrays, so pushing and popping allocate nothing. Ties pop in insertion order, which keeps a
 * run deterministic. An event is two integers: its kind and a reference (a replica, a source, …).
 */
export class EventQueue {
  private times = new Float64Array(1024);
  private seqs = new Float64Array(1024);
  private kinds = new Int32Array(1024);
  private refs = new Int32Array(1024);
  private count = 0;
  private nextSeq = 0;

  /** Popped event, valid until the next pop. */
  time = 0;
  kind = 0;
  ref = 0;

  get size(): number {
    return this.count;
  }

  push(time: number, kind: number, ref: number): void {
    if (this.count === this.times.length) this.grow();
    const seq = this.nextSeq++;
    let i = this.count++;
    // Sift up: move parents down until the new key's place is found.
    while (i > 0) {
      const p = (i - 1) >> 1;
      const pt = this.times[p]!;
      if (pt < time || (pt === time && this.seqs[p]! < seq)) break;
      this.move(p, i);
      i = p;
    }
    this.set(i, time, seq, kind, ref);
  }

  /** Removes the earliest event into time/kind/ref; false when empty. */
  pop(): boolean {
    if (this.count === 0) return false;
    this.time = this.times[0]!;
    this.kind = this.kinds[0]!;
    this.ref = this.refs[0]!;
    const last = --this.count;
    if (last > 0) {
      const t = this.times[last]!;
      const s = this.seqs[last]!;
      const k = this.kinds[last]!;
      const r = this.refs[last]!;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= last) break;
        const rr = l + 1;
        let c = l;
        if (rr < last && (this.times[rr]! < this.times[l]! || (this.times[rr] === this.times[l] && this.seqs[rr]! < this.seqs[l]!))) c = rr;
        const ct = this.times[c]!;
        if (t < ct || (t === ct && s < this.seqs[c]!)) break;
        this.move(c, i);
        i = c;
      }
      this.set(i, t, s, k, r);
    }
    return true;
  }

  peekTime(): number {
    return this.count === 0 ? Infinity : this.times[0]!;
  }

  private move(from: number, to: number): void {
    this.times[to] = this.times[from]!;
    this.seqs[to] = this.seqs[from]!;
    this.kinds[to] = this.kinds[from]!;
    this.refs[to] = this.refs[from]!;
  }

  private set(i: number, time: number, seq: number, kind: number, ref: number): void {
    this.times[i] = time;
    this.seqs[i] = seq;
    this.kinds[i] = kind;
    this.refs[i] = ref;
  }

  private grow(): void {
    const n = this.times.length * 2;
    const grow64 = (a: Float64Array): Float64Array<ArrayBuffer> => {
      const b = new Float64Array(n);
      b.set(a);
      return b;
    };
    const grow32 = (a: Int32Array): Int32Array<ArrayBuffer> => {
      const b = new Int32Array(n);
      b.set(a);
      return b;
    };
    this.times = grow64(this.times);
    this.seqs = grow64(this.seqs);
    this.kinds = grow32(this.kinds);
    this.refs = grow32(this.refs);
  }
}
