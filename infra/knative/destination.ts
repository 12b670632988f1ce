/**
 * Knative Destinations (`subscriber`, `sink`, `deadLetterSink`): a `ref` to an addressable object,
 * an absolute `uri`, or a `ref` plus a relative `uri` path appended to the ref's address.
 */
import { FieldContext, readObject, readOptionalString, readString, rejectUnknownKeys } from './field-context';
import type { Destination, ObjectRef, RefDestination } from './types';

export function parseDestination(value: unknown, at: FieldContext, defaultNamespace: string): Destination | undefined {
  const destination = readObject(value, at);
  if (!destination) return undefined;
  // CACerts and audience are TLS/OIDC settings for the cluster's sender; they do not change routing.
  rejectUnknownKeys(destination, ['ref', 'uri', 'CACerts', 'audience'], at);
  const uri = readOptionalString(destination.uri, at.at('uri'));
  if (destination.ref === undefined) {
    if (destination.uri === undefined) at.fail('needs a ref or a uri');
    else if (uri !== undefined && !isAbsoluteUrl(uri)) at.at('uri').fail('without a ref, uri must be an absolute URL (scheme and host)');
    else if (uri !== undefined) return { uri };
    return undefined;
  }
  const ref = parseObjectRef(destination.ref, at.at('ref'), defaultNamespace);
  if (!ref) return undefined;
  if (uri !== undefined && isAbsoluteUrl(uri)) {
    at.at('uri').fail('with a ref, uri must be a relative path appended to the ref\'s address');
    return undefined;
  }
  return uri === undefined ? ref : { ...ref, uri };
}

export function parseObjectRef(value: unknown, at: FieldContext, defaultNamespace: string): ObjectRef | undefined {
  const ref = readObject(value, at);
  if (!ref) return undefined;
  rejectUnknownKeys(ref, ['apiVersion', 'kind', 'name', 'namespace'], at);
  const apiVersion = readString(ref.apiVersion, at.at('apiVersion'));
  const kind = readString(ref.kind, at.at('kind'));
  const name = readString(ref.name, at.at('name'));
  const namespace = readOptionalString(ref.namespace, at.at('namespace')) ?? defaultNamespace;
  if (apiVersion === undefined || kind === undefined || name === undefined) return undefined;
  return { apiVersion, kind, name, namespace };
}

export function isRefDestination(destination: Destination): destination is RefDestination {
  return 'kind' in destination;
}

function isAbsoluteUrl(text: string): boolean {
  try {
    return new URL(text).host !== '';
  } catch {
    return false;
  }
}
