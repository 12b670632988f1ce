/**
 * Whether a string can be a model id at all (Hugging Face's `owner/name`, or a bare name), checked
 * before the model catalog is asked. A model id travels on: into the unknown-model answer, and
 * for a known model into events and metrics. A client that pastes something else there (a token,
 * a prompt) is told so without the value being repeated; a plausible id that is not in the
 * catalog is the caller's 404.
 */

/** Hugging Face caps a repository name at 96 characters; the owner adds some more. */
export const MAX_MODEL_ID_LENGTH = 160;

/**
 * One path segment: letters, digits, `.`, `_`, `-` (Hugging Face's repository names) and `:`
 * (tagged names such as `llama3:8b`), starting and ending with a letter or digit.
 */
const SEGMENT = '[A-Za-z0-9](?:[A-Za-z0-9._:-]*[A-Za-z0-9])?';
const MODEL_ID = new RegExp(`^${SEGMENT}(?:/${SEGMENT})?$`);

/** Why `value` cannot be a model id, in words that do not repeat it; undefined when it can. */
export function modelIdProblem(value: string): string | undefined {
  if (value.length > MAX_MODEL_ID_LENGTH) return `is not a model id: longer than ${MAX_MODEL_ID_LENGTH} characters`;
  if (!MODEL_ID.test(value)) return 'is not a model id: expected "owner/name" or "name" of letters, digits, ".", "_", "-" and ":", starting and ending with a letter or digit';
  return undefined;
}
