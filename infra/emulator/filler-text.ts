/**
 * The emulated inference server's answer text: deterministic filler, not language. `count` tokens
 * chosen from a fixed vocabulary, seeded by the prompt so the same request gives the same answer.
 */

const WORDS = [
  'the', 'model', 'learns', 'layers', 'of', 'representation', 'from', 'data', 'and', 'uses', 'gradient',
  'descent', 'to', 'adjust', 'its', 'weights', 'so', 'that', 'predictions', 'improve', 'over', 'many',
  'examples', 'in', 'deep', 'networks', 'each', 'layer', 'transforms', 'features', 'into', 'more', 'abstract', 'ones',
] as const;

/** `count` filler tokens for `prompt`, each preceded by a space (the empty string for none). */
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
