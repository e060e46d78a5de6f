/**
 * Sessions: a signed-in device (migration 0021). A session is a refresh-token family — its
 * id is the family id — started by `startSession` at every sign-in (password, SSO, …),
 * used by each refresh (which records when and from where), and ended by signing it out,
 * by signing out every other session, by signing out everywhere, by a password change, an
 * MFA reset or an admin ending the user's sessions.
 *
 * Access tokens carry their session (`sid`): a token of an ended session is refused on the
 * next request (`core/actor.ts`) and its live sockets close (the `user` access event after
 * commit; the sessions trigger moves the tenant's access version for instances that missed
 * it). Lock order as in commands/auth.ts: the user row before refresh tokens and sessions.
 */
import crypto from 'node:crypto';
import { sql } from 'kysely';
import type { EndedSessions, Session, SessionInfo, SessionList } from '../../contract/api.js';
import type { SessionMethod, TenantRole } from '../../db/schema.js';
import { withTenant, type Tx } from '../../db/store.js';
import { forbidden, notFound } from '../../lib/errors.js';
import { isTenantAdmin, loadActor } from '../../core/actor.js';
import type { Principal } from '../../core/tokens.js';
import type { Services } from '../services.js';
import { audit } from './audit.js';

export const REFRESH_PREFIX = 'qrt_';
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** What is kept of a user agent: enough to tell devices apart. */
const USER_AGENT_MAX = 256;

export function hashToken(token: string): string {
  return crypto.createHash('sha256').update(token).digest('hex');
}

export function parseRefreshToken(token: string): { tenantId: string } | null {
  if (!token.startsWith(REFRESH_PREFIX)) return null;
  const [tenantId, secret] = token.slice(REFRESH_PREFIX.length).split('.');
  if (!tenantId || !secret || !UUID_RE.test(tenantId) || !/^[A-Za-z0-9_-]{43}$/.test(secret)) return null;
  return { tenantId };
}

/** Where a request comes from, as a session records it. */
export interface Device {
  ip: string | null;
  userAgent?: string | null;
}

function userAgentOf(ua: string | null): string | null {
  if (!ua) return null;
  // Printable characters only: it is shown back to the user.
  const clean = ua.replace(/[^\x20-\x7e]/g, '').slice(0, USER_AGENT_MAX);
  return clean || null;
}

/** Issues the next refresh token of a session (its family). */
export async function issueRefreshToken(svc: Services, tx: Tx, p: { tenantId: string; userId: string; sessionId: string; ip: string | null }): Promise<string> {
  const token = `${REFRESH_PREFIX}${p.tenantId}.${crypto.randomBytes(32).toString('base64url')}`;
  await tx
    .insertInto('refresh_tokens')
    .values({
      tenant_id: p.tenantId,
      user_id: p.userId,
      family_id: p.sessionId,
      token_hash: hashToken(token),
      expires_at: new Date(Date.now() + svc.refreshTtlSeconds * 1000),
      ip: p.ip,
    })
    .execute();
  return token;
}

export interface SessionStart extends Device {
  tenantId: string;
  userId: string;
  method: SessionMethod;
  /** The sign-in passed a second factor. */
  mfa?: boolean;
}

/**
 * Starts a session inside the caller's transaction (which has read the user row `FOR SHARE`
 * or locked it): records the device and issues the first refresh token. Sign the access
 * token with `sessionAnswer` after commit.
 */
export async function startSession(svc: Services, tx: Tx, s: SessionStart): Promise<{ sessionId: string; refreshToken: string }> {
  const sessionId = crypto.randomUUID();
  await tx
    .insertInto('sessions')
    .values({
      id: sessionId,
      tenant_id: s.tenantId,
      user_id: s.userId,
      method: s.method,
      mfa: s.mfa ?? false,
      user_agent: userAgentOf(s.userAgent ?? null),
      ip: s.ip,
      last_ip: s.ip,
    })
    .execute();
  const refreshToken = await issueRefreshToken(svc, tx, { tenantId: s.tenantId, userId: s.userId, sessionId, ip: s.ip });
  return { sessionId, refreshToken };
}

/** The `Session` answer of a sign-in or refresh: signs the access token for the session. */
export async function sessionAnswer(
  svc: Services,
  p: { tenantId: string; sessionId: string; refreshToken: string; sessionVersion: number; user: { id: string; email: string; role: TenantRole } },
): Promise<Session> {
  const accessToken = await svc.tokens.signAccess({ userId: p.user.id, tenantId: p.tenantId, role: p.user.role, sessionVersion: p.sessionVersion, sessionId: p.sessionId });
  return { accessToken, refreshToken: p.refreshToken, user: { id: p.user.id, email: p.user.email, tenantId: p.tenantId, role: p.user.role } };
}

/** Records a refresh: when and from where the session was last used. */
export async function touchSession(tx: Tx, sessionId: string, device: Device): Promise<void> {
  await tx
    .updateTable('sessions')
    .set({ last_used_at: sql`now()`, last_ip: device.ip, ...(device.userAgent ? { user_agent: userAgentOf(device.userAgent) } : {}) })
    .where('id', '=', sessionId)
    .execute();
}

/** Whether a session is on: not ended. A family from before sessions were recorded has no row and counts as on. */
export async function sessionEnded(tx: Tx, sessionId: string): Promise<boolean> {
  const row = await tx.selectFrom('sessions').select('ended_at').where('id', '=', sessionId).executeTakeFirst();
  return Boolean(row?.ended_at);
}

export type EndReason = 'signed_out' | 'signed_out_elsewhere' | 'signed_out_everywhere' | 'password_changed' | 'password_reset' | 'mfa_reset' | 'ended_by_admin' | 'user_removed' | 'reused_token';

/** Ends sessions (by id, or every live one of a user but `except`) and revokes their refresh tokens; returns the ids ended. */
export async function endSessions(tx: Tx, which: { sessionIds: string[] } | { userId: string; except?: string }, reason: EndReason): Promise<string[]> {
  let q = tx
    .updateTable('sessions')
    .set({ ended_at: sql`now()`, ended_reason: reason })
    .where('ended_at', 'is', null);
  if ('sessionIds' in which) {
    if (which.sessionIds.length === 0) return [];
    q = q.where('id', 'in', which.sessionIds);
  } else {
    q = q.where('user_id', '=', which.userId);
    if (which.except) q = q.where('id', '<>', which.except);
  }
  const ended = (await q.returning('id').execute()).map((r) => r.id);
  let revoke = tx
    .updateTable('refresh_tokens')
    .set({ revoked_at: sql`now()` })
    .where('revoked_at', 'is', null);
  if ('sessionIds' in which) revoke = revoke.where('family_id', 'in', which.sessionIds);
  else {
    revoke = revoke.where('user_id', '=', which.userId);
    if (which.except) revoke = revoke.where('family_id', '<>', which.except);
  }
  await revoke.execute();
  return ended;
}

/**
 * Ends every session of a user, inside the caller's transaction: the session version moves
 * (access tokens issued before, with or without a session, are refused from now on), every
 * session ends and every refresh token is revoked. The user row is updated first, so it is
 * locked before any refresh token. Returns the new session version. The caller emits the
 * `user` access event after commit, so live sockets close.
 */
export async function endAllSessions(tx: Tx, userId: string, reason: EndReason, set: { password_hash?: string } = {}): Promise<number> {
  const row = await tx
    .updateTable('users')
    .set({ ...set, session_version: sql<number>`session_version + 1`, updated_at: sql`now()` })
    .where('id', '=', userId)
    .returning('session_version')
    .executeTakeFirstOrThrow();
  await endSessions(tx, { userId }, reason);
  return row.session_version;
}

/** A session as listed: live ones only (not ended, refresh not yet expired). */
function liveSessions(tx: Tx, svc: Services, userId: string) {
  return tx
    .selectFrom('sessions')
    .select(['id', 'method', 'mfa', 'user_agent', 'ip', 'last_ip', 'created_at', 'last_used_at'])
    .where('user_id', '=', userId)
    .where('ended_at', 'is', null)
    .where('last_used_at', '>', sql<Date>`now() - make_interval(secs => ${svc.refreshTtlSeconds})`)
    .orderBy('last_used_at', 'desc')
    .limit(200)
    .execute();
}

function present(r: Awaited<ReturnType<typeof liveSessions>>[number], current: string | undefined): SessionInfo {
  return {
    id: r.id,
    method: r.method,
    mfa: r.mfa,
    userAgent: r.user_agent,
    ip: r.ip,
    lastIp: r.last_ip,
    createdAt: new Date(r.created_at).toISOString(),
    lastUsedAt: new Date(r.last_used_at).toISOString(),
    current: r.id === current,
  };
}

/** `GET /api/v1/me/sessions`: the caller's signed-in devices, most recently used first. */
export async function listMySessions(svc: Services, principal: Principal, ip: string | null): Promise<SessionList> {
  return withTenant(svc.store.db, principal.tenantId, async (tx) => {
    const actor = await loadActor(tx, principal, ip);
    return { sessions: (await liveSessions(tx, svc, actor.userId)).map((r) => present(r, principal.sessionId)) };
  });
}

/** `DELETE /api/v1/me/sessions/:id`: signs one of the caller's sessions out (this one included). */
export async function endMySession(svc: Services, principal: Principal, ip: string | null, sessionId: string): Promise<void> {
  await withTenant(svc.store.db, principal.tenantId, async (tx) => {
    const actor = await loadActor(tx, principal, ip);
    await tx.selectFrom('users').select('id').where('id', '=', actor.userId).forUpdate().execute();
    const own = await tx.selectFrom('sessions').select('id').where('id', '=', sessionId).where('user_id', '=', actor.userId).where('ended_at', 'is', null).executeTakeFirst();
    if (!own) throw notFound('session');
    await endSessions(tx, { sessionIds: [sessionId] }, sessionId === principal.sessionId ? 'signed_out' : 'signed_out_elsewhere');
    await audit(tx, { tenantId: actor.tenantId, actorId: actor.userId, action: 'session.end', targetType: 'session', targetId: sessionId, ip });
  });
  svc.accessEvents.emit({ type: 'user', tenantId: principal.tenantId, userId: principal.userId });
}

/** `DELETE /api/v1/me/sessions`: signs out every session of the caller but this one. */
export async function endMyOtherSessions(svc: Services, principal: Principal, ip: string | null): Promise<EndedSessions> {
  const ended = await withTenant(svc.store.db, principal.tenantId, async (tx) => {
    const actor = await loadActor(tx, principal, ip);
    await tx.selectFrom('users').select('id').where('id', '=', actor.userId).forUpdate().execute();
    const ids = await endSessions(tx, principal.sessionId ? { userId: actor.userId, except: principal.sessionId } : { userId: actor.userId }, 'signed_out_elsewhere');
    await audit(tx, { tenantId: actor.tenantId, actorId: actor.userId, action: 'session.end_others', targetType: 'user', targetId: actor.userId, ip, detail: { ended: ids.length } });
    return ids.length;
  });
  svc.accessEvents.emit({ type: 'user', tenantId: principal.tenantId, userId: principal.userId });
  return { ended };
}

/** `GET /api/v1/users/:id/sessions` (owners and admins): a user's signed-in devices. */
export async function listUserSessions(svc: Services, principal: Principal, ip: string | null, userId: string): Promise<SessionList> {
  return withTenant(svc.store.db, principal.tenantId, async (tx) => {
    const actor = await loadActor(tx, principal, ip);
    if (!isTenantAdmin(actor.role)) throw forbidden('Only owners and admins see other people’s sessions');
    const user = await tx.selectFrom('users').select('id').where('id', '=', userId).where('disabled_at', 'is', null).executeTakeFirst();
    if (!user) throw notFound('user');
    return { sessions: (await liveSessions(tx, svc, userId)).map((r) => present(r, principal.sessionId)) };
  });
}

/**
 * `DELETE /api/v1/users/:id/sessions` (owners and admins): ends every session of a user —
 * their refresh tokens fail, access tokens are refused and live sockets close.
 */
export async function endUserSessions(svc: Services, principal: Principal, ip: string | null, userId: string): Promise<void> {
  await withTenant(svc.store.db, principal.tenantId, async (tx) => {
    const actor = await loadActor(tx, principal, ip);
    if (!isTenantAdmin(actor.role)) throw forbidden('Only owners and admins end other people’s sessions');
    const target = await tx.selectFrom('users').select(['id', 'role']).where('id', '=', userId).where('disabled_at', 'is', null).forUpdate().executeTakeFirst();
    if (!target) throw notFound('user');
    if (target.role === 'owner' && actor.role !== 'owner') throw forbidden('Only an owner can end the sessions of an owner');
    const version = await endAllSessions(tx, userId, 'ended_by_admin');
    await audit(tx, { tenantId: actor.tenantId, actorId: actor.userId, action: 'user.sessions_ended', targetType: 'user', targetId: userId, ip, detail: { sessionVersion: version } });
  });
  svc.accessEvents.emit({ type: 'user', tenantId: principal.tenantId, userId });
}
