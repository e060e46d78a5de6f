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
