import { expect } from 'chai';
import {
  appendSample,
  appendStaleMarker,
  createSampleBuffer,
  dropSamplesBefore,
  sampleAtOrBefore,
  sampleCount,
  samplesInWindow,
} from '../../../infra/metrics/sample-buffer';

describe('sample buffer', () => {
  it('keeps samples in time order and refuses out-of-order or duplicate timestamps', () => {
    const buffer = createSampleBuffer();
    expect(appendSample(buffer, 1000, 1)).to.equal(true);
    expect(appendSample(buffer, 2000, 2)).to.equal(true);
    expect(appendSample(buffer, 2000, 3)).to.equal(false);
    expect(appendSample(buffer, 1500, 3)).to.equal(false);
    expect(sampleCount(buffer)).to.equal(2);
    expect(sampleAtOrBefore(buffer, 1999)).to.deep.equal({ t: 1000, v: 1, stale: false });
    expect(sampleAtOrBefore(buffer, 999)).to.equal(undefined);
  });

  it('selects left-open or closed windows and skips staleness markers but not NaN data', () => {
    const buffer = createSampleBuffer();
    appendSample(buffer, 0, 0);
    appendSample(buffer, 15_000, NaN);
    appendStaleMarker(buffer, 30_000);
    appendSample(buffer, 45_000, 45);
    expect(samplesInWindow(buffer, 0, 45_000, false).map((p) => p.t)).to.deep.equal([15_000, 45_000]);
    expect(samplesInWindow(buffer, 0, 45_000, true).map((p) => p.t)).to.deep.equal([0, 15_000, 45_000]);
    expect(sampleAtOrBefore(buffer, 30_000)).to.deep.equal({ t: 30_000, v: NaN, stale: true });
    expect(sampleAtOrBefore(buffer, 15_000)?.stale).to.equal(false);
  });

  it('grows, compacts after dropping old samples, and survives a 32-bit offset overflow', () => {
    const buffer = createSampleBuffer();
    for (let i = 0; i < 1000; i++) appendSample(buffer, i * 1000, i);
    dropSamplesBefore(buffer, 900_000);
    expect(sampleCount(buffer)).to.equal(100);
    for (let i = 1000; i < 3000; i++) appendSample(buffer, i * 1000, i);
    dropSamplesBefore(buffer, 2_990_000);
    expect(samplesInWindow(buffer, 0, Infinity, true).map((p) => p.v)).to.deep.equal([2990, 2991, 2992, 2993, 2994, 2995, 2996, 2997, 2998, 2999]);

    // 49 days later, past what 32-bit offsets reach from the live samples: the buffer starts over.
    const far = 2_999_000 + 0x1_0000_0000;
    expect(appendSample(buffer, far, -1)).to.equal(true);
    expect(sampleAtOrBefore(buffer, far)).to.deep.equal({ t: far, v: -1, stale: false });
    expect(sampleCount(buffer)).to.equal(1);
  });
});
