import { expect } from 'chai';
import { SsisError } from '../../../core/errors';
import {
  float32Json,
  getField,
  loadInfernoSystem,
  parseAcceleratorData,
  parseCapacityData,
  parseModelData,
  parseOptimizerData,
  parseServerData,
  parseServiceClassData,
  parseSolutionData,
  toSolutionData,
} from '../../../core/optimizer/data';

function issuesOf(fn: () => unknown): { field: string; message: string }[] {
  try {
    fn();
  } catch (e) {
    expect(e).to.be.instanceOf(SsisError);
    expect((e as SsisError).code).to.equal('SSIS_INVALID_CONFIG');
    return [...(e as SsisError).issues];
  }
  throw new Error('expected an SSIS_INVALID_CONFIG error');
}
const fields = (fn: () => unknown): string[] => issuesOf(fn).map((i) => i.field);

const acc = (name: string, type = name, multiplicity = 1, cost = 10) => ({ name, type, multiplicity, cost });
const model = (name: string, a: string, over: Record<string, unknown> = {}) => ({
  name, acc: a, accCount: 1, maxBatchSize: 64, atTokens: 512, perfParms: { alpha: 20, beta: 0.04, gamma: 0.001 }, ...over,
});
const validFiles = () => ({
  'accelerator-data.json': { accelerators: [acc('A100'), acc('2xA100', 'A100', 2, 80)] },
  'capacity-data.json': { count: [{ type: 'A100', count: 8 }] },
  'model-data.json': { models: [model('m', 'A100')] },
  'serviceclass-data.json': { serviceClasses: [{ name: 'Premium', priority: 1, modelTargets: [{ model: 'm', 'slo-itl': 40, 'slo-ttft': 1000 }] }] },
  'server-data.json': { servers: [{ name: 'Premium-m', class: 'Premium', model: 'm', currentAlloc: { load: { arrivalRate: 60, avgInTokens: 128, avgOutTokens: 1024 } } }] },
  'optimizer-data.json': { optimizer: { unlimited: false, saturationPolicy: 'RoundRobin' } },
});

describe('optimizer/data: Inferno JSON formats', () => {
  describe('case-insensitive keys (Go encoding/json)', () => {
    it('matches keys in any case; the last spelling in document order wins', () => {
      expect(getField({ AvgInTokens: 5 }, 'avgInTokens')).to.equal(5);
      expect(getField({ avgintokens: 1, AVGINTOKENS: 2 }, 'avgInTokens')).to.equal(2);
      expect(getField({ x: null }, 'x')).to.equal(undefined);
    });

    it('reads the sample spellings milpsolver, AvgInTokens, AvgOutTokens', () => {
      const opt = parseOptimizerData({ optimizer: { milpsolver: true, DelayedBestEffort: true, saturationPolicy: 'PriorityExhaustive' } });
      expect(opt).to.deep.equal({ unlimited: false, heterogeneous: false, milpSolver: true, useCplex: false, delayedBestEffort: true, saturationPolicy: 'PriorityExhaustive' });
      const [s] = parseServerData({ Servers: [{ NAME: 's', model: 'm', currentAlloc: { load: { arrivalRate: 60, AvgInTokens: 128, AvgOutTokens: 1024 } } }] });
      expect(s!.currentAlloc.load).to.deep.equal({ arrivalRate: 60, avgInTokens: 128, avgOutTokens: 1024 });
      const [m] = parseModelData({ models: [{ Name: 'm', ACC: 'A100', MaxBatchSize: 8, ATTOKENS: 512, PerfParms: { Alpha: 1, BETA: 2, gamma: 3 } }] });
      expect(m).to.deep.equal({ name: 'm', acc: 'A100', accCount: 0, maxBatchSize: 8, atTokens: 512, perfParms: { alpha: 1, beta: 2, gamma: 3 } });
    });
  });

  describe('normalization', () => {
    it('service class priority outside 1..100 or absent becomes 100', () => {
      const classes = parseServiceClassData({ serviceClasses: [
        { name: 'a', priority: 0 }, { name: 'b', priority: 101 }, { name: 'c' }, { name: 'd', priority: 1 }, { name: 'e', priority: 100 }, { name: 'f', priority: -3 },
      ] });
      expect(classes.map((c) => c.priority)).to.deep.equal([100, 100, 100, 1, 100, 100]);
      expect(classes[0]!.modelTargets).to.deep.equal([]);
    });

    it('targets: absent SLOs are 0 (not considered)', () => {
      const [c] = parseServiceClassData({ serviceClasses: [{ name: 'x', priority: 4, modelTargets: [{ model: 'm', 'slo-tps': 2000 }] }] });
      expect(c!.modelTargets).to.deep.equal([{ model: 'm', sloItl: 0, sloTtft: 0, sloTps: 2000 }]);
    });

    it('a server with empty or absent class belongs to "Free"; absent fields take Go zero values', () => {
      const servers = parseServerData({ servers: [{ name: 'a', class: '', model: 'm' }, { name: 'b', model: 'm', maxQueueSize: 7 }] });
      expect(servers.map((s) => s.class)).to.deep.equal(['Free', 'Free']);
      expect(servers[0]).to.deep.include({ keepAccelerator: false, minNumReplicas: 0, maxBatchSize: 0 });
      expect(servers[0]!.maxQueueSize).to.equal(undefined);
      expect(servers[1]!.maxQueueSize).to.equal(7);
      expect(servers[0]!.currentAlloc).to.deep.equal({ accelerator: '', numReplicas: 0, maxBatch: 0, cost: 0, itlAverage: 0, ttftAverage: 0, load: { arrivalRate: 0, avgInTokens: 0, avgOutTokens: 0 } });
    });

    it('unknown or absent saturation policy becomes None', () => {
      expect(parseOptimizerData({ optimizer: { saturationPolicy: 'Fancy' } }).saturationPolicy).to.equal('None');
      expect(parseOptimizerData({ optimizer: {} }).saturationPolicy).to.equal('None');
      for (const p of ['None', 'PriorityExhaustive', 'PriorityRoundRobin', 'RoundRobin']) {
        expect(parseOptimizerData({ optimizer: { saturationPolicy: p } }).saturationPolicy).to.equal(p);
      }
    });

    it('keeps load throughput only when present', () => {
      const [s] = parseServerData({ servers: [{ name: 'a', model: 'm', currentAlloc: { load: { arrivalRate: 6, avgInTokens: 1, avgOutTokens: 2, throughput: 5 } } }] });
      expect(s!.currentAlloc.load.throughput).to.equal(5);
    });

    it('reads accelerators and capacity', () => {
      expect(parseAcceleratorData({ accelerators: [{ ...acc('2xH100', 'H100', 2, 150), power: { idle: 1, full: 2, midPower: 3, midUtil: 0.5 } }] })[0]).to.deep.equal({
        name: '2xH100', type: 'H100', multiplicity: 2, memSize: 0, memBW: 0, power: { idle: 1, full: 2, midPower: 3, midUtil: 0.5 }, cost: 150,
      });
      expect(parseCapacityData({ count: [{ Type: 'H100', COUNT: 3 }] })).to.deep.equal([{ type: 'H100', count: 3 }]);
    });
  });

  describe('errors name file and field', () => {
    it('refuses Gen 0 and Gen 1 perf formats with a clear message', () => {
      const issues = issuesOf(() => parseModelData({ models: [
        model('m', 'A100'),
        { name: 'm', acc: 'L4', maxBatchSize: 8, atTokens: 512, alpha: 19, beta: 1 },
        { name: 'm', acc: 'G2', maxBatchSize: 8, atTokens: 512, decodeParms: { alpha: 1, beta: 2 }, prefillParms: { gamma: 3, delta: 4 } },
      ] }));
      expect(issues.map((i) => i.field)).to.deep.equal(['model-data.json:models[1].perfParms', 'model-data.json:models[2].perfParms']);
      expect(issues[0]!.message).to.match(/Gen 0/);
      expect(issues[1]!.message).to.match(/Gen 1/);
    });

    it('refuses Gen 0 slo-ttw and avgLength', () => {
      expect(fields(() => parseServiceClassData({ serviceClasses: [{ name: 'P', priority: 1, modelTargets: [{ model: 'm', 'slo-ttw': 500 }] }] })))
        .to.deep.equal(['serviceclass-data.json:serviceClasses[0].modelTargets[0].slo-ttw']);
      expect(fields(() => parseServerData({ servers: [{ name: 's', model: 'm', currentAlloc: { load: { arrivalRate: 1, avgLength: 1024 } } }] })))
        .to.deep.equal(['server-data.json:servers[0].currentAlloc.load.avgLength']);
    });

    it('reports every bad field of a document in one error', () => {
      expect(fields(() => parseModelData({ models: [
        model('m', 'A100'), model('m', 'L4'), model('m', 'G2'),
        { name: '', acc: 'X', maxBatchSize: 1.5, atTokens: 0, perfParms: { alpha: 'fast', gamma: -1 } },
      ] }))).to.deep.equal([
        'model-data.json:models[3].name',
        'model-data.json:models[3].maxBatchSize',
        'model-data.json:models[3].atTokens',
        'model-data.json:models[3].perfParms.alpha',
        'model-data.json:models[3].perfParms.beta',
        'model-data.json:models[3].perfParms.gamma',
      ]);
      expect(fields(() => parseAcceleratorData({ accelerators: [{ name: 'A', multiplicity: 0, cost: -1 }, 'x'] }))).to.deep.equal([
        'accelerator-data.json:accelerators[0].type',
        'accelerator-data.json:accelerators[0].multiplicity',
        'accelerator-data.json:accelerators[0].cost',
        'accelerator-data.json:accelerators[1]',
      ]);
      expect(fields(() => parseCapacityData({ count: [{ type: 'A', count: -1 }] }))).to.deep.equal(['capacity-data.json:count[0].count']);
      expect(fields(() => parseOptimizerData({ optimizer: { unlimited: 'yes', saturationPolicy: 3 } }))).to.deep.equal([
        'optimizer-data.json:optimizer.saturationPolicy',
        'optimizer-data.json:optimizer.unlimited',
      ]);
      expect(fields(() => parseServerData({ servers: [{ class: 'P', minNumReplicas: -1, keepAccelerator: 1, currentAlloc: { load: { arrivalRate: -1, AvgOutTokens: 2.5 } } }] }))).to.deep.equal([
        'server-data.json:servers[0].name',
        'server-data.json:servers[0].model',
        'server-data.json:servers[0].keepAccelerator',
        'server-data.json:servers[0].minNumReplicas',
        'server-data.json:servers[0].currentAlloc.load.arrivalRate',
        'server-data.json:servers[0].currentAlloc.load.avgOutTokens',
      ]);
      expect(fields(() => parseServiceClassData([]))).to.deep.equal(['serviceclass-data.json:(document)']);
    });

    it('the error message lists the issues', () => {
      try {
        parseModelData({ models: [{ ...model('m', 'A'), perfParms: { alpha: 1, gamma: 1 } }] });
        expect.fail('should throw');
      } catch (e) {
        expect((e as Error).message).to.contain('model-data.json:models[0].perfParms.beta: is required');
      }
    });
  });

  describe('loadInfernoSystem', () => {
    it('loads the six files (directories in keys ignored)', () => {
      const files = Object.fromEntries(Object.entries(validFiles()).map(([k, v]) => [`some/dir/${k}`, v]));
      const sys = loadInfernoSystem(files);
      expect(sys.accelerators.map((a) => a.name)).to.deep.equal(['A100', '2xA100']);
      expect(sys.capacity).to.deep.equal([{ type: 'A100', count: 8 }]);
      expect(sys.optimizer.saturationPolicy).to.equal('RoundRobin');
      expect(sys.servers[0]!.currentAlloc.load.avgOutTokens).to.equal(1024);
    });

    it('reports every problem across files, and missing files', () => {
      const files: Record<string, unknown> = validFiles();
      delete files['capacity-data.json'];
      files['model-data.json'] = { models: [model('m', 'A100'), model('m', 'L4'), model('m', 'G2'), { ...model('m', 'X'), perfParms: { alpha: 1, gamma: 0 } }] };
      files['server-data.json'] = { servers: [{ name: 's' }] };
      expect(fields(() => loadInfernoSystem(files))).to.deep.equal([
        'capacity-data.json',
        'model-data.json:models[3].perfParms.beta',
        'server-data.json:servers[0].model',
      ]);
    });

    it('capacity may be absent when unlimited', () => {
      const files: Record<string, unknown> = validFiles();
      delete files['capacity-data.json'];
      files['optimizer-data.json'] = { optimizer: { unlimited: true } };
      expect(loadInfernoSystem(files).capacity).to.deep.equal([]);
    });

    it('reads system-data.json, naming its fields under system.*', () => {
      const v = validFiles();
      const system = { system: {
        acceleratorData: v['accelerator-data.json'], modelData: { models: [{ ...model('m', 'A100'), perfParms: { alpha: 1 } }] },
        serviceClassData: v['serviceclass-data.json'], serverData: v['server-data.json'], optimizerData: v['optimizer-data.json'], capacityData: v['capacity-data.json'],
      } };
      expect(fields(() => loadInfernoSystem({ 'system-data.json': system }))).to.deep.equal([
        'system-data.json:system.modelData.models[0].perfParms.beta',
        'system-data.json:system.modelData.models[0].perfParms.gamma',
      ]);
      // a separate file wins over the system-data section
      const sys = loadInfernoSystem({ 'system-data.json': system, 'model-data.json': v['model-data.json'] });
      expect(sys.models[0]!.perfParms.beta).to.equal(0.04);
      expect(fields(() => loadInfernoSystem({ 'system-data.json': { System: { serverData: v['server-data.json'] } } }))).to.include('system-data.json:system.acceleratorData');
    });
  });

  describe('solution writer', () => {
    it('writes solution-data.json form, names sorted, float32 values as Go prints them', () => {
      const load = { arrivalRate: 120, avgInTokens: 128, avgOutTokens: 1024 };
      const doc = toSolutionData(new Map([
        ['b', { accelerator: 'G2', numReplicas: 3, maxBatch: 38, cost: 69, itlAverage: 36.41965484619141, ttftAverage: 425.1674812, load }],
        ['a', { accelerator: 'A100', numReplicas: 1, maxBatch: 8, cost: 40, itlAverage: 0.1, ttftAverage: 1 / 3, load: { ...load, throughput: 1.5 } }],
      ]));
      expect(Object.keys(doc.allocations)).to.deep.equal(['a', 'b']);
      expect(doc.allocations.b).to.deep.equal({ accelerator: 'G2', numReplicas: 3, maxBatch: 38, cost: 69, itlAverage: 36.419655, ttftAverage: 425.16748, load });
      expect(doc.allocations.a!.ttftAverage).to.equal(0.33333334);
      expect(doc.allocations.a!.load.throughput).to.equal(1.5);
      // round-trips through the parser
      expect(parseSolutionData(JSON.parse(JSON.stringify(doc)))).to.deep.equal(doc.allocations);
    });

    it('float32Json', () => {
      expect(float32Json(0.1)).to.equal(0.1);
      expect(float32Json(3.75)).to.equal(3.75);
      expect(float32Json(Infinity)).to.equal(0);
      expect(Math.fround(float32Json(1234.56789))).to.equal(Math.fround(1234.56789));
    });
  });
});
