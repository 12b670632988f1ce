import { expect } from 'chai';
import { SsisError } from '../../../core/errors.js';
import { buildMigPartedPlan, MIG_CONFIG_LABEL, migConfigName } from '../../../core/mig/mig-parted.js';
import { gpu, inst } from './fixtures.js';

const A100 = 'A100-SXM4-40GB';
describe('core/mig/mig-parted', () => {
  it('groups GPUs of a node with the same counts, counting free instances too', () => {
    const gpus = [
      gpu(A100, [inst('2g.10gb', 0, 'a'), inst('1g.5gb', 2), inst('1g.5gb', 3), inst('3g.20gb', 4)], { index: 0 }),
      gpu(A100, [inst('3g.20gb', 4), inst('1g.5gb', 3, 'b'), inst('2g.10gb', 0), inst('1g.5gb', 2)], { index: 2 }),
      gpu(A100, [inst('7g.40gb', 0)], { index: 1 }),
      gpu(A100, [inst('gpu', 0, 'c')], { index: 3, migEnabled: false }),
      gpu(A100, [], { index: 4, migEnabled: true }),
    ];
    const { config, nodeLabels } = buildMigPartedPlan(gpus);
    const name = nodeLabels['node-a'];
    expect(name).to.match(/^ssis-node-a-[0-9a-f]{8}$/);
    expect(config).to.deep.equal({
      version: 'v1',
      'mig-configs': {
        [name ?? '']: [
          { devices: [0, 2], 'mig-enabled': true, 'mig-devices': { '1g.5gb': 2, '2g.10gb': 1, '3g.20gb': 1 } },
          { devices: [1], 'mig-enabled': true, 'mig-devices': { '7g.40gb': 1 } },
          { devices: [3], 'mig-enabled': false, 'mig-devices': {} },
          { devices: [4], 'mig-enabled': true, 'mig-devices': {} },
        ],
      },
    });
    expect(MIG_CONFIG_LABEL).to.equal('nvidia.com/mig.config');
  });

  it('names one config per node, deterministically, and changes the name when the counts change', () => {
    const layout = (node: string, extra: boolean) => gpu(A100, extra ? [inst('1g.5gb', 6), inst('1g.5gb', 5)] : [inst('1g.5gb', 6)], { node });
    const first = buildMigPartedPlan([layout('node-b', false), layout('node-a', false)]);
    const again = buildMigPartedPlan([layout('node-a', false), layout('node-b', false)]);
    expect(first).to.deep.equal(again);
    expect(Object.keys(first.config['mig-configs'])).to.have.length(2);
    const changed = buildMigPartedPlan([layout('node-a', true)]);
    expect(changed.nodeLabels['node-a']).not.to.equal(first.nodeLabels['node-a']);
  });

  it('keeps the label value a valid Kubernetes label value for long node names', () => {
    const node = `ip-10-0-0-1.${'very-long-zone-name.'.repeat(5)}compute.internal`;
    const value = migConfigName(node, [{ devices: [0], 'mig-enabled': true, 'mig-devices': { '1g.5gb': 1 } }]);
    expect(value.length).to.be.at.most(63);
    expect(value).to.match(/^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$/);
  });

  it('refuses an invalid layout', () => {
    expect(() => buildMigPartedPlan([gpu(A100, [inst('2g.10gb', 0), inst('1g.5gb', 1)])])).to.throw(SsisError, /overlaps/);
  });
});
