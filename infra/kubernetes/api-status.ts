/**
 * Reading the API server's answers through @kubernetes/client-node: a refused call is an
 * ApiException carrying the HTTP status (403 Forbidden, 404 NotFound, 409 AlreadyExists, …).
 */
import { ApiException } from '@kubernetes/client-node';

export function isApiStatus(err: unknown, code: number): boolean {
  return err instanceof ApiException && err.code === code;
}

/** Runs `create` and treats 409 AlreadyExists as done, so set-up steps can be repeated. */
export async function createIfAbsent(create: () => Promise<unknown>): Promise<void> {
  try {
    await create();
  } catch (err) {
    if (!isApiStatus(err, 409)) throw err;
  }
}
