/**
 * How the stand-ins write: JSON merge patches (RFC 7386: maps merge, `null` deletes a key, lists
 * are replaced whole), or JSON patches where a write must hold only while a field keeps its value;
 * client-node 1.x sends the content type it is told. Its generated patch calls
 * pick the first content type the API lists, `application/json-patch+json`; a middleware on the
 * call's options replaces the header.
 */
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { isApiStatus } from '../api-status';

export const MERGE_PATCH = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
/** RFC 6902 JSON patches, for writes guarded by a `test` operation. */
export const JSON_PATCH = setHeaderOptions('Content-Type', PatchStrategy.JsonPatch);

/** A map key (a label name, a resource name) as one JSON-pointer segment (RFC 6901: `~` → `~0`, `/` → `~1`). */
export function jsonPointerKey(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** Runs a delete (or a write to something that may be gone) and treats 404 NotFound as done. */
export async function ignoringNotFound(call: () => Promise<unknown>): Promise<void> {
  try {
    await call();
  } catch (err) {
    if (!isApiStatus(err, 404)) throw err;
  }
}
