/**
 * The sync protocol's close codes and reasons: what the server closes a WebSocket with, and
 * what clients (the SDK) decide from. 4xxx are application codes; the reason says more.
 */
export const CLOSE = {
  invalidMessage: { code: 4400, reason: 'malformed message' },
  tokenExpired: { code: 4401, reason: 'token expired' },
  invalidToken: { code: 4401, reason: 'invalid token' },
  tokenForAnotherUser: { code: 4401, reason: 'token is for another user' },
  accountInactive: { code: 4401, reason: 'account inactive' },
  accessRevoked: { code: 4403, reason: 'access revoked' },
  documentDeleted: { code: 4404, reason: 'document deleted' },
  authTimeout: { code: 4408, reason: 'authentication timeout' },
  documentTooLarge: { code: 4413, reason: 'document too large' },
  tooManyConnections: { code: 4429, reason: 'too many connections' },
  sendingTooFast: { code: 4429, reason: 'sending too fast' },
  persistFailed: { code: 1011, reason: 'could not persist update' },
  documentNotLoaded: { code: 1011, reason: 'document not loaded' },
  shuttingDown: { code: 1012, reason: 'server restarting' },
} as const;

/**
 * Why the server refused to open a document for a connection: the reason of Hocuspocus'
 * PermissionDenied frame (the SDK's `authenticationFailed`). `token-expired` is renewable
 * (refresh and authenticate again); `forbidden` also covers a deleted document and a path
 * that names none.
 */
export const DENIED = {
  forbidden: 'forbidden',
  tokenExpired: 'token-expired',
  invalidToken: 'invalid-token',
  accountInactive: 'account-inactive',
  tooManyConnections: 'too-many-connections',
  /** The workspace's processing budget is spent; try again after a while. */
  workspaceBusy: 'too-busy',
  /** The document could not be read from storage; try again. */
  loadFailed: 'load-failed',
} as const;
export type DeniedReason = (typeof DENIED)[keyof typeof DENIED];

/**
 * Stateless messages (JSON in Hocuspocus' stateless frame) the server sends on a document
 * connection: a message of the client's it did not apply, and the connection's access level
 * when it changes.
 */
export type StatelessMessage =
  | { type: 'quire.refused'; what: 'update' | 'awareness' | 'stateless'; reason: string }
  | { type: 'quire.access'; level: 'read' | 'write' | 'admin' };
