/**
 * Two-factor sign-in with TOTP (migration 0022, `core/totp.ts`).
 *
 * Enrolment from the account page: `enrol` makes a secret (kept sealed as pending) and
 * answers it with its `otpauth://` URI; `confirm` with a first code turns MFA on and answers
 * ten recovery codes, shown once. Recovery codes can be made again (with a code); MFA can be
 * turned off (with a code) unless the workspace requires it; an admin resets a user's MFA,
 * which ends every session of theirs.
 *
 * Sign-in: a right password for a user with MFA answers 401 `mfa_required` with a challenge
 * (`details: MfaChallenge`); `POST /api/v1/auth/mfa` with the challenge and a code (or a
 * recovery code) starts the session. When the workspace requires MFA and the user has none,
 * the answer is `mfa_enrollment_required`: the challenge enrols (`/auth/mfa/enrol`, then
 * `/auth/mfa/enrol/confirm`, which starts the session and answers the recovery codes). A
 * challenge lives five minutes, takes five wrong codes and is used once; a code works once.
 *
 * Every change and every refused code is audited.
 */
import crypto from 'node:crypto';
import { sql } from 'kysely';
import type { MfaChallenge, MfaEnrolled, MfaEnrolment, MfaStatus, RecoveryCodes, Session } from '../../contract/api.js';
import { withTenant, type Tx } from '../../db/store.js';
import { AppError, badRequest, conflict, forbidden, notFound, unauthorized } from '../../lib/errors.js';
import { isTenantAdmin, loadActor, type Actor } from '../../core/actor.js';
import type { Principal } from '../../core/tokens.js';
import { acceptTotp, isRecoveryCode, newRecoveryCodes, newTotpSecret, otpauthUri, recoveryCodeHash } from '../../core/totp.js';
import type { Services } from '../services.js';
import { audit } from './audit.js';
import { passwordLoginPolicy, ssoRequired } from './sso.js';
import { endAllSessions, hashToken, sessionAnswer, startSession, type Device } from './sessions.js';

const CHALLENGE_PREFIX = 'qmc_';
const CHALLENGE_TTL_MS = 5 * 60_000;
/** Wrong codes a challenge takes before it is spent. */
export const CHALLENGE_MAX_ATTEMPTS = 5;
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** The issuer an authenticator app shows beside the account. */
const ISSUER = 'Quire';

const sealAad = (tenantId: string, userId: string) => `totp:${tenantId}:${userId}`;

function parseChallenge(token: string): { tenantId: string } | null {
  if (!token.startsWith(CHALLENGE_PREFIX)) return null;
  const [tenantId, secret] = token.slice(CHALLENGE_PREFIX.length).split('.');
  if (!tenantId || !secret || !UUID_RE.test(tenantId) || !/^[A-Za-z0-9_-]{43}$/.test(secret)) return null;
  return { tenantId };
}

const invalidChallenge = () => unauthorized('This sign-in step has expired or was already used; sign in again', 'invalid_mfa_challenge');
const invalidCode = () => unauthorized('That code is not right, or was already used', 'invalid_mfa_code');

/**
 * What a right password leads to, inside login's transaction: nothing more (null), or a
 * challenge — to verify a code, or to enrol when the workspace requires MFA.
 */
export async function mfaGate(svc: Services, tx: Tx, p: { tenantId: string; userId: string; mfaEnabled: boolean }): Promise<AppError | null> {
  let purpose: 'verify' | 'enrol';
  if (p.mfaEnabled) purpose = 'verify';
  else {
    const tenant = await tx.selectFrom('tenants').select('mfa_required').where('id', '=', p.tenantId).executeTakeFirstOrThrow();
    if (!tenant.mfa_required) return null;
    purpose = 'enrol';
  }
  const token = `${CHALLENGE_PREFIX}${p.tenantId}.${crypto.randomBytes(32).toString('base64url')}`;
  const expiresAt = new Date(Date.now() + CHALLENGE_TTL_MS);
  await tx
    .insertInto('mfa_challenges')
    .values({ tenant_id: p.tenantId, user_id: p.userId, token_hash: hashToken(token), purpose, expires_at: expiresAt })
    .execute();
  const details: MfaChallenge = { challenge: token, expiresAt: expiresAt.toISOString() };
  return purpose === 'verify'
    ? new AppError(401, 'mfa_required', 'Enter the code from your authenticator app', details)
    : new AppError(401, 'mfa_enrollment_required', 'This workspace requires two-factor sign-in: set it up to continue', details);
}

interface ChallengeRow {
  id: string;
  user_id: string;
  purpose: 'verify' | 'enrol';
  pending_secret: string | null;
  attempts: number;
}

/** The challenge, locked, if it is live and of this purpose; the user row locked first (lock order). */
async function liveChallenge(tx: Tx, token: string, purpose: 'verify' | 'enrol'): Promise<ChallengeRow> {
  const hash = hashToken(token);
  const owner = await tx.selectFrom('mfa_challenges').select('user_id').where('token_hash', '=', hash).executeTakeFirst();
  if (!owner) throw invalidChallenge();
  await tx.selectFrom('users').select('id').where('id', '=', owner.user_id).forUpdate().execute();
  const row = await tx
    .selectFrom('mfa_challenges')
    .select(['id', 'user_id', 'purpose', 'pending_secret', 'attempts'])
    .where('token_hash', '=', hash)
    .where('used_at', 'is', null)
    .where('expires_at', '>', sql<Date>`now()`)
    .where('attempts', '<', CHALLENGE_MAX_ATTEMPTS)
    .forUpdate()
    .executeTakeFirst();
  if (!row || row.purpose !== purpose) throw invalidChallenge();
  return row;
}

/** The workspace a challenge names (in clear, as refresh tokens do); a malformed one is refused. */
function challengeTenant(token: string): string {
  const parsed = parseChallenge(token);
  if (!parsed) throw invalidChallenge();
  return parsed.tenantId;
}

/** A live challenge of this purpose and its user, who must still be active. */
async function openChallenge(tx: Tx, token: string, purpose: 'verify' | 'enrol'): Promise<{ challenge: ChallengeRow; user: MfaUser }> {
  const challenge = await liveChallenge(tx, token, purpose);
  const user = await mfaUser(tx, challenge.user_id);
  if (!user || user.disabled_at) throw unauthorized('This account is no longer active', 'account_inactive');
  return { challenge, user };
}

/** The last of a sign-in's second step: the challenge is used up, the session starts, the sign-in is audited. */
async function finishChallenge(
  svc: Services,
  tx: Tx,
  p: { tenantId: string; challengeId: string; userId: string; device: Device; mfa: 'totp' | 'recovery'; breakGlass: boolean },
): Promise<{ sessionId: string; refreshToken: string }> {
  await tx
    .updateTable('mfa_challenges')
    .set({ used_at: sql`now()` })
    .where('id', '=', p.challengeId)
    .execute();
  const session = await startSession(svc, tx, { tenantId: p.tenantId, userId: p.userId, ip: p.device.ip, userAgent: p.device.userAgent, method: 'password', mfa: true });
  await audit(tx, {
    tenantId: p.tenantId,
    actorId: p.userId,
    action: 'auth.login',
    targetType: 'user',
    targetId: p.userId,
    ip: p.device.ip,
    detail: { mfa: p.mfa, ...(p.breakGlass ? { breakGlass: true } : {}) },
  });
  return session;
}

interface MfaUser {
  id: string;
  email: string;
  role: Actor['role'];
  session_version: number;
  mfa_secret: string | null;
  mfa_last_step: string | null;
  disabled_at: Date | null;
}

async function mfaUser(tx: Tx, userId: string): Promise<MfaUser | undefined> {
  return tx.selectFrom('users').select(['id', 'email', 'role', 'session_version', 'mfa_secret', 'mfa_last_step', 'disabled_at']).where('id', '=', userId).executeTakeFirst();
}

/**
 * Checks a TOTP code (or, with `recovery`, a recovery code) for a user whose row the caller
 * locked; a right one is used up (its step recorded, or the recovery code marked).
 */
async function useCode(svc: Services, tx: Tx, tenantId: string, user: Pick<MfaUser, 'id' | 'mfa_secret' | 'mfa_last_step'>, code: string, recovery: boolean): Promise<'totp' | 'recovery' | null> {
  if (!user.mfa_secret) return null;
  if (recovery && isRecoveryCode(code)) {
    const used = await tx
      .updateTable('mfa_recovery_codes')
      .set({ used_at: sql`now()` })
      .where('user_id', '=', user.id)
      .where('code_hash', '=', recoveryCodeHash(code))
      .where('used_at', 'is', null)
      .returning('id')
      .executeTakeFirst();
    return used ? 'recovery' : null;
  }
  const secret = svc.secrets.open(user.mfa_secret, sealAad(tenantId, user.id));
  const step = acceptTotp(secret, code, user.mfa_last_step === null ? null : Number(user.mfa_last_step));
  if (step === null) return null;
  await tx.updateTable('users').set({ mfa_last_step: step }).where('id', '=', user.id).execute();
  return 'totp';
}

async function storeRecoveryCodes(tx: Tx, tenantId: string, userId: string): Promise<string[]> {
  const codes = newRecoveryCodes();
  await tx.deleteFrom('mfa_recovery_codes').where('user_id', '=', userId).execute();
  await tx
    .insertInto('mfa_recovery_codes')
    .values(codes.map((c) => ({ tenant_id: tenantId, user_id: userId, code_hash: recoveryCodeHash(c) })))
    .execute();
  return codes;
}

/** A wrong code spends one attempt of the challenge (its own transaction: the failed one rolls back). */
async function spendAttempt(svc: Services, tenantId: string, challengeId: string, userId: string, device: Device): Promise<void> {
  await withTenant(svc.store.db, tenantId, async (tx) => {
    await tx
      .updateTable('mfa_challenges')
      .set({ attempts: sql<number>`attempts + 1` })
      .where('id', '=', challengeId)
      .execute();
    await audit(tx, { tenantId, actorId: null, action: 'auth.mfa_failed', targetType: 'user', targetId: userId, ip: device.ip });
  });
}

/** `POST /api/v1/auth/mfa`: the second step of a sign-in; answers the session. */
export async function verifyMfa(svc: Services, props: { challenge: string; code: string } & Device): Promise<Session> {
  const tenantId = challengeTenant(props.challenge);
  const outcome = await withTenant(svc.store.db, tenantId, async (tx) => {
    const { challenge, user } = await openChallenge(tx, props.challenge, 'verify');
    // Single sign-on made mandatory between the password and the code: only owners go on.
    const policy = await passwordLoginPolicy(tx, user.role);
    if (policy === 'sso_required') throw ssoRequired();
    const used = await useCode(svc, tx, tenantId, user, props.code, true);
    if (!used) return { ok: false as const, challengeId: challenge.id, userId: user.id };
    const session = await finishChallenge(svc, tx, { tenantId, challengeId: challenge.id, userId: user.id, device: props, mfa: used, breakGlass: policy === 'break_glass' });
    return { ok: true as const, session, user };
  });
  if (!outcome.ok) {
    await spendAttempt(svc, tenantId, outcome.challengeId, outcome.userId, props);
    throw invalidCode();
  }
  const { session, user } = outcome;
  return sessionAnswer(svc, { tenantId, ...session, sessionVersion: user.session_version, user });
}

/** `POST /api/v1/auth/mfa/enrol`: the secret for an enrolment challenge (the same one each time it is asked). */
export async function challengeEnrolment(svc: Services, props: { challenge: string }): Promise<MfaEnrolment> {
  const tenantId = challengeTenant(props.challenge);
  return withTenant(svc.store.db, tenantId, async (tx) => {
    const { challenge, user } = await openChallenge(tx, props.challenge, 'enrol');
    const aad = sealAad(tenantId, user.id);
    let secret: string;
    if (challenge.pending_secret) secret = svc.secrets.open(challenge.pending_secret, aad);
    else {
      secret = newTotpSecret();
      await tx
        .updateTable('mfa_challenges')
        .set({ pending_secret: svc.secrets.seal(secret, aad) })
        .where('id', '=', challenge.id)
        .execute();
    }
    return { secret, otpauthUri: otpauthUri(secret, user.email, ISSUER) };
  });
}

/** `POST /api/v1/auth/mfa/enrol/confirm`: turns MFA on with a first code and starts the session. */
export async function confirmChallengeEnrolment(svc: Services, props: { challenge: string; code: string } & Device): Promise<MfaEnrolled> {
  const tenantId = challengeTenant(props.challenge);
  const outcome = await withTenant(svc.store.db, tenantId, async (tx) => {
    const { challenge, user } = await openChallenge(tx, props.challenge, 'enrol');
    if (!challenge.pending_secret) throw badRequest('mfa_not_enabled', 'Ask for the secret first (POST /api/v1/auth/mfa/enrol)');
    const policy = await passwordLoginPolicy(tx, user.role);
    if (policy === 'sso_required') throw ssoRequired();
    const step = acceptTotp(svc.secrets.open(challenge.pending_secret, sealAad(tenantId, user.id)), props.code, null);
    if (step === null) return { ok: false as const, challengeId: challenge.id, userId: user.id };
    await tx
      .updateTable('users')
      .set({ mfa_secret: challenge.pending_secret, mfa_enabled_at: sql`now()`, mfa_last_step: step, mfa_pending_secret: null, updated_at: sql`now()` })
      .where('id', '=', user.id)
      .execute();
    const recoveryCodes = await storeRecoveryCodes(tx, tenantId, user.id);
    await audit(tx, { tenantId, actorId: user.id, action: 'mfa.enabled', targetType: 'user', targetId: user.id, ip: props.ip });
    const session = await finishChallenge(svc, tx, { tenantId, challengeId: challenge.id, userId: user.id, device: props, mfa: 'totp', breakGlass: policy === 'break_glass' });
    return { ok: true as const, session, user, recoveryCodes };
  });
  if (!outcome.ok) {
    await spendAttempt(svc, tenantId, outcome.challengeId, outcome.userId, props);
    throw invalidCode();
  }
  const { session, user, recoveryCodes } = outcome;
  return { ...(await sessionAnswer(svc, { tenantId, ...session, sessionVersion: user.session_version, user })), recoveryCodes };
}

// ---- the account page ----------------------------------------------------------------

/** `GET /api/v1/me/mfa`. */
export async function mfaStatus(svc: Services, principal: Principal, ip: string | null): Promise<MfaStatus> {
  return withTenant(svc.store.db, principal.tenantId, async (tx) => {
    const actor = await loadActor(tx, principal, ip);
    const user = await tx.selectFrom('users').select(['mfa_enabled_at']).where('id', '=', actor.userId).executeTakeFirstOrThrow();
    const tenant = await tx.selectFrom('tenants').select('mfa_required').where('id', '=', actor.tenantId).executeTakeFirstOrThrow();
    const left = await tx
      .selectFrom('mfa_recovery_codes')
      .select(sql<string>`count(*)`.as('n'))
      .where('user_id', '=', actor.userId)
      .where('used_at', 'is', null)
      .executeTakeFirstOrThrow();
    return {
      enabled: user.mfa_enabled_at !== null,
      enabledAt: user.mfa_enabled_at ? new Date(user.mfa_enabled_at).toISOString() : null,
      recoveryCodesLeft: user.mfa_enabled_at ? Number(left.n) : 0,
      requiredByWorkspace: tenant.mfa_required,
    };
  });
}

/** `POST /api/v1/me/mfa/enrol`: a new secret to enrol (replacing one not yet confirmed). */
export async function startEnrolment(svc: Services, principal: Principal, ip: string | null): Promise<MfaEnrolment> {
  return withTenant(svc.store.db, principal.tenantId, async (tx) => {
    const actor = await loadActor(tx, principal, ip);
    const user = await tx.selectFrom('users').select(['mfa_enabled_at']).where('id', '=', actor.userId).forUpdate().executeTakeFirstOrThrow();
    if (user.mfa_enabled_at) throw conflict('mfa_already_enabled', 'Two-factor sign-in is already on; turn it off first to enrol another device');
    const secret = newTotpSecret();
    await tx
      .updateTable('users')
      .set({ mfa_pending_secret: svc.secrets.seal(secret, sealAad(actor.tenantId, actor.userId)) })
      .where('id', '=', actor.userId)
      .execute();
    return { secret, otpauthUri: otpauthUri(secret, actor.email, ISSUER) };
  });
}

/** `POST /api/v1/me/mfa/confirm`: a first code from the app turns MFA on; answers the recovery codes (shown once). */
export async function confirmEnrolment(svc: Services, principal: Principal, ip: string | null, props: { code: string }): Promise<RecoveryCodes> {
  const result = await withTenant(svc.store.db, principal.tenantId, async (tx) => {
    const actor = await loadActor(tx, principal, ip);
    const user = await tx.selectFrom('users').select(['mfa_enabled_at', 'mfa_pending_secret']).where('id', '=', actor.userId).forUpdate().executeTakeFirstOrThrow();
    if (user.mfa_enabled_at) throw conflict('mfa_already_enabled', 'Two-factor sign-in is already on');
    if (!user.mfa_pending_secret) throw badRequest('mfa_not_enabled', 'Start the set-up first (POST /api/v1/me/mfa/enrol)');
    const step = acceptTotp(svc.secrets.open(user.mfa_pending_secret, sealAad(actor.tenantId, actor.userId)), props.code, null);
    if (step === null) return null;
    await tx
      .updateTable('users')
      .set({ mfa_secret: user.mfa_pending_secret, mfa_pending_secret: null, mfa_enabled_at: sql`now()`, mfa_last_step: step, updated_at: sql`now()` })
      .where('id', '=', actor.userId)
      .execute();
    const recoveryCodes = await storeRecoveryCodes(tx, actor.tenantId, actor.userId);
    // This session has just shown the second factor.
    if (principal.sessionId) await tx.updateTable('sessions').set({ mfa: true }).where('id', '=', principal.sessionId).execute();
    await audit(tx, { tenantId: actor.tenantId, actorId: actor.userId, action: 'mfa.enabled', targetType: 'user', targetId: actor.userId, ip });
    return { recoveryCodes };
  });
  if (!result) throw invalidCode();
  return result;
}

/** Runs `fn` for the caller with their row locked, after a right code (TOTP, or a recovery code when allowed); a wrong one is audited. */
async function withCode<T>(svc: Services, principal: Principal, ip: string | null, code: string, recovery: boolean, fn: (tx: Tx, actor: Actor) => Promise<T>): Promise<T> {
  const outcome = await withTenant(svc.store.db, principal.tenantId, async (tx) => {
    const actor = await loadActor(tx, principal, ip);
    const user = await tx.selectFrom('users').select(['id', 'mfa_secret', 'mfa_last_step']).where('id', '=', actor.userId).forUpdate().executeTakeFirstOrThrow();
    if (!user.mfa_secret) throw badRequest('mfa_not_enabled', 'Two-factor sign-in is not on');
    if (!(await useCode(svc, tx, actor.tenantId, user, code, recovery))) return { ok: false as const };
    return { ok: true as const, value: await fn(tx, actor) };
  });
  if (!outcome.ok) {
    await withTenant(svc.store.db, principal.tenantId, (tx) =>
      audit(tx, { tenantId: principal.tenantId, actorId: principal.userId, action: 'mfa.code_refused', targetType: 'user', targetId: principal.userId, ip }),
    );
    throw invalidCode();
  }
  return outcome.value;
}

/** `POST /api/v1/me/mfa/recovery-codes`: ten new recovery codes (the old ones stop working); needs a code from the app. */
export async function regenerateRecoveryCodes(svc: Services, principal: Principal, ip: string | null, props: { code: string }): Promise<RecoveryCodes> {
  return withCode(svc, principal, ip, props.code, false, async (tx, actor) => {
    const recoveryCodes = await storeRecoveryCodes(tx, actor.tenantId, actor.userId);
    await audit(tx, { tenantId: actor.tenantId, actorId: actor.userId, action: 'mfa.recovery_codes_regenerated', targetType: 'user', targetId: actor.userId, ip });
    return { recoveryCodes };
  });
}

async function clearMfa(tx: Tx, userId: string): Promise<void> {
  await tx
    .updateTable('users')
    .set({ mfa_secret: null, mfa_enabled_at: null, mfa_last_step: null, mfa_pending_secret: null, updated_at: sql`now()` })
    .where('id', '=', userId)
    .execute();
  await tx.deleteFrom('mfa_recovery_codes').where('user_id', '=', userId).execute();
}

/** `DELETE /api/v1/me/mfa` with a code (or a recovery code): turns MFA off, unless the workspace requires it. */
export async function disableMfa(svc: Services, principal: Principal, ip: string | null, props: { code: string }): Promise<void> {
  await withCode(svc, principal, ip, props.code, true, async (tx, actor) => {
    const tenant = await tx.selectFrom('tenants').select('mfa_required').where('id', '=', actor.tenantId).executeTakeFirstOrThrow();
    if (tenant.mfa_required) throw forbidden('This workspace requires two-factor sign-in', 'mfa_required_by_workspace');
    await clearMfa(tx, actor.userId);
    await audit(tx, { tenantId: actor.tenantId, actorId: actor.userId, action: 'mfa.disabled', targetType: 'user', targetId: actor.userId, ip });
  });
}

// ---- admins ----------------------------------------------------------------------------

/**
 * `DELETE /api/v1/users/:id/mfa` (owners and admins; only an owner resets an owner's):
 * turns a user's MFA off — they lost their device — and ends every session of theirs. They
 * enrol again at their next sign-in if the workspace requires it.
 */
export async function resetUserMfa(svc: Services, principal: Principal, ip: string | null, userId: string): Promise<void> {
  await withTenant(svc.store.db, principal.tenantId, async (tx) => {
    const actor = await loadActor(tx, principal, ip);
    if (!isTenantAdmin(actor.role)) throw forbidden('Only owners and admins reset two-factor sign-in');
    const target = await tx.selectFrom('users').select(['id', 'role', 'mfa_enabled_at']).where('id', '=', userId).where('disabled_at', 'is', null).forUpdate().executeTakeFirst();
    if (!target) throw notFound('user');
    if (target.role === 'owner' && actor.role !== 'owner') throw forbidden('Only an owner can reset an owner’s two-factor sign-in');
    if (!target.mfa_enabled_at) throw badRequest('mfa_not_enabled', 'This user has no two-factor sign-in to reset');
    await clearMfa(tx, userId);
    const version = await endAllSessions(tx, userId, 'mfa_reset');
    await audit(tx, { tenantId: actor.tenantId, actorId: actor.userId, action: 'mfa.reset', targetType: 'user', targetId: userId, ip, detail: { sessionVersion: version } });
  });
  svc.accessEvents.emit({ type: 'user', tenantId: principal.tenantId, userId });
}

/**
 * `PUT /api/v1/workspace/mfa {required}` (owners and admins). Requiring MFA needs the caller
 * to have it on (so the one who requires it is not the first one locked into enrolling), and
 * ends the password sessions of everyone without it: they enrol at their next sign-in.
 * Sessions started through single sign-on are left alone (the identity provider owns their
 * second factor).
 */
export async function setWorkspaceMfa(svc: Services, principal: Principal, ip: string | null, props: { required: boolean }): Promise<{ required: boolean; sessionsEnded: number }> {
  const { affected, ended } = await withTenant(svc.store.db, principal.tenantId, async (tx) => {
    const actor = await loadActor(tx, principal, ip);
    if (!isTenantAdmin(actor.role)) throw forbidden('Only owners and admins change the workspace');
    const tenant = await tx.selectFrom('tenants').select('mfa_required').where('id', '=', actor.tenantId).forUpdate().executeTakeFirstOrThrow();
    if (tenant.mfa_required === props.required) return { affected: [], ended: 0 };
    if (props.required) {
      const me = await tx.selectFrom('users').select('mfa_enabled_at').where('id', '=', actor.userId).executeTakeFirstOrThrow();
      if (!me.mfa_enabled_at) throw badRequest('mfa_not_enabled', 'Turn on two-factor sign-in for yourself first');
    }
    await tx.updateTable('tenants').set({ mfa_required: props.required }).where('id', '=', actor.tenantId).execute();
    let affected: string[] = [];
    let ended = 0;
    if (props.required) {
      const rows = await tx
        .updateTable('sessions')
        .set({ ended_at: sql`now()`, ended_reason: 'mfa_required' })
        .where('ended_at', 'is', null)
        .where('method', '<>', 'sso')
        .where('user_id', 'in', (q) => q.selectFrom('users').select('id').where('mfa_enabled_at', 'is', null))
        .returning(['id', 'user_id'])
        .execute();
      if (rows.length > 0) {
        await tx
          .updateTable('refresh_tokens')
          .set({ revoked_at: sql`now()` })
          .where('revoked_at', 'is', null)
          .where(
            'family_id',
            'in',
            rows.map((r) => r.id),
          )
          .execute();
      }
      affected = [...new Set(rows.map((r) => r.user_id))];
      ended = rows.length;
    }
    await audit(tx, {
      tenantId: actor.tenantId,
      actorId: actor.userId,
      action: 'workspace.mfa_required',
      targetType: 'tenant',
      targetId: actor.tenantId,
      ip,
      detail: { required: props.required, sessionsEnded: ended },
    });
    return { affected, ended };
  });
  for (const userId of affected) svc.accessEvents.emit({ type: 'user', tenantId: principal.tenantId, userId });
  return { required: props.required, sessionsEnded: ended };
}
