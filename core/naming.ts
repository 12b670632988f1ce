/**
 * Service (model key) names, derived exactly as the SSIS reference Dispatcher does
 * (notes/ssis.md §1.3): the part after the last `/`, lower-cased, with every character outside
 * [a-z0-9] removed. `openai-community/gpt2` → `gpt2`; `meta-llama/Llama-3.2-1B-Instruct` →
 * `llama321binstruct`. The result is a valid Knative Service name (DNS-1035 label).
 */
export function serviceNameFor(modelId: string): string {
  const last = modelId.slice(modelId.lastIndexOf('/') + 1);
  return last.toLowerCase().replace(/[^a-z0-9]/g, '');
}

/** Revision names as Knative's default: `<service>-<5-digit generation>`. */
export function revisionName(service: string, generation: number): string {
  return `${service}-${String(generation).padStart(5, '0')}`;
}
