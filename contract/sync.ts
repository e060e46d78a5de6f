/**
 * The sync protocol's close codes and reasons: what the server closes a WebSocket with, and
 * what clients (the SDK) decide from. Each code asks the client for one thing; the reason
 * (a machine-readable code in the same spelling as the REST error codes, sometimes followed
 * by `: ` and a detail, e.g. `invalid_update: too_deep`) says why:
 *
 * | code | reasons | the client |
 * |---|---|---|
 * | 4400 | `malformed_message`, `invalid_update` | reconnects (a client bug; the server kept nothing of the message) |
 * | 4401 | `token_expired`, `invalid_token`, `token_for_another_user`, `session_revoked` | authenticates again: reconnects with a fresh token (`session_revoked`: the user signed out everywhere or changed their password; only a session started since refreshes) |
 * | 4403 | `access_revoked` | stops; forgets its copy of the document |
 * | 4404 | `document_deleted` | stops; forgets its copy of the document |
 * | 4408 | `authentication_timeout` | reconnects |
 * | 4410 | `account_inactive` | stops; the account was disabled or removed: signs out |
 * | 4413 | `document_too_large` | stops; the document takes no more edits |
 * | 4429 | `too_many_connections`, `sending_too_fast` | reconnects after a back-off |
 * | 1011 | `persist_failed`, `document_not_loaded` | reconnects; unacknowledged edits are resent |
 * | 1012 | `server_restarting` | reconnects |
 */
import type { PermissionLevel } from './api.js';

/** WebSocket close codes and reasons the sync endpoint closes a document connection with. */
export const CLOSE = {
  invalidMessage: { code: 4400, reason: 'malformed_message' },
  invalidUpdate: { code: 4400, reason: 'invalid_update' },
  tokenExpired: { code: 4401, reason: 'token_expired' },
  invalidToken: { code: 4401, reason: 'invalid_token' },
  tokenForAnotherUser: { code: 4401, reason: 'token_for_another_user' },
  sessionRevoked: { code: 4401, reason: 'session_revoked' },
  accessRevoked: { code: 4403, reason: 'access_revoked' },
  documentDeleted: { code: 4404, reason: 'document_deleted' },
  authTimeout: { code: 4408, reason: 'authentication_timeout' },
  accountInactive: { code: 4410, reason: 'account_inactive' },
  documentTooLarge: { code: 4413, reason: 'document_too_large' },
  tooManyConnections: { code: 4429, reason: 'too_many_connections' },
  sendingTooFast: { code: 4429, reason: 'sending_too_fast' },
  persistFailed: { code: 1011, reason: 'persist_failed' },
  documentNotLoaded: { code: 1011, reason: 'document_not_loaded' },
  shuttingDown: { code: 1012, reason: 'server_restarting' },
} as const;
/** The `reason` of one of the `CLOSE` codes. */
export type CloseReason = (typeof CLOSE)[keyof typeof CLOSE]['reason'];

/** Close codes after which a client stops reconnecting (see the table above). */
export const FINAL_CLOSE_CODES: ReadonlySet<number> = new Set([CLOSE.accessRevoked.code, CLOSE.documentDeleted.code, CLOSE.accountInactive.code, CLOSE.documentTooLarge.code]);

/**
 * Why the server refused to open a document for a connection: the reason of Hocuspocus'
 * PermissionDenied frame (the SDK's `authenticationFailed`), spelled like the REST error
 * code of the same refusal. `token_expired`, `invalid_token` and `session_revoked` are
 * renewable (refresh and authenticate again: after `session_revoked` the refresh succeeds
 * only for a session started since); `forbidden` also covers a deleted document and a path
 * that names none.
 */
export const DENIED = {
  forbidden: 'forbidden',
  tokenExpired: 'token_expired',
  invalidToken: 'invalid_token',
  /** The token belongs to a session that was ended (signed out everywhere, password changed). */
  sessionRevoked: 'session_revoked',
  accountInactive: 'account_inactive',
  tooManyConnections: 'too_many_connections',
  /** The workspace's processing budget is spent; try again after a while. */
  workspaceBusy: 'workspace_busy',
  /** The document could not be read from storage; try again. */
  loadFailed: 'load_failed',
} as const;
/** Why the sync endpoint refused to open a document (one of `DENIED`). */
export type DeniedReason = (typeof DENIED)[keyof typeof DENIED];

/**
 * Stateless messages (JSON in Hocuspocus' stateless frame) the server sends on a document
 * connection: a message of the client's it did not apply, the connection's access level when
 * it changes (and at connection for `comment`, which the socket's read-only flag does not
 * tell from `read`), and a nudge that the document's comments changed.
 */
export type StatelessMessage =
  | { type: 'quire.refused'; what: 'update' | 'awareness' | 'stateless'; reason: string }
  | { type: 'quire.access'; level: PermissionLevel }
  /** The document's comments changed (someone commented, replied, edited, resolved or deleted): read them again. */
  | { type: 'quire.comments'; commentId: string };
