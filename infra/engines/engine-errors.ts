/** The catalogue code a real engine fails with when it cannot be built, started or made ready. */
import type { ErrorCode } from '../../core/errors';

export const ENGINE_FAILURE: ErrorCode = 'SSIS_ENGINE_START_FAILED';
