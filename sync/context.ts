/** The per-connection context the sync tier's extensions share. */
import type { DeniedReason, StatelessMessage } from '../contract/sync.js';
import type { PermissionLevel, TenantRole } from '../db/schema.js';
import type { UwsSocket } from './uws-socket.js';
import type { Credential } from '../core/tokens.js';

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
  /**
   * What the connection was admitted with (its token's session version and session, or its
   * API key): when the session is ended or the key revoked, the socket closes (`4401 session_revoked`).
   */
  credential?: Credential;
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

export { CLOSE, DENIED } from '../contract/sync.js';

/** A stateless message to a client (JSON), typed by the contract. */
export function stateless(message: StatelessMessage): string {
  return JSON.stringify(message);
}

/** A refusal sent to a client as a stateless message (JSON), e.g. a read-only write. */
export function refusal(what: 'update' | 'awareness' | 'stateless', reason: string): string {
  return stateless({ type: 'quire.refused', what, reason });
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
export function denied(reason: DeniedReason): SyncRefusal {
  return new SyncRefusal({ reason });
}
