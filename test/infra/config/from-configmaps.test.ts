/** The configuration read from the ConfigMaps (knative/configmaps.yaml), and what it refuses across them. */
import { expect } from 'chai';
import { join, resolve } from 'node:path';
import { SsisError } from '../../../core/errors';
import { configurationFrom } from '../../../infra/config/from-configmaps';
import { loadManifests } from '../../../infra/knative/manifests';

const ROOT = resolve(__dirname, '..', '..', '..');

describe('infra/config configurationFrom', () => {
  const shipped = loadManifests(join(ROOT, 'knative')).configMaps;

  it('reads the shipped ConfigMaps', () => {
    const c = configurationFrom(shipped);
    expect(c.catalog.has('openai-community/gpt2')).to.equal(true);
    expect(c.ssis.serviceClasses.map((s) => s.name)).to.deep.equal(['default']);
  });

  it('refuses a service class listing a model the catalog does not have, naming the field', () => {
    const maps = new Map(shipped);
    const ssis = maps.get('ssis-config')!['ssis.yaml']!.replace('modelId: openai-community/gpt2', 'modelId: openai-community/gtp2');
    maps.set('ssis-config', { ...maps.get('ssis-config'), 'ssis.yaml': ssis });
    try {
      configurationFrom(maps);
      expect.fail('expected SSIS_INVALID_CONFIG');
    } catch (err) {
      expect(err).to.be.instanceOf(SsisError);
      expect((err as SsisError).issues).to.deep.equal([{ field: 'ssis-config.data.ssis.yaml.serviceClasses[0].models[0].modelId', message: 'openai-community/gtp2 is not in ssis-model-catalog' }]);
    }
  });
});
