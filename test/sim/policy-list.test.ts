import { expect } from 'chai';
import { SsisError } from '../../core/errors';
import { policyTag } from '../../sim/policies/ids';
import { parsePolicyList, POLICY_IDS, POLICY_TITLES } from '../../sim/run';

describe('sim: configurations by name, letters as report labels', () => {
  it('lists the five configurations in the reports\' order, labelled (a)–(e)', () => {
    expect(POLICY_IDS).to.deep.equal(['static-gpu', 'hpa-queue', 'static-mig', 'ssis-ladder', 'ssis-full']);
    expect(POLICY_IDS.map(policyTag)).to.deep.equal(['(a)', '(b)', '(c)', '(d)', '(e)']);
    expect(`${policyTag('static-gpu')} ${POLICY_TITLES['static-gpu']}`).to.equal('(a) full GPU per model, static');
  });

  it('--policies takes names, and letters as their aliases, each once in the order given', () => {
    expect(parsePolicyList('static-gpu,ssis-full')).to.deep.equal(['static-gpu', 'ssis-full']);
    expect(parsePolicyList('a,e')).to.deep.equal(['static-gpu', 'ssis-full']);
    expect(parsePolicyList(' e , ssis-ladder,ssis-full ')).to.deep.equal(['ssis-full', 'ssis-ladder']);
    expect(parsePolicyList('a,b,c,d,e')).to.deep.equal(POLICY_IDS);
  });

  it('refuses an unknown or empty list, naming --policies', () => {
    for (const list of ['f', 'static-gpu,hpa', '', ' , ']) {
      let error: SsisError | undefined;
      try {
        parsePolicyList(list);
      } catch (err) {
        error = err as SsisError;
      }
      expect(error?.code, list).to.equal('SSIS_INVALID_CONFIG');
      expect(error!.issues.map((i) => i.field)).to.deep.equal(['--policies']);
    }
  });
});
