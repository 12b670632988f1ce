/**
 * Optimistic concurrency against the API server: a write carries the resourceVersion it read,
 * and a 409 Conflict (someone wrote in between) means read again and redo the change.
 */
import { isApiStatus } from './api-status';

const CONFLICT_RETRIES = 8;

export async function withConflictRetry<T>(what: string, attempt: () => Promise<T>): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      return await attempt();
    } catch (err) {
      if (!isApiStatus(err, 409) || i >= CONFLICT_RETRIES) {
        if (isApiStatus(err, 409)) throw new Error(`${what}: still conflicting after ${CONFLICT_RETRIES} retries`, { cause: err });
        throw err;
      }
    }
  }
}
