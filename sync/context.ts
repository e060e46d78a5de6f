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
  accountInactive: { code: 4401, reason: 'account inactive' },
  accessRevoked: { code: 4403, reason: 'access revoked' },
  documentDeleted: { code: 4404, reason: 'document deleted' },
  authTimeout: { code: 4408, reason: 'authentication timeout' },
  documentTooLarge: { code: 4413, reason: 'document too large' },
  tooManyConnections: { code: 4429, reason: 'too many connections' },
  sendingTooFast: { code: 4429, reason: 'sending too fast' },
  persistFailed: { code: 1011, reason: 'could not persist update' },
  shuttingDown: { code: 1012, reason: 'server restarting' },
} as const;

/** A refusal sent to a client as a stateless message (JSON), e.g. a read-only write. */
export function refusal(what: 'update' | 'awareness' | 'stateless', reason: string): string {
  return JSON.stringify({ type: 'quire.refused', what, reason });
}

/** Hocuspocus sends `reason` in its PermissionDenied frame. */
export function denied(reason: string): Error & { reason: string } {
  return Object.assign(new Error(reason), { reason });
}
