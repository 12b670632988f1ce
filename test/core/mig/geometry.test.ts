import { expect } from 'chai';
import { SsisError } from '../../../core/errors.js';
import {
  computeFraction,
  getGpuModel,
  getProfile,
  GPU_MODELS,
  memoryBandwidthFraction,
  profileMemoryGiB,
  shapeKey,
  WHOLE_GPU_PROFILE,
} from '../../../core/mig/geometry.js';

/** [name, compute slices, memory slots, max count, starts, SMs, lgip GiB], transcribed from mig.md §1.2–§1.6. */
type Row = readonly [string, number, number, number, readonly number[], number, number];

interface ExpectedModel {
  readonly memorySlots: number;
  readonly computeSlices: number;
  readonly memoryGiB: number;
  readonly fullGpuSms: number;
  readonly rows: readonly Row[];
}

const ONE = [0, 1, 2, 3, 4, 5, 6];
const TWO_SLOT = [0, 2, 4, 6];

const EXPECTED: Readonly<Record<string, ExpectedModel>> = {
  'A100-SXM4-40GB': {
    memorySlots: 8, computeSlices: 7, memoryGiB: 40, fullGpuSms: 108,
    rows: [
      ['1g.5gb', 1, 1, 7, ONE, 14, 4.75],
      ['1g.5gb+me', 1, 1, 1, ONE, 14, 4.75],
      ['1g.10gb', 1, 2, 4, TWO_SLOT, 14, 9.62],
      ['2g.10gb', 2, 2, 3, [0, 2, 4], 28, 9.62],
      ['3g.20gb', 3, 4, 2, [0, 4], 42, 19.5],
      ['4g.20gb', 4, 4, 1, [0], 56, 19.5],
      ['7g.40gb', 7, 8, 1, [0], 98, 39.25],
    ],
  },
  'A100-SXM4-80GB': {
    memorySlots: 8, computeSlices: 7, memoryGiB: 80, fullGpuSms: 108,
    rows: [
      ['1g.10gb', 1, 1, 7, ONE, 14, 9.5],
      ['1g.10gb+me', 1, 1, 1, ONE, 14, 9.5],
      ['1g.20gb', 1, 2, 4, TWO_SLOT, 14, 19.5],
      ['2g.20gb', 2, 2, 3, [0, 2, 4], 28, 19.5],
      ['3g.40gb', 3, 4, 2, [0, 4], 42, 39.25],
      ['4g.40gb', 4, 4, 1, [0], 56, 39.25],
      ['7g.80gb', 7, 8, 1, [0], 98, 79],
    ],
  },
  'H100-80GB': {
    memorySlots: 8, computeSlices: 7, memoryGiB: 80, fullGpuSms: 132,
    rows: [
      ['1g.10gb', 1, 1, 7, ONE, 16, 9.75],
      ['1g.10gb+me', 1, 1, 1, ONE, 16, 9.75],
      ['1g.20gb', 1, 2, 4, TWO_SLOT, 26, 19.62],
      ['2g.20gb', 2, 2, 3, [0, 2, 4], 32, 19.62],
      ['3g.40gb', 3, 4, 2, [0, 4], 60, 39.5],
      ['4g.40gb', 4, 4, 1, [0], 64, 39.5],
      ['7g.80gb', 7, 8, 1, [0], 132, 79.25],
    ],
  },
  'H200-141GB': {
    memorySlots: 8, computeSlices: 7, memoryGiB: 141, fullGpuSms: 132,
    rows: [
      ['1g.18gb', 1, 1, 7, ONE, 16, 16],
      ['1g.18gb+me', 1, 1, 1, ONE, 16, 16],
      ['1g.35gb', 1, 2, 4, TWO_SLOT, 26, 32.25],
      ['2g.35gb', 2, 2, 3, [0, 2, 4], 32, 32.25],
      ['3g.71gb', 3, 4, 2, [0, 4], 60, 69.5],
      ['4g.71gb', 4, 4, 1, [0], 64, 69.5],
      ['7g.141gb', 7, 8, 1, [0], 132, 139.75],
    ],
  },
  'A30-24GB': {
    memorySlots: 4, computeSlices: 4, memoryGiB: 24, fullGpuSms: 56,
    rows: [
      ['1g.6gb', 1, 1, 4, [0, 1, 2, 3], 14, 5.81],
      ['1g.6gb+me', 1, 1, 1, [0, 1, 2, 3], 14, 5.81],
      ['2g.12gb', 2, 2, 2, [0, 2], 28, 11.69],
      ['2g.12gb+me', 2, 2, 1, [0, 2], 28, 11.69],
      ['4g.24gb', 4, 4, 1, [0], 56, 23.44],
    ],
  },
};

describe('core/mig/geometry', () => {
  it('has exactly the five GPU models of mig.md §1.2–§1.6', () => {
    expect(GPU_MODELS.map((m) => m.name)).to.have.members(Object.keys(EXPECTED));
  });

  for (const [modelName, expected] of Object.entries(EXPECTED)) {
    describe(modelName, () => {
      const model = getGpuModel(modelName);

      it('has the whole-GPU figures', () => {
        expect({ memorySlots: model.memorySlots, computeSlices: model.computeSlices, memoryGiB: model.memoryGiB, fullGpuSms: model.fullGpuSms }).to.deep.equal({
          memorySlots: expected.memorySlots,
          computeSlices: expected.computeSlices,
          memoryGiB: expected.memoryGiB,
          fullGpuSms: expected.fullGpuSms,
        });
      });

      it('lists the profiles of the notes, in order', () => {
        expect(model.profiles.map((p) => p.name)).to.deep.equal(expected.rows.map((r) => r[0]));
      });

      for (const [name, computeSlices, memorySlots, maxCount, starts, sms, lgipGiB] of expected.rows) {
        it(`${name}: ${computeSlices}c${memorySlots}m, starts {${starts.join(',')}}, max ${maxCount}, ${sms} SMs, ${lgipGiB} GiB`, () => {
          const profile = getProfile(model, name);
          expect(profile.shape).to.deep.equal({ computeSlices, memorySlots });
          expect(profile.starts).to.deep.equal(starts);
          expect(profile.maxCount).to.equal(maxCount);
          expect(profile.sms).to.equal(sms);
          expect(profile.mediaExtensions).to.equal(name.endsWith('+me'));
          expect(profile.wholeGpu).to.equal(false);
          expect(profile.memoryMiB / 1024).to.be.closeTo(lgipGiB, 0.01);
          for (const start of starts) expect(start + memorySlots, 'placement inside the GPU').to.be.at.most(model.memorySlots);
        });
      }

      it('gives each plain profile exactly as many starts as its maxCount (so overlap alone bounds counts)', () => {
        for (const profile of model.profiles.filter((p) => !p.mediaExtensions)) expect(profile.starts.length, profile.name).to.equal(profile.maxCount);
      });

      it('models the whole GPU as the pseudo-profile "gpu"', () => {
        const whole = getProfile(model, WHOLE_GPU_PROFILE);
        expect(whole.wholeGpu).to.equal(true);
        expect(whole.shape).to.deep.equal({ computeSlices: expected.computeSlices, memorySlots: expected.memorySlots });
        expect(whole.sms).to.equal(expected.fullGpuSms);
        expect(profileMemoryGiB(model, WHOLE_GPU_PROFILE)).to.equal(expected.memoryGiB);
        expect(computeFraction(model, WHOLE_GPU_PROFILE)).to.equal(1);
        expect(memoryBandwidthFraction(model, WHOLE_GPU_PROFILE)).to.equal(1);
      });
    });
  }

  it('keeps the NVML MiB values of A100-40GB (§1.2)', () => {
    const mib = getGpuModel('A100-SXM4-40GB').profiles.map((p) => p.memoryMiB);
    expect(mib).to.deep.equal([4864, 4864, 9856, 9856, 19968, 19968, 40192]);
  });

  it('computes compute and memory-bandwidth fractions from slices', () => {
    expect(computeFraction('A100-SXM4-40GB', '3g.20gb')).to.equal(3 / 7);
    expect(memoryBandwidthFraction('A100-SXM4-40GB', '3g.20gb')).to.equal(4 / 8);
    expect(computeFraction('H100-80GB', '1g.20gb')).to.equal(1 / 7);
    expect(memoryBandwidthFraction('H100-80GB', '1g.20gb')).to.equal(2 / 8);
    expect(computeFraction('A30-24GB', '2g.12gb')).to.equal(2 / 4);
    expect(memoryBandwidthFraction('A30-24GB', '1g.6gb')).to.equal(1 / 4);
  });

  it('reports profile memory in GiB', () => {
    expect(profileMemoryGiB('A100-SXM4-40GB', '1g.5gb')).to.equal(4.75);
    expect(profileMemoryGiB('H200-141GB', '7g.141gb')).to.equal(139.75);
  });

  it('gives canonical shape keys (§5.1)', () => {
    expect(shapeKey(getProfile('A100-SXM4-40GB', '3g.20gb').shape)).to.equal('3c4m');
    expect(shapeKey(getProfile('A100-SXM4-40GB', '1g.10gb').shape)).to.equal('1c2m');
  });

  it('resolves model aliases and the driver spellings of §1.1', () => {
    expect(getGpuModel('A100-80GB').name).to.equal('A100-SXM4-80GB');
    expect(getGpuModel('A100-PCIE-40GB').name).to.equal('A100-SXM4-40GB');
    expect(getProfile('A100-SXM4-80GB', '3g.39gb').name).to.equal('3g.40gb');
    expect(getProfile('A100-SXM4-80GB', '7g.79gb').name).to.equal('7g.80gb');
  });

  it('does not alias H100 PCIe to the SXM5 table (fewer SMs per profile, §1.4)', () => {
    expect(() => getGpuModel('H100-PCIE-80GB')).to.throw(SsisError);
  });

  it('throws SSIS_GEOMETRY_VIOLATION naming an unknown model and listing the known ones', () => {
    let error: unknown;
    try {
      getGpuModel('B200-192GB');
    } catch (e) {
      error = e;
    }
    expect(error).to.be.instanceOf(SsisError);
    const ssis = error as SsisError;
    expect(ssis.code).to.equal('SSIS_GEOMETRY_VIOLATION');
    expect(ssis.message).to.contain('B200-192GB');
    for (const known of Object.keys(EXPECTED)) expect(ssis.message).to.contain(known);
  });

  it('throws naming the model for a profile it does not have', () => {
    // '1g.5gb' is an A100-40GB name; on the 80GB parts the one-slot 1g is '1g.10gb'.
    expect(() => getProfile('H100-80GB', '1g.5gb')).to.throw(SsisError, /1g\.5gb.*H100-80GB/);
  });
});
