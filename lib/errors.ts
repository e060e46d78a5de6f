/**
 * Errors that carry a stable machine-readable code and the HTTP status they map to.
 * Raise them where the fact is known; the HTTP edge renders them as
 * `{ "error": { "code", "message", "details"? } }`.
 */
import type { NotFoundWhat, ServerErrorCode } from '../contract/errors.js';

export type { ServerErrorCode } from '../contract/errors.js';

export class AppError extends Error {
  constructor(
    readonly status: number,
    readonly code: ServerErrorCode,
    message: string,
    readonly details?: unknown,
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.name = 'AppError';
  }
}

export const badRequest = (code: ServerErrorCode, message: string, details?: unknown) => new AppError(400, code, message, details);
export const unauthorized = (message = 'Authentication required', code: ServerErrorCode = 'unauthorized') => new AppError(401, code, message);
export const forbidden = (message = 'You are not allowed to do this', code: ServerErrorCode = 'forbidden') => new AppError(403, code, message);
export const notFound = (what: NotFoundWhat) => new AppError(404, `${what}_not_found`, `The ${what} was not found`);
export const conflict = (code: ServerErrorCode, message: string) => new AppError(409, code, message);
export const payloadTooLarge = (limit: number) => new AppError(413, 'payload_too_large', `The request body is larger than the limit of ${limit} bytes`);
export const tooManyRequests = (retryAfterSeconds: number) =>
  new AppError(429, 'rate_limited', `Too many requests; retry in ${retryAfterSeconds} s`, undefined, {
    'retry-after': String(retryAfterSeconds),
  });

export function isAppError(e: unknown): e is AppError {
  return e instanceof AppError;
}
