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

/** Why a call failed. */
export interface QuireError {
  /** The stable code to branch on (see `QuireErrorCode`). */
  code: QuireErrorCode;
  /** A sentence for people (not to be parsed). */
  message: string;
  /** HTTP status; 0 when the request never got an answer. */
  status: number;
  /** More about the error, per code (e.g. the failed fields of `validation_failed`). */
  details?: unknown;
  /** The server's `x-request-id`, to find the request in its logs. */
  requestId?: string;
  /** Seconds to wait before retrying (429). */
  retryAfter?: number;
}

/** What every call resolves to: the value, or the error; never a thrown HTTP or network failure. */
export type Result<T> = { ok: true; value: T } | { ok: false; error: QuireError };

/** A successful `Result`. */
export const ok = <T>(value: T): Result<T> => ({ ok: true, value });
/** A failed `Result`. */
export const err = <T = never>(error: QuireError): Result<T> => ({ ok: false, error });

/** The value of a successful result; throws a `QuireRequestError` otherwise (for scripts and tests). */
export function unwrap<T>(r: Result<T>): T {
  if (r.ok) return r.value;
  throw new QuireRequestError(r.error);
}

/** The error `unwrap` throws; `error` is the failed call's `QuireError`. */
export class QuireRequestError extends Error {
  constructor(readonly error: QuireError) {
    super(`${error.code}: ${error.message}`);
    this.name = 'QuireRequestError';
  }
}

/** Codes after which the stored session is no longer usable. */
export const SESSION_ENDING_CODES: ReadonlySet<string> = new Set(['invalid_refresh_token', 'refresh_token_reused', 'account_inactive']);
