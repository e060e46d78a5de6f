/**
 * Resolves a verified token's principal to the user as stored now, so a removed user,
 * a changed role or an ended session (signed out there or everywhere, password changed, ended
 * by an admin) takes effect
 * on the next request, not when the token expires.
 */
import { sql } from 'kysely';
import type { TenantRole } from '../db/schema.js';
import type { Tx } from '../db/store.js';
import { queryTemplate } from '../db/template.js';
import { sessionVersionOf, type Principal } from './tokens.js';
import { unauthorized } from '../lib/errors.js';

export interface Actor {
  userId: string;
  tenantId: string;
  role: TenantRole;
  email: string;
  ip: string | null;
}

export async function loadActor(tx: Tx, principal: Principal, ip: string | null): Promise<Actor> {
  return actorFrom(await actorQuery(principal).execute(tx), principal, ip);
}

/** Stands for "no session" in a template's session parameter: no session has this id. */
const NO_SESSION = '00000000-0000-0000-0000-000000000000';

/** The session id to bind in a template with `sessionLive`: the token's, or one no session has. */
export function sessionParam(principal: Pick<Principal, 'sessionId'>): string {
  return principal.sessionId ?? NO_SESSION;
}

/**
 * A select column: whether the token's session is still on (true), ended (false) or not
 * found (null). A primary-key probe, so it rides along with the user row for free.
 */
export function sessionLive(sessionId: string) {
  return sql<boolean | null>`(select s.ended_at is null from sessions s where s.id = ${sessionId})`.as('session_live');
}

const userRow = queryTemplate((db, p: { userId: string; sessionId: string }) =>
  db
    .selectFrom('users')
    .select(['id', 'role', 'email', 'disabled_at', 'session_version', sessionLive(p.sessionId)])
    .where('id', '=', p.userId),
);

/** The caller's user row as a query of its own, to send with others (`readAsTenant`). */
export function actorQuery(principal: Principal) {
  return userRow({ userId: principal.userId, sessionId: sessionParam(principal) });
}

/** The user columns `actorFrom` decides from. */
export interface ActorRow {
  id: string;
  role: TenantRole;
  email: string;
  disabled_at: Date | null;
  session_version: number;
  /** `sessionLive` of the token's session. */
  session_live: boolean | null;
}

/**
 * The actor from `actorQuery`'s rows; refuses a user who is gone or disabled, and a token
 * of a session that was ended (its session version is below the user's).
 */
export function actorFrom(rows: readonly ActorRow[], principal: Principal, ip: string | null): Actor {
  const user = rows[0];
  if (!user || user.disabled_at) throw unauthorized('This account is no longer active', 'account_inactive');
  if (sessionVersionOf(principal) < user.session_version) throw unauthorized('This session was ended; sign in again', 'session_revoked');
  if (principal.sessionId !== undefined && user.session_live !== true) throw unauthorized('This session was ended; sign in again', 'session_revoked');
  return { userId: user.id, tenantId: principal.tenantId, role: user.role, email: user.email, ip };
}

/** Tenant owners and admins manage users and hold admin on every document of the tenant. */
export function isTenantAdmin(role: TenantRole): boolean {
  return role === 'owner' || role === 'admin';
}
