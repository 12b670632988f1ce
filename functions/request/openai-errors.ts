/**
 * Errors of the OpenAI-compatible endpoints in OpenAI's own shape, `{error: {message, type, param,
 * code}}`, with the `type` values the official clients map to their exception classes
 * (invalid_request_error, authentication_error, permission_error, rate_limit_error, server_error).
 */
import type { SsisError } from '../../core/errors';

export interface OpenAiErrorBody {
  readonly error: { readonly message: string; readonly type: string; readonly param: string | null; readonly code: string | null };
}

function typeAndCode(e: SsisError): { type: string; code: string | null } {
  switch (e.code) {
    case 'SSIS_UNAUTHENTICATED':
      return { type: 'authentication_error', code: 'invalid_api_key' };
    case 'SSIS_FORBIDDEN':
      return { type: 'permission_error', code: 'model_not_allowed' };
    case 'SSIS_RATE_LIMITED':
      return { type: 'rate_limit_error', code: 'rate_limit_exceeded' };
    case 'SSIS_UNKNOWN_MODEL':
      return { type: 'invalid_request_error', code: 'model_not_found' };
    case 'SSIS_NOT_FOUND':
      return { type: 'invalid_request_error', code: 'unknown_url' };
    case 'SSIS_OVERLOADED':
    case 'SSIS_CAPACITY_TIMEOUT':
    case 'SSIS_CAPACITY_UNAVAILABLE':
      return { type: 'server_error', code: 'overloaded' };
    default:
      return e.httpStatus < 500 ? { type: 'invalid_request_error', code: null } : { type: 'server_error', code: null };
  }
}

export function openAiError(e: SsisError): OpenAiErrorBody {
  const { type, code } = typeAndCode(e);
  const param = e.code === 'SSIS_UNAUTHENTICATED' ? null : (e.issues[0]?.field ?? null);
  return { error: { message: e.message, type, param, code } };
}
