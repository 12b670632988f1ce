import { expect } from 'chai';
import { nextTier, previousTier, smallestFittingProfile, tierLadder } from '../../../core/mig/tiers.js';

describe('core/mig/tiers', () => {
  const ladders: Readonly<Record<string, readonly string[]>> = {
    'A100-SXM4-40GB': ['1g.5gb', '2g.10gb', '3g.20gb', '4g.20gb', '7g.40gb', 'gpu'],
    'A100-SXM4-80GB': ['1g.10gb', '2g.20gb', '3g.40gb', '4g.40gb', '7g.80gb', 'gpu'],
    'H100-80GB': ['1g.10gb', '2g.20gb', '3g.40gb', '4g.40gb', '7g.80gb', 'gpu'],
    'H200-141GB': ['1g.18gb', '2g.35gb', '3g.71gb', '4g.71gb', '7g.141gb', 'gpu'],
    'A30-24GB': ['1g.6gb', '2g.12gb', '4g.24gb', 'gpu'],
  };

  for (const [model, ladder] of Object.entries(ladders)) {
    it(`derives the ladder of ${model} from its table (one-slot 1g, no +me)`, () => {
      expect(tierLadder(model)).to.deep.equal(ladder);
    });

    it(`steps along the ladder of ${model}`, () => {
      ladder.forEach((tier, i) => {
        expect(nextTier(model, tier), `next of ${tier}`).to.equal(ladder[i + 1] ?? null);
        expect(previousTier(model, tier), `previous of ${tier}`).to.equal(i === 0 ? null : ladder[i - 1]);
      });
    });
  }

  it('puts the +me and two-slot variants on the rung of their compute slices', () => {
    expect(nextTier('A100-SXM4-40GB', '1g.10gb')).to.equal('2g.10gb');
    expect(nextTier('A100-SXM4-40GB', '1g.5gb+me')).to.equal('2g.10gb');
    expect(previousTier('A100-SXM4-40GB', '1g.10gb')).to.equal(null);
    expect(nextTier('A30-24GB', '2g.12gb+me')).to.equal('4g.24gb');
  });

  it('picks the first tier whose memory covers the need', () => {
    expect(smallestFittingProfile('A100-SXM4-40GB', 4)).to.equal('1g.5gb');
    expect(smallestFittingProfile('A100-SXM4-40GB', 4.75)).to.equal('1g.5gb');
    expect(smallestFittingProfile('A100-SXM4-40GB', 5)).to.equal('2g.10gb');
    // 3g and 4g have the same memory: memory alone picks 3g.
    expect(smallestFittingProfile('A100-SXM4-40GB', 15)).to.equal('3g.20gb');
    expect(smallestFittingProfile('A100-SXM4-40GB', 39.25)).to.equal('7g.40gb');
    expect(smallestFittingProfile('A100-SXM4-40GB', 39.5)).to.equal('gpu');
    expect(smallestFittingProfile('A100-SXM4-40GB', 41)).to.equal(null);
    expect(smallestFittingProfile('H200-141GB', 16)).to.equal('1g.18gb');
    expect(smallestFittingProfile('A30-24GB', 6)).to.equal('2g.12gb');
    expect(smallestFittingProfile('A30-24GB', 12)).to.equal('4g.24gb');
  });
});
