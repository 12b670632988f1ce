import { expect } from 'chai';
import { SsisError } from '../../../core/errors';
import { compileTriggerFilter, evaluateFilter, type EventAttributes, type TriggerFilterSpec } from '../../../infra/knative/filters';

const event: EventAttributes = {
  specversion: '1.0',
  id: 'abc-1',
  type: 'ssis.metrics.sampled',
  source: '/ssis/functions/sample',
  subject: 'llama-8b',
  partitionkey: 'llama-8b',
  generation: 7,
  canary: true,
};

const matches = (spec: TriggerFilterSpec, attributes: EventAttributes = event): boolean => compileTriggerFilter(spec, 't').matches(attributes);

/** The issues of the SSIS_INVALID_CONFIG error a spec is refused with. */
function refusal(spec: TriggerFilterSpec, triggerName = 't'): { field: string; message: string }[] {
  try {
    compileTriggerFilter(spec, triggerName);
  } catch (error) {
    expect(error).to.be.instanceOf(SsisError);
    expect((error as SsisError).code).to.equal('SSIS_INVALID_CONFIG');
    return [...(error as SsisError).issues];
  }
  throw new Error('the filter was accepted');
}

describe('infra/knative/filters', () => {
  describe('exact', () => {
    it('matches when the attribute equals the value, case-sensitively', () => {
      expect(matches({ filters: [{ exact: { type: 'ssis.metrics.sampled' } }] })).to.equal(true);
      expect(matches({ filters: [{ exact: { type: 'SSIS.metrics.sampled' } }] })).to.equal(false);
      expect(matches({ filters: [{ exact: { type: 'ssis.metrics' } }] })).to.equal(false);
    });

    it('refuses a map of several attributes, as the Knative webhook does; one entry per attribute ANDs them', () => {
      expect(() => compileTriggerFilter({ filters: [{ exact: { type: 'ssis.metrics.sampled', subject: 'llama-8b' } }] }, 't')).to.throw(/Multiple items found, can have only one key-value/);
      expect(matches({ filters: [{ exact: { type: 'ssis.metrics.sampled' } }, { exact: { subject: 'llama-8b' } }] })).to.equal(true);
      expect(matches({ filters: [{ exact: { type: 'ssis.metrics.sampled' } }, { exact: { subject: 'other' } }] })).to.equal(false);
    });

    it('never matches an absent attribute', () => {
      expect(matches({ filters: [{ exact: { dataschema: 'x' } }] })).to.equal(false);
      expect(matches({ filters: [{ exact: { subject: 'llama-8b' } }] }, { ...event, subject: undefined })).to.equal(false);
    });

    it('compares integer and boolean extensions by their string form', () => {
      expect(matches({ filters: [{ exact: { generation: '7' } }] })).to.equal(true);
      expect(matches({ filters: [{ exact: { canary: 'true' } }] })).to.equal(true);
      expect(matches({ filters: [{ exact: { canary: 'false' } }] })).to.equal(false);
    });

    it('does not see properties inherited from Object.prototype', () => {
      expect(matches({ filters: [{ prefix: { constructor: 'function' } }] })).to.equal(false);
    });
  });

  describe('prefix and suffix', () => {
    it('prefix matches the start of the value', () => {
      expect(matches({ filters: [{ prefix: { type: 'ssis.' } }] })).to.equal(true);
      expect(matches({ filters: [{ prefix: { type: 'dev.knative.' } }] })).to.equal(false);
      expect(matches({ filters: [{ prefix: { type: 'SSIS.' } }] })).to.equal(false);
    });

    it('suffix matches the end of the value', () => {
      expect(matches({ filters: [{ suffix: { type: '.sampled' } }] })).to.equal(true);
      expect(matches({ filters: [{ suffix: { type: '.decided' } }] })).to.equal(false);
    });

    it('refuse several attributes in one map, and need a present attribute', () => {
      expect(() => compileTriggerFilter({ filters: [{ prefix: { type: 'ssis.', source: '/ssis/' } }] }, 't')).to.throw(/Multiple items found/);
      expect(() => compileTriggerFilter({ filters: [{ suffix: { type: '.x', source: '/y' } }] }, 't')).to.throw(/Multiple items found/);
      expect(matches({ filters: [{ suffix: { dataschema: 'x' } }] })).to.equal(false);
    });
  });

  describe('all, any, not and the top-level list', () => {
    it('the top-level list is an AND', () => {
      expect(matches({ filters: [{ prefix: { type: 'ssis.' } }, { exact: { subject: 'llama-8b' } }] })).to.equal(true);
      expect(matches({ filters: [{ prefix: { type: 'ssis.' } }, { exact: { subject: 'other' } }] })).to.equal(false);
    });

    it('all needs every nested filter, any needs one', () => {
      const a = { exact: { type: 'ssis.metrics.sampled' } };
      const b = { exact: { subject: 'other' } };
      expect(matches({ filters: [{ all: [a, b] }] })).to.equal(false);
      expect(matches({ filters: [{ all: [a] }] })).to.equal(true);
      expect(matches({ filters: [{ any: [a, b] }] })).to.equal(true);
      expect(matches({ filters: [{ any: [b] }] })).to.equal(false);
    });

    it('not inverts its filter', () => {
      expect(matches({ filters: [{ not: { exact: { type: 'ssis.metrics.sampled' } } }] })).to.equal(false);
      expect(matches({ filters: [{ not: { prefix: { source: '/test/' } } }] })).to.equal(true);
    });

    it('nests to any depth', () => {
      const spec = {
        filters: [
          {
            any: [
              { all: [{ prefix: { type: 'ssis.' } }, { not: { any: [{ suffix: { type: '.decided' } }, { exact: { canary: 'true' } }] } }] },
              { exact: { type: 'dev.knative.sources.ping' } },
            ],
          },
        ],
      };
      expect(matches(spec)).to.equal(false); // canary is true
      expect(matches(spec, { ...event, canary: false })).to.equal(true);
      expect(matches(spec, { ...event, canary: false, type: 'ssis.scale.decided' })).to.equal(false);
      expect(matches(spec, { type: 'dev.knative.sources.ping', source: '/apis/v1/namespaces/ssis/pingsources/x' })).to.equal(true);
    });

    it('keeps the compiled expression tree for inspection', () => {
      const filter = compileTriggerFilter({ filters: [{ not: { exact: { type: 'a' } } }] }, 't');
      expect(filter.origin).to.equal('filters');
      expect(filter.expressions).to.deep.equal([{ dialect: 'not', filter: { dialect: 'exact', attributes: { type: 'a' } } }]);
      expect(evaluateFilter(filter.expressions[0]!, { type: 'b' })).to.equal(true);
    });
  });

  describe('legacy filter.attributes', () => {
    it('matches each attribute exactly', () => {
      const filter = compileTriggerFilter({ filter: { attributes: { type: 'ssis.metrics.sampled', subject: 'llama-8b' } } }, 't');
      expect(filter.origin).to.equal('filter.attributes');
      expect(filter.matches(event)).to.equal(true);
      expect(filter.matches({ ...event, subject: 'other' })).to.equal(false);
    });

    it('drops empty values, as the Kafka data plane does: they match even an absent attribute', () => {
      expect(matches({ filter: { attributes: { type: 'ssis.metrics.sampled', dataschema: '' } } })).to.equal(true);
      expect(compileTriggerFilter({ filter: { attributes: { type: '' } } }, 't').expressions).to.deep.equal([]);
    });

    it('loses to a non-empty filters list, but wins over an empty one', () => {
      const spec = { filter: { attributes: { type: 'ssis.scale.decided' } }, filters: [{ exact: { type: 'ssis.metrics.sampled' } }] };
      expect(compileTriggerFilter(spec, 't').origin).to.equal('filters');
      expect(matches(spec)).to.equal(true);
      expect(compileTriggerFilter({ ...spec, filters: [] }, 't').origin).to.equal('filter.attributes');
      expect(matches({ ...spec, filters: [] })).to.equal(false);
    });

    it('with neither, every event matches', () => {
      const filter = compileTriggerFilter({}, 't');
      expect(filter.origin).to.equal('none');
      expect(filter.matches({})).to.equal(true);
      expect(compileTriggerFilter({ filter: {} }, 't').matches(event)).to.equal(true);
    });
  });

  describe('refusals', () => {
    it('refuses an entry with several dialects, as the Knative webhook does', () => {
      expect(refusal({ filters: [{ exact: { type: 'a' }, suffix: { type: 'b' } }] })).to.deep.equal([
        { field: 'spec.filters[0]', message: 'multiple dialects found, filters can have only one dialect set' },
      ]);
      expect(refusal({ filters: [{ any: [{ prefix: { type: 'a' }, not: { exact: { type: 'b' } } }] }] })[0]?.field).to.equal('spec.filters[0].any[0]');
    });

    it('refuses cesql at load time, naming the Trigger', () => {
      expect(refusal({ filters: [{ cesql: "type = 'a'" }] }, 'ssis-evaluate')).to.deep.equal([
        { field: 'spec.filters[0].cesql', message: 'Trigger ssis-evaluate: dialect cesql is not supported by the embedded broker' },
      ]);
      expect(refusal({ filters: [{ not: { cesql: 'true' } }] }, 'x')[0]?.message).to.contain('Trigger x: dialect cesql');
    });

    it('refuses attribute names outside ^[a-z][a-z0-9]*$, in every dialect and the legacy filter', () => {
      const issues = refusal({
        filter: { attributes: { 'Type': 'a' } },
        filters: [{ exact: { '0type': 'a' } }, { prefix: { 'my-ext': 'a' } }, { suffix: { typE: 'a' } }],
      });
      expect(issues.map((issue) => issue.field)).to.deep.equal([
        'spec.filter.attributes.Type',
        'spec.filters[0].exact["0type"]',
        'spec.filters[1].prefix.my-ext',
        'spec.filters[2].suffix.typE',
      ]);
      expect(issues[0]?.message).to.contain('^[a-z][a-z0-9]*$');
    });

    it('refuses unknown dialects, empty entries, empty all/any, empty maps and empty values', () => {
      const issues = refusal({
        filters: [{ exakt: { type: 'a' } }, {}, { all: [] }, { any: [] }, { exact: {} }, { prefix: { type: '' } }, { not: [] }],
      });
      expect(issues.map((issue) => `${issue.field}: ${issue.message}`)).to.deep.equal([
        'spec.filters[0].exakt: unknown filter dialect (known: exact, prefix, suffix, all, any, not)',
        'spec.filters[1]: a filter needs one dialect: exact, prefix, suffix, all, any, not',
        'spec.filters[2].all: all must contain at least one filter expression',
        'spec.filters[3].any: any must contain at least one filter expression',
        'spec.filters[4].exact: must name at least one attribute',
        'spec.filters[5].prefix.type: must not be empty',
        'spec.filters[6].not: must be one filter expression (an object), got a list',
      ]);
    });

    it('refuses values that are not strings (Kubernetes would too) and malformed lists', () => {
      expect(refusal({ filters: [{ exact: { generation: 7 } }] })[0]?.message).to.contain('must be a string');
      expect(refusal({ filters: { exact: { type: 'a' } } })[0]).to.deep.include({ field: 'spec.filters' });
      expect(refusal({ filter: { attributes: { type: 'a' }, atributes: {} } })[0]?.field).to.equal('spec.filter.atributes');
    });

    it('reports every problem of a spec at once, the legacy filter included', () => {
      const issues = refusal({ filter: { attributes: { BAD: 'x' } }, filters: [{ cesql: 'x' }, { exact: { type: 'a' }, any: [{ exact: { type: 'b' } }] }] });
      expect(issues).to.have.length(3);
    });
  });
});
