/**
 * Errors as values: every SDK call resolves to a `Result`, never throws for an HTTP or
 * network failure. `error.code` is the server's stable code (see the REST contract) or one
 * of the client-side codes below.
 */

/** Codes the server sends today, plus the client-side `network_error` and `invalid_response`. */
export type QuireErrorCode =
  | 'network_error'
  | 'invalid_response'
  | 'not_signed_in'
  | 'unauthorized'
  | 'invalid_token'
  | 'token_expired'
  | 'invalid_credentials'
  | 'invalid_refresh_token'
  | 'refresh_token_reused'
  | 'account_inactive'
  | 'forbidden'
  | 'document_not_found'
  | 'user_not_found'
  | 'classifier_not_found'
  | 'email_taken'
  | 'validation_failed'
  | 'invalid_query'
  | 'invalid_json'
  | 'invalid_document'
  | 'payload_too_large'
  | 'rate_limited'
  | 'classifier_not_ready'
  | 'classifier_active'
  | 'classifier_incompatible'
  | 'nothing_to_roll_back'
  | 'label_not_found'
  | 'too_few_examples'
  | 'too_few_labels'
  | 'search_unavailable'
  | 'search_not_found'
  | 'ml_unavailable'
  | 'sync_unavailable'
  | 'shutting_down'
  | 'internal_error'
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
