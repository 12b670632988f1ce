/**
 * The configurations the simulator compares, in the reports' order, and the letter each is
 * labelled with there ("(a) full GPU per model, static"). The letters are display labels only;
 * the command line accepts them as aliases of the names.
 */
import type { PolicyId } from './port';

export const POLICY_LABELS: Readonly<Record<PolicyId, string>> = {
  'static-gpu': 'a',
  'hpa-queue': 'b',
  'static-mig': 'c',
  'ssis-ladder': 'd',
  'ssis-full': 'e',
};

export const POLICY_IDS = Object.keys(POLICY_LABELS) as readonly PolicyId[];

/** "(a)": how the reports name a configuration. */
export function policyTag(id: PolicyId): string {
  return `(${POLICY_LABELS[id]})`;
}

/** The configuration a name or its letter stands for; undefined when neither. */
export function policyIdFor(nameOrLabel: string): PolicyId | undefined {
  return POLICY_IDS.find((id) => id === nameOrLabel || POLICY_LABELS[id] === nameOrLabel);
}
