/**
 * Errors as values: every SDK call resolves to a `Result`, never throws for an HTTP or
 * network failure. `error.code` is the server's stable code (see the REST contract) or one
 * of the client-side codes below.
 */

import type { ServerErrorCode } from '../../contract/errors.js';

/**
 * The server's codes (`contract/errors.ts`, the list the server raises from) and the
 * client-side ones: `network_error` (no answer), `invalid_response` (an answer that is not
 * the API's), `not_signed_in` (a call that needs a session, made without one).
 */
export type QuireErrorCode =
  | ServerErrorCode
  | 'network_error'
  | 'invalid_response'
  | 'not_signed_in'
  // Codes added by a newer server stay representable.
  | (string & {});

export interface QuireError {
  code: QuireErrorCode;
  message: string;
  /** HTTP status; 0 when the request never got an answer. */
  status: number;
  details?: unknown;
  requestId?: string;
  /** Seconds to wait before retrying (429). */
  retryAfter?: number;
}

export type Result<T> = { ok: true; value: T } | { ok: false; error: QuireError };

export const ok = <T>(value: T): Result<T> => ({ ok: true, value });
export const err = <T = never>(error: QuireError): Result<T> => ({ ok: false, error });

/** The value of a successful result; throws a `QuireRequestError` otherwise (for scripts and tests). */
export function unwrap<T>(r: Result<T>): T {
  if (r.ok) return r.value;
  throw new QuireRequestError(r.error);
}

export class QuireRequestError extends Error {
  constructor(readonly error: QuireError) {
    super(`${error.code}: ${error.message}`);
    this.name = 'QuireRequestError';
  }
}

/** Codes after which the stored session is no longer usable. */
export const SESSION_ENDING_CODES: ReadonlySet<string> = new Set(['invalid_refresh_token', 'refresh_token_reused', 'account_inactive']);
