/**
 * Token counts without a tokenizer. GPT-2-style BPE averages about four characters of English
 * per token; the ingress uses this for the `inputTokens` of request-received and the emulated
 * servers for their prompt lengths, so both sides agree.
 */
export function estimateTokens(text: string): number {
  if (text.length === 0) return 0;
  return Math.max(1, Math.ceil(text.length / 4));
}
