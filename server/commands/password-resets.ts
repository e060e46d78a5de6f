/**
 * Password reset by a one-time link (`qpr_<tenantId>.<secret>`, stored as its SHA-256 hash).
 *
 * - Asked for by email (`POST /api/v1/auth/password-reset`, no sign-in): the answer is always
 *   202, and it is given *before* any work is done — looking the account up, making the link,
 *   the SMTP conversation all happen afterwards, in the background (a few at a time) — so
 *   neither the answer nor its timing tells whether an account exists. Without `SMTP_URL`
 *   there is nothing to send; the request is audited for the account (`auth.password_reset_requested`,
 *   delivery `none`) so an admin can see it and make a link.
 * - Made by an owner or admin for a user of the workspace (`POST /api/v1/users/:id/password-reset`):
 *   emailed when SMTP is configured — inside the transaction that makes it, so a failed send
 *   leaves no link behind and answers `email_failed` — else answered for the admin to pass on.
 *   Only an owner makes one for an owner.
 * - Used (`POST /api/v1/auth/password-reset/confirm`): once, before it expires, for an active
 *   account. It sets the password, uses every other outstanding link of the user, and ends
 *   every session of the user (refresh tokens revoked, access tokens refused, sockets closed).
 */
import { sql } from 'kysely';
import type { ConfirmPasswordResetRequest, PasswordResetLink } from '../../contract/api.js';
import { isTenantAdmin, loadActor } from '../../core/actor.js';
import type { Principal } from '../../core/tokens.js';
import { withTenant, type Tx } from '../../db/store.js';
import { AppError, badRequest, forbidden, notFound } from '../../lib/errors.js';
import { assertStrongPassword } from '../../lib/password-strength.js';
import { describeSendError, passwordResetEmail, sendAccountEmail } from '../auth/account-email.js';
import { hashLinkToken, linkFor, newLinkToken, parseLinkToken, PASSWORD_RESET_PREFIX } from '../auth/link-tokens.js';
import type { Services } from '../services.js';
import { audit } from './audit.js';
import type { LinkSettings } from './invitations.js';
import { endAllSessions } from './sessions.js';

const invalid = () => badRequest('invalid_reset_token', 'This password reset link is not valid: it may have expired or been used already. Ask for a new one.');

async function makeReset(tx: Tx, settings: LinkSettings, p: { tenantId: string; userId: string; createdBy: string | null }): Promise<{ token: string; expiresAt: Date }> {
  const token = newLinkToken(PASSWORD_RESET_PREFIX, p.tenantId);
  const row = await tx
    .insertInto('password_resets')
    .values({
      tenant_id: p.tenantId,
      user_id: p.userId,
      token_hash: hashLinkToken(token),
      created_by: p.createdBy,
      expires_at: sql<Date>`now() + make_interval(mins => ${settings.passwordResetTtlMinutes})`,
    })
    .returning('expires_at')
    .executeTakeFirstOrThrow();
  return { token, expiresAt: row.expires_at };
}

async function workspaceName(tx: Tx): Promise<string> {
  return (await tx.selectFrom('tenants').select('name').executeTakeFirstOrThrow()).name;
}

// ---- asked for by email ------------------------------------------------------------------

/** Requests handled at once, at most; more wait their turn (a burst is already rate-limited per address and per email). */
const CONCURRENCY = 4;
/** Requests waiting, at most; beyond, a request is dropped (and logged). */
const MAX_WAITING = 1_000;
let running = 0;
const waiting: (() => Promise<void>)[] = [];
const idle: (() => void)[] = [];

function pump(): void {
  while (running < CONCURRENCY && waiting.length > 0) {
    const job = waiting.shift()!;
    running++;
    void job().finally(() => {
      running--;
      pump();
    });
  }
  if (running === 0 && waiting.length === 0) for (const resolve of idle.splice(0)) resolve();
}

/** Resolves when every reset request handed over so far has been handled (tests; shutdown). */
export function passwordResetRequestsSettled(): Promise<void> {
  if (running === 0 && waiting.length === 0) return Promise.resolve();
  return new Promise((resolve) => idle.push(resolve));
}

/**
 * Takes a reset request and returns at once: the work happens after the 202 is sent, the
 * same for an address with an account and one without.
 */
export function requestPasswordReset(svc: Services, settings: LinkSettings, props: { email: string; ip: string | null }): void {
  if (waiting.length >= MAX_WAITING) {
    svc.log.warn({ cat: 'auth' }, 'password reset request dropped: too many waiting');
    return;
  }
  waiting.push(() =>
    handleResetRequest(svc, settings, props).catch((e: unknown) => {
      svc.log.error({ cat: 'auth', err: e }, 'password reset request failed');
    }),
  );
  pump();
}

async function handleResetRequest(svc: Services, settings: LinkSettings, props: { email: string; ip: string | null }): Promise<void> {
  const found = await sql<{ tenant_id: string; user_id: string }>`select * from quire_login_lookup(${props.email.trim()})`.execute(svc.store.db);
  const ref = found.rows[0];
  if (!ref) return;
  const smtp = Boolean(settings.mail.smtpUrl);
  const made = await withTenant(svc.store.db, ref.tenant_id, async (tx) => {
    const user = await tx.selectFrom('users').select(['id', 'email']).where('id', '=', ref.user_id).where('disabled_at', 'is', null).executeTakeFirst();
    if (!user) return null;
    const reset = smtp ? await makeReset(tx, settings, { tenantId: ref.tenant_id, userId: user.id, createdBy: null }) : null;
    await audit(tx, {
      tenantId: ref.tenant_id,
      actorId: null,
      action: 'auth.password_reset_requested',
      targetType: 'user',
      targetId: user.id,
      ip: props.ip,
      detail: { delivery: smtp ? 'email' : 'none' },
    });
    return reset ? { ...reset, to: user.email, workspace: await workspaceName(tx) } : null;
  });
  if (!made) return;
  const link = linkFor(settings.publicUrl, '/reset-password', made.token);
  try {
    await sendAccountEmail(settings.mail, made.to, passwordResetEmail({ workspace: made.workspace, link, expiresAt: made.expiresAt }));
  } catch (e) {
    svc.log.warn({ cat: 'mail', what: 'password_reset', tenantId: ref.tenant_id, userId: ref.user_id, reason: describeSendError(e) }, 'account email not sent');
  }
}

// ---- made by an admin --------------------------------------------------------------------

export async function adminPasswordResetLink(svc: Services, principal: Principal, ip: string | null, settings: LinkSettings, userId: string): Promise<PasswordResetLink> {
  const smtp = Boolean(settings.mail.smtpUrl);
  return withTenant(svc.store.db, principal.tenantId, async (tx) => {
    const actor = await loadActor(tx, principal, ip);
    if (!isTenantAdmin(actor.role)) throw forbidden('Only owners and admins make password reset links');
    const target = await tx.selectFrom('users').select(['id', 'email', 'role']).where('id', '=', userId).where('disabled_at', 'is', null).executeTakeFirst();
    if (!target) throw notFound('user');
    if (target.role === 'owner' && actor.role !== 'owner') throw forbidden('Only an owner can reset the password of an owner');
    const reset = await makeReset(tx, settings, { tenantId: actor.tenantId, userId: target.id, createdBy: actor.userId });
    await audit(tx, {
      tenantId: actor.tenantId,
      actorId: actor.userId,
      action: 'user.password_reset_link',
      targetType: 'user',
      targetId: target.id,
      ip,
      detail: { delivery: smtp ? 'email' : 'link' },
    });
    const link = linkFor(settings.publicUrl, '/reset-password', reset.token);
    const expiresAt = reset.expiresAt.toISOString();
    if (!smtp) return { delivery: 'link', link, expiresAt };
    // Sent before the commit: a send that fails rolls the link (and its audit row) back.
    try {
      await sendAccountEmail(settings.mail, target.email, passwordResetEmail({ workspace: await workspaceName(tx), link, expiresAt: reset.expiresAt }));
    } catch (e) {
      throw new AppError(502, 'email_failed', `The email could not be sent: ${describeSendError(e)}. No link was made; try again later.`);
    }
    return { delivery: 'email', expiresAt };
  });
}

// ---- used ----------------------------------------------------------------------------------

export async function confirmPasswordReset(svc: Services, ip: string | null, props: ConfirmPasswordResetRequest): Promise<void> {
  const parsed = parseLinkToken(PASSWORD_RESET_PREFIX, props.token);
  if (!parsed) throw invalid();
  const { tenantId } = parsed;
  const tokenHash = hashLinkToken(props.token);
  const live = (tx: Tx) =>
    tx
      .selectFrom('password_resets as r')
      .innerJoin('users as u', 'u.id', 'r.user_id')
      .where('r.token_hash', '=', tokenHash)
      .where('r.used_at', 'is', null)
      .where('r.expires_at', '>', sql<Date>`now()`)
      .where('u.disabled_at', 'is', null);
  // Checked before paying for the hash; claimed under the lock below.
  const before = await withTenant(svc.store.db, tenantId, (tx) => live(tx).select(['u.email', 'u.display_name']).executeTakeFirst());
  if (!before) throw invalid();
  await assertStrongPassword(props.password, [before.email, before.display_name]);
  const passwordHash = await svc.passwords.hash(props.password);
  const userId = await withTenant(svc.store.db, tenantId, async (tx) => {
    const row = await live(tx).select(['r.id', 'r.user_id', 'r.created_by']).forUpdate('r').executeTakeFirst();
    if (!row) throw invalid();
    const sessionVersion = await endAllSessions(tx, row.user_id, 'password_reset', { password_hash: passwordHash });
    // This link and every other outstanding one of the user: a reset is done once.
    await tx
      .updateTable('password_resets')
      .set({ used_at: sql`now()` })
      .where('user_id', '=', row.user_id)
      .where('used_at', 'is', null)
      .execute();
    await audit(tx, {
      tenantId,
      actorId: row.user_id,
      action: 'auth.password_reset',
      targetType: 'user',
      targetId: row.user_id,
      ip,
      detail: { sessionVersion, resetId: row.id, ...(row.created_by ? { linkBy: row.created_by } : {}) },
    });
    return row.user_id;
  });
  svc.accessEvents.emit({ type: 'user', tenantId, userId });
}
