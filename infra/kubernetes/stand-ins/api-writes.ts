/**
 * How the stand-ins write: JSON merge patches (RFC 7386: maps merge, `null` deletes a key, lists
 * are replaced whole), which client-node 1.x sends only when told. Its generated patch calls
 * pick the first content type the API lists, `application/json-patch+json`; a middleware on the
 * call's options replaces the header.
 */
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { isApiStatus } from '../api-status';

export const MERGE_PATCH = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/** Runs a delete (or a write to something that may be gone) and treats 404 NotFound as done. */
export async function ignoringNotFound(call: () => Promise<unknown>): Promise<void> {
  try {
    await call();
  } catch (err) {
    if (!isApiStatus(err, 404)) throw err;
  }
}
