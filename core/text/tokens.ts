/**
 * Token counts without a tokenizer. GPT-2-style BPE averages about four characters of English
 * per token; the ingress uses this for the `inputTokens` of request-received and the emulated
 * servers for their prompt lengths, so both sides agree.
 */
export function estimateTokens(text: string): number {
  if (text.length === 0) return 0;
  return Math.max(1, Math.ceil(text.length / 4));
}

const WORDS = [
  'the', 'model', 'learns', 'layers', 'of', 'representation', 'from', 'data', 'and', 'uses', 'gradient',
  'descent', 'to', 'adjust', 'its', 'weights', 'so', 'that', 'predictions', 'improve', 'over', 'many',
  'examples', 'in', 'deep', 'networks', 'each', 'layer', 'transforms', 'features', 'into', 'more', 'abstract', 'ones',
] as const;

/**
 * Deterministic stand-in text for an emulated model: `count` tokens chosen from a fixed
 * vocabulary, seeded by the prompt so the same request gives the same answer.
 */
export function emulatedCompletion(prompt: string, count: number): string {
  let h = 2166136261;
  for (let i = 0; i < prompt.length; i++) h = Math.imul(h ^ prompt.charCodeAt(i), 16777619) >>> 0;
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    h = Math.imul(h ^ (i + 0x9e3779b9), 2654435761) >>> 0;
    out.push(WORDS[h % WORDS.length]!);
  }
  return out.length > 0 ? ` ${out.join(' ')}` : '';
}
