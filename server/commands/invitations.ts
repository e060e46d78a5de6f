/**
 * Invitations: owners and admins invite an email address with a role (never `owner`); the
 * invitee opens the link, chooses a password and gets an account with that role. No session
 * is started here: the app signs in next with `login`, which asks for whatever the workspace
 * requires (MFA), so accepting stays independent of how sign-in works.
 *
 * Delivery: with `SMTP_URL` the link is emailed at once and never shown to the admin; without
 * it the answer carries the link for the admin to pass on. When the email cannot be sent the
 * invitation is kept (it is committed before the send) and the answer says so and carries
 * the link, so the admin can pass it on or resend later — nothing is half-done: the
 * invitation is valid either way, and its audit row records it once.
 *
 * Emails are unique across workspaces (`users_email_key`): an address that has an account
 * here is `already_member`, anywhere else (or a removed account here) `email_taken` — both
 * told to the admin now, not to the invitee later.
 */
import { sql } from 'kysely';
import type { AcceptInvitationRequest, CommentAuthor, CreateInvitationRequest, Invitation, InvitationPreview, InvitationRole, InvitationSent, LinkDelivery, User } from '../../contract/api.js';
import { isTenantAdmin, loadActor, type Actor } from '../../core/actor.js';
import type { Principal } from '../../core/tokens.js';
import { withTenant, type Tx } from '../../db/store.js';
import { conflict, forbidden, notFound } from '../../lib/errors.js';
import { assertStrongPassword } from '../../lib/password-strength.js';
import { describeSendError, invitationEmail, sendAccountEmail, type MailSettings, type RenderedAccountEmail } from '../auth/account-email.js';
import { hashLinkToken, INVITATION_PREFIX, linkFor, newLinkToken, parseLinkToken } from '../auth/link-tokens.js';
import type { Services } from '../services.js';
import { audit } from './audit.js';

/** What the account links need from the configuration. */
export interface LinkSettings {
  /** The web app's origin: links are absolute. */
  publicUrl: string;
  mail: MailSettings;
  invitationTtlHours: number;
  passwordResetTtlMinutes: number;
}

interface InvitationRow {
  id: string;
  email: string;
  role: InvitationRole;
  invited_by: string | null;
  inviter_email: string | null;
  inviter_name: string | null;
  created_at: Date;
  expires_at: Date;
}

const authorOf = (id: string | null, displayName: string | null, email: string | null): CommentAuthor | null =>
  id === null ? null : { id, name: email === null ? 'Removed user' : (displayName ?? email.split('@')[0] ?? email) };

const present = (r: InvitationRow): Invitation => ({
  id: r.id,
  email: r.email,
  role: r.role,
  invitedBy: authorOf(r.invited_by, r.inviter_name, r.inviter_email),
  createdAt: r.created_at.toISOString(),
  expiresAt: r.expires_at.toISOString(),
});

function assertAdmin(actor: Actor): void {
  if (!isTenantAdmin(actor.role)) throw forbidden('Only owners and admins manage invitations');
}

const selectInvitation = (tx: Tx) =>
  tx
    .selectFrom('invitations as i')
    .leftJoin('users as u', 'u.id', 'i.invited_by')
    .select(['i.id', 'i.email', 'i.role', 'i.invited_by', 'u.email as inviter_email', 'u.display_name as inviter_name', 'i.created_at', 'i.expires_at']);

const pending = sql<boolean>`i.accepted_at is null and i.revoked_at is null and i.expires_at > now()`;

function isUniqueViolation(e: unknown, constraint: string): boolean {
  const err = e as { code?: string; constraint?: string; message?: string };
  return err?.code === '23505' && (err.constraint === constraint || Boolean(err.message?.includes(constraint)));
}

/** Sends the email when SMTP is configured; else (or when the send fails) the link is the admin's to pass on. */
export async function deliver(svc: Services, settings: LinkSettings, to: string, link: string, email: RenderedAccountEmail, what: string): Promise<LinkDelivery> {
  if (!settings.mail.smtpUrl) return { delivery: 'link', link };
  try {
    await sendAccountEmail(settings.mail, to, email);
    return { delivery: 'email' };
  } catch (e) {
    const reason = describeSendError(e);
    svc.log.warn({ cat: 'mail', what, reason }, 'account email not sent');
    return { delivery: 'link', link, emailError: `The email could not be sent: ${reason}. Pass the link on yourself, or resend later.` };
  }
}

/** Whether the workspace signs in only through single sign-on (migration 0025). */
async function ssoRequired(tx: Tx): Promise<boolean> {
  const c = await tx.selectFrom('sso_configs').select(['enabled', 'mandatory']).executeTakeFirst();
  return Boolean(c?.enabled && c.mandatory);
}

async function workspaceName(tx: Tx): Promise<string> {
  const t = await tx.selectFrom('tenants').select('name').executeTakeFirstOrThrow();
  return t.name;
}

async function inviterName(tx: Tx, actor: Actor): Promise<string> {
  const u = await tx.selectFrom('users').select(['display_name', 'email']).where('id', '=', actor.userId).executeTakeFirstOrThrow();
  return u.display_name ?? u.email;
}

/** The checks an invitation's email must pass (inside the creating transaction). */
async function assertInvitable(tx: Tx, email: string): Promise<void> {
  const here = await tx
    .selectFrom('users')
    .select(['id', 'disabled_at'])
    .where(sql<string>`lower(email)`, '=', email)
    .executeTakeFirst();
  if (here && !here.disabled_at) throw conflict('already_member', `${email} already has an account in this workspace`);
  if (here) throw conflict('email_taken', `${email} belongs to an account that was removed from this workspace; it cannot be invited again`);
  const taken = await sql<{ taken: boolean }>`select quire_email_registered(${email}) as taken`.execute(tx);
  if (taken.rows[0]?.taken) throw conflict('email_taken', `${email} already has an account in another workspace. An email can belong to one workspace only.`);
}

export async function createInvitation(svc: Services, principal: Principal, ip: string | null, settings: LinkSettings, props: CreateInvitationRequest): Promise<InvitationSent> {
  const email = props.email.trim().toLowerCase();
  const token = newLinkToken(INVITATION_PREFIX, principal.tenantId);
  let made: { row: InvitationRow; workspace: string; inviter: string };
  try {
    made = await withTenant(svc.store.db, principal.tenantId, async (tx) => {
      const actor = await loadActor(tx, principal, ip);
      assertAdmin(actor);
      await assertInvitable(tx, email);
      // An earlier invitation of this email that expired unused is superseded; a live one is not.
      const earlier = await tx
        .selectFrom('invitations')
        .select(['id', sql<boolean>`expires_at > now()`.as('live')])
        .where('email', '=', email)
        .where('accepted_at', 'is', null)
        .where('revoked_at', 'is', null)
        .forUpdate()
        .executeTakeFirst();
      if (earlier?.live) throw conflict('invitation_pending', `${email} already has a pending invitation. Resend it, or revoke it first.`);
      if (earlier)
        await tx
          .updateTable('invitations')
          .set({ revoked_at: sql`now()` })
          .where('id', '=', earlier.id)
          .execute();
      const inserted = await tx
        .insertInto('invitations')
        .values({
          tenant_id: actor.tenantId,
          email,
          role: props.role,
          invited_by: actor.userId,
          token_hash: hashLinkToken(token),
          expires_at: sql<Date>`now() + make_interval(hours => ${settings.invitationTtlHours})`,
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      await audit(tx, {
        tenantId: actor.tenantId,
        actorId: actor.userId,
        action: 'invitation.created',
        targetType: 'invitation',
        targetId: inserted.id,
        ip,
        detail: { email, role: props.role, ...(earlier ? { replaces: earlier.id } : {}) },
      });
      const row = await selectInvitation(tx).where('i.id', '=', inserted.id).executeTakeFirstOrThrow();
      return { row, workspace: await workspaceName(tx), inviter: await inviterName(tx, actor) };
    });
  } catch (e) {
    if (isUniqueViolation(e, 'invitations_pending_key')) throw conflict('invitation_pending', `${email} already has a pending invitation. Resend it, or revoke it first.`);
    throw e;
  }
  const link = linkFor(settings.publicUrl, '/invite', token);
  const rendered = invitationEmail({ workspace: made.workspace, inviter: made.inviter, role: made.row.role, link, expiresAt: made.row.expires_at });
  return { invitation: present(made.row), ...(await deliver(svc, settings, email, link, rendered, 'invitation')) };
}

export async function listInvitations(svc: Services, principal: Principal, ip: string | null): Promise<Invitation[]> {
  return withTenant(svc.store.db, principal.tenantId, async (tx) => {
    assertAdmin(await loadActor(tx, principal, ip));
    const rows = await selectInvitation(tx).where(pending).orderBy('i.created_at', 'desc').orderBy('i.id').limit(1000).execute();
    return rows.map(present);
  });
}

/** Locks a pending invitation of the caller's workspace (RLS: another workspace's id is not found). */
async function lockPending(tx: Tx, id: string): Promise<{ id: string; email: string; role: InvitationRole }> {
  const row = await tx.selectFrom('invitations as i').select(['i.id', 'i.email', 'i.role']).where('i.id', '=', id).where(pending).forUpdate().executeTakeFirst();
  if (!row) throw notFound('invitation');
  return row;
}

export async function revokeInvitation(svc: Services, principal: Principal, ip: string | null, id: string): Promise<void> {
  await withTenant(svc.store.db, principal.tenantId, async (tx) => {
    const actor = await loadActor(tx, principal, ip);
    assertAdmin(actor);
    const row = await lockPending(tx, id);
    await tx
      .updateTable('invitations')
      .set({ revoked_at: sql`now()` })
      .where('id', '=', row.id)
      .execute();
    await audit(tx, { tenantId: actor.tenantId, actorId: actor.userId, action: 'invitation.revoked', targetType: 'invitation', targetId: row.id, ip, detail: { email: row.email } });
  });
}

/**
 * A new link for a pending invitation: the old row is revoked and a new one (same email and
 * role, a fresh expiry) takes its place, so the old link dies at once.
 */
export async function resendInvitation(svc: Services, principal: Principal, ip: string | null, settings: LinkSettings, id: string): Promise<InvitationSent> {
  const token = newLinkToken(INVITATION_PREFIX, principal.tenantId);
  const made = await withTenant(svc.store.db, principal.tenantId, async (tx) => {
    const actor = await loadActor(tx, principal, ip);
    assertAdmin(actor);
    const old = await lockPending(tx, id);
    await tx
      .updateTable('invitations')
      .set({ revoked_at: sql`now()` })
      .where('id', '=', old.id)
      .execute();
    const inserted = await tx
      .insertInto('invitations')
      .values({
        tenant_id: actor.tenantId,
        email: old.email,
        role: old.role,
        invited_by: actor.userId,
        token_hash: hashLinkToken(token),
        expires_at: sql<Date>`now() + make_interval(hours => ${settings.invitationTtlHours})`,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    await audit(tx, {
      tenantId: actor.tenantId,
      actorId: actor.userId,
      action: 'invitation.resent',
      targetType: 'invitation',
      targetId: inserted.id,
      ip,
      detail: { email: old.email, replaces: old.id },
    });
    const row = await selectInvitation(tx).where('i.id', '=', inserted.id).executeTakeFirstOrThrow();
    return { row, workspace: await workspaceName(tx), inviter: await inviterName(tx, actor) };
  });
  const link = linkFor(settings.publicUrl, '/invite', token);
  const rendered = invitationEmail({ workspace: made.workspace, inviter: made.inviter, role: made.row.role, link, expiresAt: made.row.expires_at });
  return { invitation: present(made.row), ...(await deliver(svc, settings, made.row.email, link, rendered, 'invitation')) };
}

/** The pending invitation a token names, or 404 — one answer for unknown, expired, used and revoked. */
async function findByToken(tx: Tx, token: string, lock: boolean) {
  let q = tx.selectFrom('invitations as i').select(['i.id', 'i.email', 'i.role', 'i.expires_at', 'i.invited_by']).where('i.token_hash', '=', hashLinkToken(token)).where(pending);
  if (lock) q = q.forUpdate();
  const row = await q.executeTakeFirst();
  if (!row) throw notFound('invitation');
  return row;
}

export async function previewInvitation(svc: Services, token: string): Promise<InvitationPreview> {
  const parsed = parseLinkToken(INVITATION_PREFIX, token);
  if (!parsed) throw notFound('invitation');
  return withTenant(svc.store.db, parsed.tenantId, async (tx) => {
    const row = await findByToken(tx, token, false);
    return { workspace: await workspaceName(tx), email: row.email, role: row.role, expiresAt: row.expires_at.toISOString(), ssoRequired: await ssoRequired(tx) };
  });
}

export async function acceptInvitation(svc: Services, ip: string | null, props: AcceptInvitationRequest): Promise<User> {
  const parsed = parseLinkToken(INVITATION_PREFIX, props.token);
  if (!parsed) throw notFound('invitation');
  const { tenantId } = parsed;
  const displayName = props.displayName?.trim() || null;
  // Checked before paying for the hash; checked again under the row's lock below.
  const before = await withTenant(svc.store.db, tenantId, async (tx) => ({ row: await findByToken(tx, props.token, false), workspace: await workspaceName(tx), sso: await ssoRequired(tx) }));
  // A workspace that signs in only through SSO has no passwords to choose: the invitee signs in there.
  if (before.sso) throw forbidden('This workspace signs in with single sign-on. Sign in there with this email instead of choosing a password.', 'sso_required');
  await assertStrongPassword(props.password, [before.row.email, displayName, before.workspace]);
  const passwordHash = await svc.passwords.hash(props.password);
  try {
    return await withTenant(svc.store.db, tenantId, async (tx) => {
      const inv = await findByToken(tx, props.token, true);
      const user = await tx
        .insertInto('users')
        .values({ tenant_id: tenantId, email: inv.email, password_hash: passwordHash, role: inv.role, display_name: displayName })
        .returning(['id', 'email', 'display_name', 'role', 'created_at'])
        .executeTakeFirstOrThrow();
      await tx
        .updateTable('invitations')
        .set({ accepted_at: sql`now()`, accepted_user_id: user.id })
        .where('id', '=', inv.id)
        .execute();
      await audit(tx, {
        tenantId,
        actorId: user.id,
        action: 'invitation.accepted',
        targetType: 'invitation',
        targetId: inv.id,
        ip,
        detail: { email: inv.email, role: inv.role, userId: user.id, invitedBy: inv.invited_by },
      });
      return { id: user.id, email: user.email, displayName: user.display_name, role: user.role, createdAt: user.created_at.toISOString() };
    });
  } catch (e) {
    if (isUniqueViolation(e, 'users_email_key')) throw conflict('email_taken', 'An account with this email already exists. Sign in instead.');
    throw e;
  }
}

/**
 * For sign-in paths that make accounts themselves (single sign-on's first sign-in): in the
 * transaction that inserts the user, takes the pending invitation of `email` in the
 * transaction's workspace, if there is one — marks it accepted by `userId`, audited as
 * `invitation.accepted` (with `via`) — and returns its role, to use instead of a default.
 */
export async function claimPendingInvitation(tx: Tx, p: { tenantId: string; email: string; userId: string; ip: string | null; via: string }): Promise<InvitationRole | null> {
  const email = p.email.trim().toLowerCase();
  const inv = await tx.selectFrom('invitations as i').select(['i.id', 'i.role', 'i.invited_by']).where('i.email', '=', email).where(pending).forUpdate().executeTakeFirst();
  if (!inv) return null;
  await tx
    .updateTable('invitations')
    .set({ accepted_at: sql`now()`, accepted_user_id: p.userId })
    .where('id', '=', inv.id)
    .execute();
  await audit(tx, {
    tenantId: p.tenantId,
    actorId: p.userId,
    action: 'invitation.accepted',
    targetType: 'invitation',
    targetId: inv.id,
    ip: p.ip,
    detail: { email, role: inv.role, userId: p.userId, invitedBy: inv.invited_by, via: p.via },
  });
  return inv.role;
}
