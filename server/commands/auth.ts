/**
 * Sign-up, login, refresh-token rotation, logout, and ending every session of a user
 * (signing out everywhere, changing the password).
 *
 * Refresh tokens are `qrt_<tenantId>.<32 random bytes, base64url>`, stored as a SHA-256
 * hash. Each login starts a family; each refresh marks the presented token used and issues
 * the next one in the family. Presenting a used token again means it was stolen or
 * replayed: the whole family is revoked and the request fails.
 *
 * Ending every session bumps the user's session version (migration 0012) and revokes all
 * their refresh tokens in one transaction; access tokens carry the version they were issued
 * at and are refused below the current one (`core/actor.ts`, the sync tier). Everything that
 * issues or ends sessions takes the user row's lock before touching refresh tokens — ending
 * sessions updates the row, login and refresh read it `FOR SHARE` — so a refresh or login
 * racing an end of sessions either finishes first (and the revocation sees the token it
 * issued) or waits for it (and finds its token revoked, or the password changed).
 */
import crypto from 'node:crypto';
import { sql } from 'kysely';
import type { ChangePasswordRequest, LoginRequest, Session, SignupRequest, TenantRole } from '../../contract/api.js';
import { withTenant, type Tx } from '../../db/store.js';
import { badRequest, conflict, forbidden, unauthorized, type AppError } from '../../lib/errors.js';
import { assertStrongPassword } from '../../lib/password-strength.js';
import { loadActor } from '../../core/actor.js';
import type { Principal } from '../../core/tokens.js';
import type { Services } from '../services.js';
import { audit } from './audit.js';
import { mfaGate } from './mfa.js';
import { passwordLoginPolicy, ssoRequired } from './sso.js';
import { endAllSessions, endSessions, hashToken, issueRefreshToken, parseRefreshToken, sessionAnswer, sessionEnded, startSession, touchSession, type Device } from './sessions.js';

function isUniqueViolation(e: unknown, constraint?: string): boolean {
  const err = e as { code?: string; constraint?: string; message?: string };
  if (err?.code !== '23505') return false;
  return !constraint || err.constraint === constraint || Boolean(err.message?.includes(constraint));
}

export async function signup(svc: Services, props: SignupRequest & Device): Promise<Session> {
  await assertStrongPassword(props.password, [props.email, props.tenant]);
  const passwordHash = await svc.passwords.hash(props.password);
  const tenantId = crypto.randomUUID();
  const email = props.email.toLowerCase();
  try {
    const { user, sessionId, refreshToken } = await withTenant(svc.store.db, tenantId, async (tx) => {
      await tx.insertInto('tenants').values({ id: tenantId, name: props.tenant }).execute();
      const user = await tx
        .insertInto('users')
        .values({ tenant_id: tenantId, email, password_hash: passwordHash, role: 'owner', display_name: null })
        .returning(['id', 'email', 'role'])
        .executeTakeFirstOrThrow();
      const started = await startSession(svc, tx, { tenantId, userId: user.id, ip: props.ip, userAgent: props.userAgent, method: 'signup' });
      await audit(tx, { tenantId, actorId: user.id, action: 'auth.signup', targetType: 'tenant', targetId: tenantId, ip: props.ip });
      return { user, ...started };
    });
    return await sessionAnswer(svc, { tenantId, sessionId, refreshToken, sessionVersion: 0, user });
  } catch (e) {
    if (isUniqueViolation(e, 'users_email_key')) throw conflict('email_taken', 'An account with this email already exists');
    throw e;
  }
}

export async function login(svc: Services, props: LoginRequest & Device): Promise<Session> {
  const found = await sql<{ tenant_id: string; user_id: string }>`select * from quire_login_lookup(${props.email})`.execute(svc.store.db);
  const ref = found.rows[0];
  if (!ref) {
    await svc.passwords.dummyVerify(props.password);
    throw unauthorized('Email or password is wrong', 'invalid_credentials');
  }
  const user = await withTenant(svc.store.db, ref.tenant_id, (tx) =>
    tx.selectFrom('users').select(['id', 'email', 'role', 'password_hash', 'disabled_at']).where('id', '=', ref.user_id).executeTakeFirst(),
  );
  const ok = user && !user.disabled_at ? await svc.passwords.verify(props.password, user.password_hash) : false;
  if (!user || !ok) {
    await withTenant(svc.store.db, ref.tenant_id, (tx) => audit(tx, { tenantId: ref.tenant_id, actorId: null, action: 'auth.login_failed', targetType: 'user', targetId: ref.user_id, ip: props.ip }));
    throw unauthorized('Email or password is wrong', 'invalid_credentials');
  }
  const started = await withTenant(svc.store.db, ref.tenant_id, async (tx) => {
    // Read again under the row's lock: a password changed (or an account disabled) while the
    // old one was being verified starts no session.
    const current = await tx.selectFrom('users').select(['email', 'role', 'password_hash', 'disabled_at', 'session_version', 'mfa_enabled_at']).where('id', '=', user.id).forShare().executeTakeFirst();
    if (!current || current.disabled_at || current.password_hash !== user.password_hash) return null;
    // Mandatory single sign-on: only owners sign in with a password (the break-glass way in).
    const sso = await passwordLoginPolicy(tx, current.role);
    if (sso === 'sso_required') {
      await audit(tx, { tenantId: ref.tenant_id, actorId: null, action: 'auth.login_failed', targetType: 'user', targetId: user.id, ip: props.ip, detail: { reason: 'sso_required' } });
      return 'sso_required' as const;
    }
    // A second factor: the answer is a challenge (mfa_required, or mfa_enrollment_required), not a session yet.
    const challenge = await mfaGate(svc, tx, { tenantId: ref.tenant_id, userId: user.id, mfaEnabled: current.mfa_enabled_at !== null });
    if (challenge) return { challenge };
    const session = await startSession(svc, tx, { tenantId: ref.tenant_id, userId: user.id, ip: props.ip, userAgent: props.userAgent, method: 'password' });
    await audit(tx, {
      tenantId: ref.tenant_id,
      actorId: user.id,
      action: 'auth.login',
      targetType: 'user',
      targetId: user.id,
      ip: props.ip,
      ...(sso === 'break_glass' ? { detail: { breakGlass: true } } : {}),
    });
    return { ...session, user: current };
  });
  if (!started) throw unauthorized('Email or password is wrong', 'invalid_credentials');
  if (started === 'sso_required') throw ssoRequired();
  if ('challenge' in started) throw started.challenge;
  const { user: current, ...session } = started;
  return sessionAnswer(svc, { tenantId: ref.tenant_id, ...session, sessionVersion: current.session_version, user: { id: user.id, email: current.email, role: current.role } });
}

type RefreshOutcome =
  { ok: true; session: { refreshToken: string; sessionId: string; user: { id: string; email: string; role: TenantRole } }; sessionVersion: number } | { ok: false; error: AppError };

export async function refresh(svc: Services, props: { refreshToken: string } & Device): Promise<Session> {
  const parsed = parseRefreshToken(props.refreshToken);
  if (!parsed) throw unauthorized('Invalid refresh token', 'invalid_refresh_token');
  const { tenantId } = parsed;
  const tokenHash = hashToken(props.refreshToken);
  const outcome = await withTenant(svc.store.db, tenantId, async (tx): Promise<RefreshOutcome> => {
    // The token's user first, locked against an end of their sessions (see the top of this file).
    const owner = await tx
      .selectFrom('refresh_tokens as t')
      .innerJoin('users as u', 'u.id', 't.user_id')
      .select(['u.id', 'u.email', 'u.role', 'u.disabled_at', 'u.session_version'])
      .where('t.token_hash', '=', tokenHash)
      .forShare('u')
      .executeTakeFirst();
    // Claim the token atomically: of two concurrent refreshes with one token, one wins.
    let claimed = await tx
      .updateTable('refresh_tokens')
      .set({ used_at: sql`now()` })
      .where('token_hash', '=', tokenHash)
      .where('used_at', 'is', null)
      .where('revoked_at', 'is', null)
      .where('expires_at', '>', sql<Date>`now()`)
      .returning(['user_id', 'family_id'])
      .executeTakeFirst();
    if (!claimed && svc.refreshReuseGraceSeconds > 0) {
      const known = await tx
        .selectFrom('refresh_tokens')
        .select(['family_id', 'user_id', 'used_at', 'revoked_at', sql<boolean>`used_at > clock_timestamp() - make_interval(secs => ${svc.refreshReuseGraceSeconds})`.as('within_grace')])
        .where('token_hash', '=', tokenHash)
        .executeTakeFirst();
      // Used moments ago and the family is intact: a response that never arrived, or two
      // tabs racing. Rotate again rather than log the user out everywhere.
      if (known?.used_at && !known.revoked_at && known.within_grace) {
        claimed = { user_id: known.user_id, family_id: known.family_id };
      }
    }
    if (!claimed) {
      const known = await tx.selectFrom('refresh_tokens').select(['family_id', 'user_id', 'used_at', 'revoked_at']).where('token_hash', '=', tokenHash).executeTakeFirst();
      if (known?.used_at) {
        await endSessions(tx, { sessionIds: [known.family_id] }, 'reused_token');
        await audit(tx, {
          tenantId,
          actorId: known.user_id,
          action: 'auth.refresh_reuse',
          targetType: 'token_family',
          targetId: known.family_id,
          ip: props.ip,
        });
        return { ok: false, error: unauthorized('Refresh token was already used; the session is revoked', 'refresh_token_reused') };
      }
      return { ok: false, error: unauthorized('Invalid or expired refresh token', 'invalid_refresh_token') };
    }
    const user = owner?.id === claimed.user_id ? owner : undefined;
    if (!user || user.disabled_at) {
      return { ok: false, error: unauthorized('This account is no longer active', 'account_inactive') };
    }
    // A token of an ended session never refreshes, even if it escaped the revocation.
    if (await sessionEnded(tx, claimed.family_id)) {
      return { ok: false, error: unauthorized('This session was ended; sign in again', 'session_revoked') };
    }
    const refreshToken = await issueRefreshToken(svc, tx, { tenantId, userId: user.id, sessionId: claimed.family_id, ip: props.ip });
    await touchSession(tx, claimed.family_id, props);
    return { ok: true, session: { refreshToken, sessionId: claimed.family_id, user: { id: user.id, email: user.email, role: user.role } }, sessionVersion: user.session_version };
  });
  if (!outcome.ok) throw outcome.error;
  return sessionAnswer(svc, { tenantId, ...outcome.session, sessionVersion: outcome.sessionVersion });
}

/** Ends the presented token's session (its whole family). Idempotent: an unknown token is a no-op. */
export async function logout(svc: Services, props: { refreshToken: string; ip: string | null }): Promise<void> {
  const parsed = parseRefreshToken(props.refreshToken);
  if (!parsed) return;
  await withTenant(svc.store.db, parsed.tenantId, async (tx) => {
    const row = await tx.selectFrom('refresh_tokens').select(['family_id', 'user_id']).where('token_hash', '=', hashToken(props.refreshToken)).executeTakeFirst();
    if (!row) return;
    await endSessions(tx, { sessionIds: [row.family_id] }, 'signed_out');
    await audit(tx, { tenantId: parsed.tenantId, actorId: row.user_id, action: 'auth.logout', targetType: 'token_family', targetId: row.family_id, ip: props.ip });
  });
}

/** `POST /api/v1/auth/logout-all`: ends every session of the caller, this one included. */
export async function logoutAll(svc: Services, principal: Principal, ip: string | null): Promise<void> {
  await withTenant(svc.store.db, principal.tenantId, async (tx) => {
    const actor = await loadActor(tx, principal, ip);
    const version = await endAllSessions(tx, actor.userId, 'signed_out_everywhere');
    await audit(tx, { tenantId: actor.tenantId, actorId: actor.userId, action: 'auth.logout_all', targetType: 'user', targetId: actor.userId, ip, detail: { sessionVersion: version } });
  });
  svc.accessEvents.emit({ type: 'user', tenantId: principal.tenantId, userId: principal.userId });
}

/**
 * `POST /api/v1/me/password`: checks the current password, sets the new one (which must pass
 * the strength policy), ends every session of the user and starts a new one for the caller.
 * A wrong current password is a 403 (`wrong_password`), not a 401: the caller's session is fine.
 */
export async function changePassword(svc: Services, principal: Principal, device: Device, props: ChangePasswordRequest): Promise<Session> {
  const { ip } = device;
  const db = svc.store.db;
  const tenantId = principal.tenantId;
  const before = await withTenant(db, tenantId, async (tx) => {
    const actor = await loadActor(tx, principal, ip);
    const row = await tx.selectFrom('users').select(['password_hash', 'display_name']).where('id', '=', actor.userId).executeTakeFirstOrThrow();
    return { actor, ...row };
  });
  const userId = before.actor.userId;
  if (props.newPassword === props.currentPassword) throw badRequest('password_unchanged', 'The new password is the same as the current one. Choose a different password.');
  await assertStrongPassword(props.newPassword, [before.actor.email, before.display_name]);
  const wrong = () => forbidden('The current password is not correct', 'wrong_password');
  if (!(await svc.passwords.verify(props.currentPassword, before.password_hash))) {
    await withTenant(db, tenantId, (tx) => audit(tx, { tenantId, actorId: userId, action: 'user.password_change_failed', targetType: 'user', targetId: userId, ip }));
    throw wrong();
  }
  const passwordHash = await svc.passwords.hash(props.newPassword);
  const changed = await withTenant(db, tenantId, async (tx) => {
    // Under the row's lock, again: the account disabled or this session ended meanwhile, or
    // the password changed by another request (the one verified above is no longer current).
    const current = await tx.selectFrom('users').select('password_hash').where('id', '=', userId).forUpdate().executeTakeFirst();
    const actor = await loadActor(tx, principal, ip);
    if (current?.password_hash !== before.password_hash) return null;
    const sessionVersion = await endAllSessions(tx, userId, 'password_changed', { password_hash: passwordHash });
    // Reset links made for the old password stop working with it.
    await tx
      .updateTable('password_resets')
      .set({ used_at: sql`now()` })
      .where('user_id', '=', userId)
      .where('used_at', 'is', null)
      .execute();
    const session = await startSession(svc, tx, { tenantId, userId, ...device, method: 'password', mfa: await sessionHadMfa(tx, principal) });
    await audit(tx, { tenantId, actorId: userId, action: 'user.password_change', targetType: 'user', targetId: userId, ip, detail: { sessionVersion } });
    return { actor, sessionVersion, ...session };
  });
  if (!changed) throw wrong();
  svc.accessEvents.emit({ type: 'user', tenantId, userId });
  const { actor, sessionVersion, ...session } = changed;
  return sessionAnswer(svc, { tenantId, ...session, sessionVersion, user: { id: userId, email: actor.email, role: actor.role } });
}

/** Whether the caller's session passed a second factor (a session started by a password change keeps it). */
async function sessionHadMfa(tx: Tx, principal: Principal): Promise<boolean> {
  if (!principal.sessionId) return false;
  const row = await tx.selectFrom('sessions').select('mfa').where('id', '=', principal.sessionId).executeTakeFirst();
  return row?.mfa ?? false;
}
