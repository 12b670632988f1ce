import { expect } from 'chai';
import { parseModelCatalog, minimumMemoryGiB, kvCapacityTokens } from '../../../core/catalog/model-catalog';
import { parseAutoscalerConfig, queryFor, rulesFor } from '../../../core/config/autoscaler-config';
import { parseSsisConfig, serviceClassOf, sloOf } from '../../../core/config/ssis-config';
import { SsisError } from '../../../core/errors';
import { serviceNameFor, revisionName } from '../../../core/naming';

function issuesOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    expect(err).to.be.instanceOf(SsisError);
    return (err as SsisError).issues.map((i) => i.field);
  }
  throw new Error('expected an SsisError');
}

describe('core/naming', () => {
  const cases: [string, string][] = [
    ['openai-community/gpt2', 'gpt2'],
    ['meta-llama/Meta-Llama-3.1-8B', 'metallama318b'],
    ['meta-llama/Llama-3.2-1B-Instruct', 'llama321binstruct'],
    ['gpt2', 'gpt2'],
    ['org/---', ''],
  ];
  for (const [id, key] of cases) it(`derives ${JSON.stringify(key)} from ${id} as the reference Dispatcher does`, () => expect(serviceNameFor(id)).to.equal(key));
  it('names revisions like Knative', () => expect(revisionName('gpt2', 3)).to.equal('gpt2-00003'));
});

describe('core/config autoscaler-config (reference format)', () => {
  const rule = { name: 'tpot', query: 'sum(x{service="%s"}) / sum(y{service="%s"})', slo: 0.5, scaleUpFactor: 1.5, scaleDownFactor: 0.5 };

  it('reads one key per service plus a default, and substitutes the service name', () => {
    const c = parseAutoscalerConfig({ gpt2: [rule], default: [{ ...rule, name: 'd' }] });
    expect(rulesFor(c, 'gpt2')[0]!.name).to.equal('tpot');
    expect(rulesFor(c, 'other')[0]!.name).to.equal('d');
    expect(queryFor(rule, 'gpt2')).to.equal('sum(x{service="gpt2"}) / sum(y{service="gpt2"})');
  });

  it('accepts numbers written as strings, as ConfigMaps often carry them', () => {
    const c = parseAutoscalerConfig({ gpt2: [{ ...rule, slo: '0.5', scaleUpFactor: '1.5' }] });
    expect(rulesFor(c, 'gpt2')[0]!.slo).to.equal(0.5);
  });

  it('reports every bad field of every entry at once', () => {
    const fields = issuesOf(() => parseAutoscalerConfig({ gpt2: [{ name: 'a', slo: -1, scaleUpFactor: 0.5, scaleDownFactor: 2, extra: 1 }, 'x'], llama: 'not a list' }));
    expect(fields).to.include.members([
      'autoscaler-config.gpt2[0].query', 'autoscaler-config.gpt2[0].slo', 'autoscaler-config.gpt2[0].scaleUpFactor',
      'autoscaler-config.gpt2[0].scaleDownFactor', 'autoscaler-config.gpt2[0].extra', 'autoscaler-config.gpt2[1]', 'autoscaler-config.llama',
    ]);
  });
});

describe('core/config ssis-config', () => {
  it('fills defaults for an empty document', () => {
    const c = parseSsisConfig({});
    expect(c.namespace).to.equal('ssis');
    expect(c.ingress.capacityWaitTimeoutSec).to.equal(60);
    expect(c.scaler.maxReplicas).to.equal(4);
  });

  it('names unknown and invalid fields, nested ones included', () => {
    const fields = issuesOf(() => parseSsisConfig({ ingres: {}, scaler: { minReplicas: 0, maxReplicas: 'many' }, cluster: { nodes: [{ name: 'n', gpus: [{ model: 'A100-SXM4-40GB', count: 0 }] }] } }));
    expect(fields).to.include.members(['ssis.yaml.ingres', 'ssis.yaml.scaler.minReplicas', 'ssis.yaml.scaler.maxReplicas', 'ssis.yaml.cluster.nodes[0].gpus[0].count']);
  });

  it('defaults to one class, the ingress default, on the inferno policy; the optimizer offers MIG, not MPS', () => {
    const c = parseSsisConfig({});
    expect(c.serviceClasses).to.deep.equal([{ name: 'default', priority: 1, policy: 'inferno', ttftMs: 1000, itlMs: 50, models: [] }]);
    expect(c.optimizer).to.deep.equal({ mig: true, mpsClients: [], saturationPolicy: 'PriorityExhaustive', gpuCostCentsPerHour: {}, sampleMaxAgeSec: 60, backlogDrainSec: 20, headroom: 0 });
  });

  it('puts a model in the class listing it, with its own SLOs, and others in the default class', () => {
    const c = parseSsisConfig({
      ingress: { defaultServiceClass: 'free' },
      serviceClasses: [
        { name: 'premium', priority: 1, policy: 'ssis-ladder', ttftMs: 200, itlMs: 20, models: [{ modelId: 'a/llama', itlMs: 15 }, { modelId: 'b/gpt' }] },
        { name: 'free', priority: 100 },
      ],
      optimizer: { mig: false, mpsClients: [2, 4], saturationPolicy: 'RoundRobin', gpuCostCentsPerHour: { 'H100-80GB': 99 } },
    });
    expect(serviceClassOf(c, 'a/llama').name).to.equal('premium');
    expect(sloOf(serviceClassOf(c, 'a/llama'), 'a/llama')).to.deep.equal({ ttftMs: 200, itlMs: 15 });
    expect(sloOf(serviceClassOf(c, 'b/gpt'), 'b/gpt')).to.deep.equal({ ttftMs: 200, itlMs: 20 });
    expect(serviceClassOf(c, 'c/other')).to.include({ name: 'free', policy: 'inferno', priority: 100 });
    expect(c.optimizer).to.include({ mig: false, saturationPolicy: 'RoundRobin' });
    expect(c.optimizer.gpuCostCentsPerHour).to.deep.equal({ 'H100-80GB': 99 });
    expect(parseSsisConfig({ optimizer: { gpuCostCentsPerHour: { 'A100-40GB': 100 } } }).optimizer.gpuCostCentsPerHour, 'an alias is kept under the canonical name').to.deep.equal({ 'A100-SXM4-40GB': 100 });
  });

  it('names every bad service class and optimizer field', () => {
    const fields = issuesOf(() => parseSsisConfig({
      serviceClasses: [
        { name: 'default', priority: 0, policy: 'hpa', ttftMs: -1, models: [{ modelId: 'x' }] },
        { name: 'default', extra: 1, models: [{ modelId: 'x' }] },
      ],
      optimizer: { mpsClients: [1], saturationPolicy: 'Greedy', gpuCostCentsPerHour: { 'TPU-v5': 3, 'A100-SXM4-40GB': 0 }, colour: 'red' },
    }));
    expect(fields).to.include.members([
      'ssis.yaml.serviceClasses[0].priority', 'ssis.yaml.serviceClasses[0].policy', 'ssis.yaml.serviceClasses[0].ttftMs',
      'ssis.yaml.serviceClasses[1].extra', 'ssis.yaml.serviceClasses[1].name', 'ssis.yaml.serviceClasses[1].models[0].modelId',
      'ssis.yaml.optimizer.mpsClients[0]', 'ssis.yaml.optimizer.saturationPolicy', 'ssis.yaml.optimizer.gpuCostCentsPerHour.TPU-v5',
      'ssis.yaml.optimizer.gpuCostCentsPerHour.A100-SXM4-40GB', 'ssis.yaml.optimizer.colour',
    ]);
    expect(issuesOf(() => parseSsisConfig({ serviceClasses: [{ name: 'gold' }] }))).to.deep.equal(['ssis.yaml.serviceClasses']);
  });
});

describe('core/catalog model catalog', () => {
  const gpt2 = { modelId: 'openai-community/gpt2', weightsGiB: 0.25, kvBytesPerToken: 36864, maxModelLen: 1024, maxBatchSize: 64, perf: { 'A100-SXM4-40GB': { alpha: 5, beta: 0.1, gamma: 0.0005 } } };

  it('computes the memory a model needs and the KV tokens a slice holds', () => {
    const spec = parseModelCatalog({ models: [gpt2] }).get('openai-community/gpt2')!;
    expect(minimumMemoryGiB(spec)).to.be.closeTo((0.25 + 0.5 + (1024 * 36864) / 1024 ** 3) / 0.9, 1e-9);
    expect(kvCapacityTokens(spec, 4.75)).to.equal(Math.floor(((4.75 * 0.9 - 0.75) * 1024 ** 3) / 36864));
    expect(kvCapacityTokens(spec, 0.5)).to.equal(0);
  });

  it('reports every problem with its field, duplicates included', () => {
    const fields = issuesOf(() => parseModelCatalog({ models: [gpt2, { ...gpt2, weightsGiB: 0, perf: { X: { alpha: 1, beta: -1 } } }, { modelId: 3 }] }));
    expect(fields).to.include.members([
      'models.yaml.models[1].modelId', 'models.yaml.models[1].weightsGiB', 'models.yaml.models[1].perf.X.beta', 'models.yaml.models[1].perf.X.gamma',
      'models.yaml.models[2].modelId', 'models.yaml.models[2].perf',
    ]);
  });
});
