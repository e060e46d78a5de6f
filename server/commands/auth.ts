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
import type { ChangePasswordRequest, LoginRequest, Session, SessionUser, SignupRequest } from '../../contract/api.js';
import { withTenant, type Tx } from '../../db/store.js';
import { badRequest, conflict, forbidden, unauthorized, type AppError } from '../../lib/errors.js';
import { assertStrongPassword } from '../../lib/password-strength.js';
import { loadActor } from '../../core/actor.js';
import type { Principal } from '../../core/tokens.js';
import type { Services } from '../services.js';
import { audit } from './audit.js';

const REFRESH_PREFIX = 'qrt_';
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function hashToken(token: string): string {
  return crypto.createHash('sha256').update(token).digest('hex');
}

function parseRefreshToken(token: string): { tenantId: string } | null {
  if (!token.startsWith(REFRESH_PREFIX)) return null;
  const [tenantId, secret] = token.slice(REFRESH_PREFIX.length).split('.');
  if (!tenantId || !secret || !UUID_RE.test(tenantId) || !/^[A-Za-z0-9_-]{43}$/.test(secret)) return null;
  return { tenantId };
}

async function issueRefreshToken(svc: Services, tx: Tx, p: { tenantId: string; userId: string; familyId: string; ip: string | null }): Promise<string> {
  const token = `${REFRESH_PREFIX}${p.tenantId}.${crypto.randomBytes(32).toString('base64url')}`;
  await tx
    .insertInto('refresh_tokens')
    .values({
      tenant_id: p.tenantId,
      user_id: p.userId,
      family_id: p.familyId,
      token_hash: hashToken(token),
      expires_at: new Date(Date.now() + svc.refreshTtlSeconds * 1000),
      ip: p.ip,
    })
    .execute();
  return token;
}

function isUniqueViolation(e: unknown, constraint?: string): boolean {
  const err = e as { code?: string; constraint?: string; message?: string };
  if (err?.code !== '23505') return false;
  return !constraint || err.constraint === constraint || Boolean(err.message?.includes(constraint));
}

export async function signup(svc: Services, props: SignupRequest & { ip: string | null }): Promise<Session> {
  await assertStrongPassword(props.password, [props.email, props.tenant]);
  const passwordHash = await svc.passwords.hash(props.password);
  const tenantId = crypto.randomUUID();
  const email = props.email.toLowerCase();
  try {
    const { user, refreshToken } = await withTenant(svc.store.db, tenantId, async (tx) => {
      await tx.insertInto('tenants').values({ id: tenantId, name: props.tenant }).execute();
      const user = await tx
        .insertInto('users')
        .values({ tenant_id: tenantId, email, password_hash: passwordHash, role: 'owner', display_name: null })
        .returning(['id', 'email', 'role'])
        .executeTakeFirstOrThrow();
      const refreshToken = await issueRefreshToken(svc, tx, {
        tenantId,
        userId: user.id,
        familyId: crypto.randomUUID(),
        ip: props.ip,
      });
      await audit(tx, { tenantId, actorId: user.id, action: 'auth.signup', targetType: 'tenant', targetId: tenantId, ip: props.ip });
      return { user, refreshToken };
    });
    const sessionUser: SessionUser = { id: user.id, email: user.email, tenantId, role: user.role };
    const accessToken = await svc.tokens.signAccess({ userId: user.id, tenantId, role: user.role, sessionVersion: 0 });
    return { accessToken, refreshToken, user: sessionUser };
  } catch (e) {
    if (isUniqueViolation(e, 'users_email_key')) throw conflict('email_taken', 'An account with this email already exists');
    throw e;
  }
}

export async function login(svc: Services, props: LoginRequest & { ip: string | null }): Promise<Session> {
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
    const current = await tx.selectFrom('users').select(['email', 'role', 'password_hash', 'disabled_at', 'session_version']).where('id', '=', user.id).forShare().executeTakeFirst();
    if (!current || current.disabled_at || current.password_hash !== user.password_hash) return null;
    const token = await issueRefreshToken(svc, tx, {
      tenantId: ref.tenant_id,
      userId: user.id,
      familyId: crypto.randomUUID(),
      ip: props.ip,
    });
    await audit(tx, { tenantId: ref.tenant_id, actorId: user.id, action: 'auth.login', targetType: 'user', targetId: user.id, ip: props.ip });
    return { refreshToken: token, user: current };
  });
  if (!started) throw unauthorized('Email or password is wrong', 'invalid_credentials');
  const { refreshToken, user: current } = started;
  const accessToken = await svc.tokens.signAccess({ userId: user.id, tenantId: ref.tenant_id, role: current.role, sessionVersion: current.session_version });
  return { accessToken, refreshToken, user: { id: user.id, email: current.email, tenantId: ref.tenant_id, role: current.role } };
}

type RefreshOutcome = { ok: true; session: Omit<Session, 'accessToken'>; sessionVersion: number } | { ok: false; error: AppError };

export async function refresh(svc: Services, props: { refreshToken: string; ip: string | null }): Promise<Session> {
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
        await tx
          .updateTable('refresh_tokens')
          .set({ revoked_at: sql`now()` })
          .where('family_id', '=', known.family_id)
          .where('revoked_at', 'is', null)
          .execute();
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
    const refreshToken = await issueRefreshToken(svc, tx, {
      tenantId,
      userId: user.id,
      familyId: claimed.family_id,
      ip: props.ip,
    });
    return { ok: true, session: { refreshToken, user: { id: user.id, email: user.email, tenantId, role: user.role } }, sessionVersion: user.session_version };
  });
  if (!outcome.ok) throw outcome.error;
  const { user } = outcome.session;
  const accessToken = await svc.tokens.signAccess({ userId: user.id, tenantId, role: user.role, sessionVersion: outcome.sessionVersion });
  return { accessToken, ...outcome.session };
}

/** Revokes the presented token's whole family. Idempotent: an unknown token is a no-op. */
export async function logout(svc: Services, props: { refreshToken: string; ip: string | null }): Promise<void> {
  const parsed = parseRefreshToken(props.refreshToken);
  if (!parsed) return;
  await withTenant(svc.store.db, parsed.tenantId, async (tx) => {
    const row = await tx.selectFrom('refresh_tokens').select(['family_id', 'user_id']).where('token_hash', '=', hashToken(props.refreshToken)).executeTakeFirst();
    if (!row) return;
    await tx
      .updateTable('refresh_tokens')
      .set({ revoked_at: sql`now()` })
      .where('family_id', '=', row.family_id)
      .where('revoked_at', 'is', null)
      .execute();
    await audit(tx, { tenantId: parsed.tenantId, actorId: row.user_id, action: 'auth.logout', targetType: 'token_family', targetId: row.family_id, ip: props.ip });
  });
}

/**
 * Ends every session of a user, inside the caller's transaction: the session version moves
 * (access tokens issued before are refused from now on) and every refresh token is revoked.
 * The user row is updated first, so it is locked before any refresh token (see the top of
 * this file). Returns the new session version. The caller emits the `user` access event
 * after commit, so live sockets close.
 */
async function endAllSessions(tx: Tx, userId: string, set: { password_hash?: string } = {}): Promise<number> {
  const row = await tx
    .updateTable('users')
    .set({ ...set, session_version: sql<number>`session_version + 1`, updated_at: sql`now()` })
    .where('id', '=', userId)
    .returning('session_version')
    .executeTakeFirstOrThrow();
  await tx
    .updateTable('refresh_tokens')
    .set({ revoked_at: sql`now()` })
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null)
    .execute();
  return row.session_version;
}

/** `POST /api/v1/auth/logout-all`: ends every session of the caller, this one included. */
export async function logoutAll(svc: Services, principal: Principal, ip: string | null): Promise<void> {
  await withTenant(svc.store.db, principal.tenantId, async (tx) => {
    const actor = await loadActor(tx, principal, ip);
    const version = await endAllSessions(tx, actor.userId);
    await audit(tx, { tenantId: actor.tenantId, actorId: actor.userId, action: 'auth.logout_all', targetType: 'user', targetId: actor.userId, ip, detail: { sessionVersion: version } });
  });
  svc.accessEvents.emit({ type: 'user', tenantId: principal.tenantId, userId: principal.userId });
}

/**
 * `POST /api/v1/me/password`: checks the current password, sets the new one (which must pass
 * the strength policy), ends every session of the user and starts a new one for the caller.
 * A wrong current password is a 403 (`wrong_password`), not a 401: the caller's session is fine.
 */
export async function changePassword(svc: Services, principal: Principal, ip: string | null, props: ChangePasswordRequest): Promise<Session> {
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
    const sessionVersion = await endAllSessions(tx, userId, { password_hash: passwordHash });
    const refreshToken = await issueRefreshToken(svc, tx, { tenantId, userId, familyId: crypto.randomUUID(), ip });
    await audit(tx, { tenantId, actorId: userId, action: 'user.password_change', targetType: 'user', targetId: userId, ip, detail: { sessionVersion } });
    return { actor, sessionVersion, refreshToken };
  });
  if (!changed) throw wrong();
  svc.accessEvents.emit({ type: 'user', tenantId, userId });
  const { actor, sessionVersion, refreshToken } = changed;
  const accessToken = await svc.tokens.signAccess({ userId, tenantId, role: actor.role, sessionVersion });
  return { accessToken, refreshToken, user: { id: userId, email: actor.email, tenantId, role: actor.role } };
}
