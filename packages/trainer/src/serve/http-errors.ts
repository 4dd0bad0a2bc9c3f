// The one shape of every error answer, `{error, message}`, and the mapping of each failure to its HTTP
// status: client mistakes are 4xx, an overloaded or starting server 503, only bugs 500.
import type { ImageProblem } from '../data/image-probe.js';
import { imageProblem } from '../data/image-probe.js';

/** Stable, machine-readable error names (the `error` field). */
export type ApiErrorCode =
  | 'bad_request'
  | 'not_found'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'image_invalid'
  | 'image_too_large'
  | 'image_blank'
  | 'decode_timeout'
  | 'overloaded'
  | 'not_ready'
  | 'internal_error';

/** An error answer: status, name and a one-line message. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly error: ApiErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

const IMAGE_ERRORS: Readonly<Record<ImageProblem, [number, ApiErrorCode]>> = {
  unsupported: [415, 'unsupported_media_type'],
  corrupt: [422, 'image_invalid'],
  too_large: [422, 'image_too_large'],
  blank: [422, 'image_blank'],
  timeout: [422, 'decode_timeout'],
};

/**
 * The answer to an image that was refused for `reason`.
 *
 * @example
 * ```ts
 * throw imageApiError('too_large', 'file: 10000 × 10000 pixels is over the limit');
 * ```
 */
export function imageApiError(reason: ImageProblem | 'internal', message: string): ApiError {
  if (reason === 'internal') return new ApiError(500, 'internal_error', 'internal error');
  const [status, code] = IMAGE_ERRORS[reason];
  return new ApiError(status, code, message);
}

// Fastify's own errors that a client causes, by their `code`.
const FASTIFY_ERRORS: Readonly<Record<string, [number, ApiErrorCode]>> = {
  FST_ERR_CTP_BODY_TOO_LARGE: [413, 'payload_too_large'],
  FST_ERR_CTP_INVALID_MEDIA_TYPE: [415, 'unsupported_media_type'],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: [400, 'bad_request'],
  FST_ERR_CTP_EMPTY_JSON_BODY: [400, 'bad_request'],
  FST_ERR_CTP_INVALID_TYPE: [400, 'bad_request'],
  FST_ERR_VALIDATION: [400, 'bad_request'],
};

function field(error: unknown, key: string): unknown {
  return typeof error === 'object' && error !== null ? (error as Record<string, unknown>)[key] : undefined;
}

/**
 * Maps anything thrown while answering a request to an {@link ApiError}; unknown errors become a 500
 * whose message reveals nothing.
 *
 * @example
 * ```ts
 * const { status, error: code, message } = toApiError(error);
 * ```
 */
export function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  const problem = imageProblem(error);
  if (problem !== null) return imageApiError(problem, (error as Error).message);
  const code = field(error, 'code');
  const message = error instanceof Error ? error.message : String(error);
  const known = typeof code === 'string' ? FASTIFY_ERRORS[code] : undefined;
  if (known) return new ApiError(known[0], known[1], message);
  if (field(error, 'validation') !== undefined) return new ApiError(400, 'bad_request', message);
  const status = field(error, 'statusCode');
  // Other 4xx from Fastify or its parsers (a JSON syntax error is one).
  if (typeof status === 'number' && status >= 400 && status < 500)
    return new ApiError(status, 'bad_request', message);
  return new ApiError(500, 'internal_error', 'internal error');
}
