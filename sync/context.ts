/** The per-connection context the sync tier's extensions share. */
import type { PermissionLevel, TenantRole } from '../db/schema.js';
import type { UwsSocket } from './uws-socket.js';

export interface SyncUser {
  id: string;
  tenantId: string;
  role: TenantRole;
  email: string;
}

export interface SyncContext {
  /** Set by Authentication once the token and the document permission check out. */
  user?: SyncUser;
  level?: PermissionLevel;
  /** Access-token expiry (seconds since epoch); the token sweep asks for a fresh one. */
  tokenExp?: number;
  ip?: string;
  /** The socket wrapper (absent for direct connections). */
  socket?: UwsSocket;
  /** Direct connections (REST content writes) carry the tenant explicitly. */
  tenantId?: string;
  userId?: string | null;
}

export function tenantOf(ctx: SyncContext | undefined): string | undefined {
  return ctx?.user?.tenantId ?? ctx?.tenantId;
}

/** Close codes the sync tier uses (4xxx are application codes; the reason says more). */
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

/** A refusal sent to a client as a stateless message (JSON), e.g. a read-only write. */
export function refusal(what: 'update' | 'awareness' | 'stateless', reason: string): string {
  return JSON.stringify({ type: 'quire.refused', what, reason });
}

/**
 * A refusal of a client's message or connection, thrown from a Hocuspocus hook: Hocuspocus
 * closes the connection with `code` (a reset when there is none) and, while authenticating,
 * sends `reason` in its PermissionDenied frame. Made from a `CLOSE` entry where the refusal
 * closes the socket.
 */
export class SyncRefusal extends Error {
  readonly code: number | undefined;
  readonly reason: string;
  constructor(close: { readonly code?: number; readonly reason: string }, message?: string) {
    super(message ?? close.reason);
    this.name = 'SyncRefusal';
    this.code = close.code;
    this.reason = close.reason;
  }
}

/** Hocuspocus sends `reason` in its PermissionDenied frame. */
export function denied(reason: string): SyncRefusal {
  return new SyncRefusal({ reason });
}
