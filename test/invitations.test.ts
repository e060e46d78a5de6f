/**
 * Invitations: an admin invites an email with a role; with SMTP the link arrives by email
 * (and is never shown to the admin), without it the answer carries the link; the link works
 * once and gives the invitation's role; expired, revoked and resent-over links are refused
 * with one answer; members get 403 and another workspace sees nothing; emails taken here or
 * elsewhere are refused at once; every event is audited exactly once.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sql, type Kysely } from 'kysely';
import { memoryTokenStorage, QuireClient, unwrap } from '../clients/sdk/node.js';
import { withTenant } from '../db/store.js';
import { claimPendingInvitation } from '../server/commands/invitations.js';
import type { ApiClient, Session } from './helpers/api.js';
import { DIALECTS, startServer } from './helpers/server.js';
import { startMailbox, type ReceivedMail } from './helpers/smtp.js';
import { eventually } from './helpers/wait.js';

const PUBLIC_URL = 'http://quire.test';
const STRONG = 'violet staple orbit canyon';

const uniqueEmail = (who: string) => `${who}-${Math.random().toString(36).slice(2)}@example.test`;

/** How many audit rows of each action the workspace has. */
async function auditCounts(owner: Kysely<unknown>, tenantId: string): Promise<Record<string, number>> {
  const r = await sql<{ action: string; n: number }>`select action, count(*)::int as n from audit_log where tenant_id = ${tenantId} group by action`.execute(owner);
  return Object.fromEntries(r.rows.map((x) => [x.action, x.n]));
}

function tokenOf(link: string, path = '/invite'): string {
  const m = new RegExp(`^${PUBLIC_URL.replace(/\./g, '\\.')}${path}#token=([^\\s]+)$`).exec(link);
  assert.ok(m?.[1], `a link to ${path} with a token: ${link}`);
  return decodeURIComponent(m[1]);
}

function linkInMail(mail: ReceivedMail): string {
  const m = new RegExp(`${PUBLIC_URL.replace(/\./g, '\\.')}/invite#token=[A-Za-z0-9_.%-]+`).exec(mail.parsed.text ?? '');
  assert.ok(m, `the email's text has the link: ${mail.parsed.text}`);
  return m[0];
}

async function invite(api: ApiClient, s: Session, email: string, role = 'member') {
  const r = await api.post('/api/v1/invitations', { email, role }, s.accessToken);
  assert.equal(r.status, 201, r.text);
  return r.body as { invitation: { id: string; email: string; role: string; expiresAt: string }; delivery: 'email' | 'link'; link?: string; emailError?: string };
}

for (const dialect of DIALECTS) {
  test(`an emailed invitation works once and gives its role (${dialect})`, async (t) => {
    const mailbox = await startMailbox(t);
    const { api, quire } = await startServer(t, { dialect, env: { SMTP_URL: mailbox.url, PUBLIC_URL, MAIL_FROM: 'Quire <quire@quire.test>', INVITATION_TTL_HOURS: '48' } });
    const owner = await api.signup('Acme <R&D>');
    const email = uniqueEmail('ada');

    const made = await invite(api, owner, email.toUpperCase(), 'admin');
    assert.equal(made.delivery, 'email', 'sent by email');
    assert.equal(made.link, undefined, 'the admin never sees the link when it was emailed');
    assert.equal(made.invitation.email, email, 'stored in lower case');
    assert.equal(made.invitation.role, 'admin');
    const hours = (Date.parse(made.invitation.expiresAt) - Date.now()) / 3_600_000;
    assert.ok(hours > 47 && hours <= 48, `expires in INVITATION_TTL_HOURS (${hours} h)`);

    const mail = await eventually(() => mailbox.to(email)[0] ?? Promise.reject(new Error('no mail yet')), { message: 'the invitation arrives' });
    assert.equal(mailbox.to(email).length, 1, 'one email');
    assert.match(mail.parsed.subject ?? '', /invited you to Acme <R&D> on Quire/, 'the subject names the workspace');
    assert.ok(String(mail.parsed.html).includes('Acme &lt;R&amp;D&gt;'), 'the workspace name is escaped in the HTML');
    assert.ok(!String(mail.parsed.html).includes('<R&D>'), 'never raw in the HTML');
    const link = linkInMail(mail);
    assert.ok(String(mail.parsed.html).includes(link), 'the HTML has the same link');
    const token = tokenOf(link);

    const preview = await api.get(`/api/v1/auth/invitations/${encodeURIComponent(token)}`);
    assert.equal(preview.status, 200, preview.text);
    assert.deepEqual({ ...preview.body, expiresAt: undefined }, { workspace: 'Acme <R&D>', email, role: 'admin', expiresAt: undefined, ssoRequired: false });
    assert.equal(preview.headers.get('cache-control'), 'no-store', 'never cached');

    const pending = await api.get('/api/v1/invitations', owner.accessToken);
    assert.equal(pending.status, 200, pending.text);
    assert.deepEqual(
      pending.body.invitations.map((i: { email: string }) => i.email),
      [email],
    );
    assert.equal(pending.body.invitations[0].invitedBy.id, owner.user.id, 'who invited');

    const weak = await api.post('/api/v1/auth/invitations/accept', { token, password: 'password123' });
    assert.equal(weak.status, 400, weak.text);
    assert.equal(weak.body.error.code, 'weak_password');
    assert.equal((await api.get(`/api/v1/auth/invitations/${encodeURIComponent(token)}`)).status, 200, 'a refused password leaves the invitation pending');

    const accepted = await api.post('/api/v1/auth/invitations/accept', { token, password: STRONG, displayName: ' Ada ' });
    assert.equal(accepted.status, 201, accepted.text);
    assert.equal(accepted.body.email, email);
    assert.equal(accepted.body.role, 'admin', "the invitation's role");
    assert.equal(accepted.body.displayName, 'Ada');
    assert.equal(accepted.body.accessToken, undefined, 'no session: the app signs in next');

    const again = await api.post('/api/v1/auth/invitations/accept', { token, password: STRONG });
    assert.equal(again.status, 404, again.text);
    assert.equal(again.body.error.code, 'invitation_not_found', 'a link works once');
    assert.equal((await api.get(`/api/v1/auth/invitations/${encodeURIComponent(token)}`)).status, 404, 'an accepted invitation is not shown again');

    const login = await api.post<Session>('/api/v1/auth/login', { email, password: STRONG });
    assert.equal(login.status, 200, login.text);
    assert.equal(login.body.user.role, 'admin');
    assert.equal(login.body.user.tenantId, owner.user.tenantId, 'in the inviting workspace');

    assert.deepEqual((await api.get('/api/v1/invitations', owner.accessToken)).body.invitations, [], 'nothing pending');
    const dup = await api.post('/api/v1/invitations', { email, role: 'member' }, owner.accessToken);
    assert.equal(dup.status, 409, dup.text);
    assert.equal(dup.body.error.code, 'already_member');

    const counts = await auditCounts(quire.store.owner, owner.user.tenantId);
    assert.equal(counts['invitation.created'], 1, 'created: one row');
    assert.equal(counts['invitation.accepted'], 1, 'accepted: one row');
    const row = await sql<{ actor_id: string; target_id: string }>`select actor_id, target_id from audit_log where action = 'invitation.accepted' and tenant_id = ${owner.user.tenantId}`.execute(
      quire.store.owner,
    );
    assert.equal(row.rows[0]!.actor_id, accepted.body.id, 'the new user accepted');
    assert.equal(row.rows[0]!.target_id, made.invitation.id);
  });
}

test('without SMTP the link is in the answer; revoke, resend, expiry; 403 for members; workspaces apart; taken emails', async (t) => {
  const { api, quire } = await startServer(t, { env: { PUBLIC_URL } });
  const owner = await api.signup('Links Inc');
  const admin = await api.addUser(owner, 'admin');
  const member = await api.addUser(owner, 'member');
  const other = await api.signup('Elsewhere');
  const ownerDb = quire.store.owner;

  // Without SMTP the admin gets the link to pass on.
  const email = uniqueEmail('bob');
  const made = await invite(api, admin, email, 'guest');
  assert.equal(made.delivery, 'link');
  const token = tokenOf(made.link ?? '');
  assert.ok(token.startsWith(`qin_${owner.user.tenantId}.`), 'the token names its workspace');
  const stored = await sql<{ token_hash: string }>`select token_hash from invitations where id = ${made.invitation.id}`.execute(ownerDb);
  assert.equal(stored.rows[0]!.token_hash.length, 64, 'stored as a SHA-256 hash');
  assert.ok(!stored.rows[0]!.token_hash.includes(token.split('.')[1]!), 'never the token itself');

  // Members and guests are refused; invalid roles and emails too.
  for (const [path, method] of [
    ['/api/v1/invitations', 'POST'],
    ['/api/v1/invitations', 'GET'],
    [`/api/v1/invitations/${made.invitation.id}`, 'DELETE'],
    [`/api/v1/invitations/${made.invitation.id}/resend`, 'POST'],
  ] as const) {
    const r = await api.request(method, path, { token: member.accessToken, ...(method === 'POST' && !path.endsWith('resend') ? { json: { email: uniqueEmail('x'), role: 'member' } } : {}) });
    assert.equal(r.status, 403, `${method} ${path} by a member: ${r.text}`);
  }
  const asOwner = await api.post('/api/v1/invitations', { email: uniqueEmail('o'), role: 'owner' }, owner.accessToken);
  assert.equal(asOwner.status, 400, 'an invitation never grants owner');
  assert.equal(asOwner.body.error.code, 'validation_failed');

  // Another workspace's admin sees nothing and touches nothing.
  assert.deepEqual((await api.get('/api/v1/invitations', other.accessToken)).body.invitations, [], 'another workspace lists nothing');
  assert.equal((await api.del(`/api/v1/invitations/${made.invitation.id}`, other.accessToken)).status, 404, 'cannot revoke');
  assert.equal((await api.post(`/api/v1/invitations/${made.invitation.id}/resend`, {}, other.accessToken)).status, 404, 'cannot resend');

  // One pending invitation per email; emails with an account anywhere are refused now.
  const twice = await api.post('/api/v1/invitations', { email, role: 'member' }, owner.accessToken);
  assert.equal(twice.status, 409, twice.text);
  assert.equal(twice.body.error.code, 'invitation_pending');
  const elsewhere = await api.post('/api/v1/invitations', { email: other.user.email, role: 'member' }, owner.accessToken);
  assert.equal(elsewhere.status, 409, elsewhere.text);
  assert.equal(elsewhere.body.error.code, 'email_taken');
  assert.match(elsewhere.body.error.message, /another workspace/);
  const here = await api.post('/api/v1/invitations', { email: member.user.email, role: 'member' }, owner.accessToken);
  assert.equal(here.body.error.code, 'already_member', here.text);

  // A resend kills the old link.
  const resent = await api.post(`/api/v1/invitations/${made.invitation.id}/resend`, {}, owner.accessToken);
  assert.equal(resent.status, 200, resent.text);
  assert.equal(resent.body.delivery, 'link');
  assert.notEqual(resent.body.invitation.id, made.invitation.id, 'a new invitation');
  assert.equal(resent.body.invitation.role, 'guest', 'same role');
  const fresh = tokenOf(resent.body.link);
  assert.notEqual(fresh, token);
  const old = await api.get(`/api/v1/auth/invitations/${encodeURIComponent(token)}`);
  assert.equal(old.status, 404, 'the old link is dead');
  assert.equal(old.body.error.code, 'invitation_not_found');
  assert.equal((await api.post('/api/v1/auth/invitations/accept', { token, password: STRONG })).status, 404, 'the old link cannot be accepted');
  assert.equal((await api.get(`/api/v1/auth/invitations/${encodeURIComponent(fresh)}`)).status, 200, 'the new link works');

  // Revoked: the link is dead, and revoking again finds nothing.
  assert.equal((await api.del(`/api/v1/invitations/${resent.body.invitation.id}`, admin.accessToken)).status, 204);
  const revoked = await api.post('/api/v1/auth/invitations/accept', { token: fresh, password: STRONG });
  assert.equal(revoked.status, 404, revoked.text);
  assert.equal(revoked.body.error.code, 'invitation_not_found', 'the same answer as an unknown link');
  assert.equal((await api.del(`/api/v1/invitations/${resent.body.invitation.id}`, admin.accessToken)).status, 404, 'revoked once');

  // Expired: refused with the same answer; the email can be invited again.
  const late = uniqueEmail('late');
  const lateInv = await invite(api, owner, late);
  await sql`update invitations set expires_at = now() - interval '1 second' where id = ${lateInv.invitation.id}`.execute(ownerDb);
  const lateToken = tokenOf(lateInv.link ?? '');
  const expired = await api.get(`/api/v1/auth/invitations/${encodeURIComponent(lateToken)}`);
  assert.equal(expired.status, 404, expired.text);
  assert.equal(expired.body.error.code, 'invitation_not_found');
  assert.equal((await api.post('/api/v1/auth/invitations/accept', { token: lateToken, password: STRONG })).status, 404, 'an expired link cannot be accepted');
  assert.ok(!(await api.get('/api/v1/invitations', owner.accessToken)).body.invitations.some((i: { email: string }) => i.email === late), 'an expired invitation is not pending');
  const reinvited = await invite(api, owner, late);
  assert.equal((await api.post('/api/v1/auth/invitations/accept', { token: tokenOf(reinvited.link ?? ''), password: STRONG })).status, 201, 'invited again, accepted');

  // Unknown and malformed tokens: the same 404.
  for (const bad of [`qin_${owner.user.tenantId}.${'A'.repeat(43)}`, 'qin_nonsense', 'x'.repeat(200)]) {
    const r = await api.get(`/api/v1/auth/invitations/${encodeURIComponent(bad)}`);
    assert.equal(r.status, 404, `${bad}: ${r.text}`);
    assert.equal(r.body.error.code, 'invitation_not_found');
  }

  const counts = await auditCounts(ownerDb, owner.user.tenantId);
  assert.equal(counts['invitation.created'], 3, 'three invitations made');
  assert.equal(counts['invitation.resent'], 1, 'one resend');
  assert.equal(counts['invitation.revoked'], 1, 'one revocation');
  assert.equal(counts['invitation.accepted'], 1, 'one acceptance');
  assert.deepEqual(await auditCounts(ownerDb, other.user.tenantId), { 'auth.signup': 1 }, 'nothing in the other workspace');
});

test('an email the SMTP server does not take: the invitation is kept and the answer carries the link', async (t) => {
  // Nothing listens on port 1: the connection is refused at once.
  const { api, quire } = await startServer(t, { env: { SMTP_URL: 'smtp://127.0.0.1:1', PUBLIC_URL } });
  const owner = await api.signup('Offline Mail');
  const email = uniqueEmail('carol');
  const made = await invite(api, owner, email);
  assert.equal(made.delivery, 'link', 'fell back to the link');
  assert.match(made.emailError ?? '', /could not be sent/, made.emailError);
  assert.ok(!(made.emailError ?? '').includes('smtp://'), 'the SMTP URL (which may hold credentials) is not shown');
  const accepted = await api.post('/api/v1/auth/invitations/accept', { token: tokenOf(made.link ?? ''), password: STRONG });
  assert.equal(accepted.status, 201, accepted.text);
  assert.equal((await auditCounts(quire.store.owner, owner.user.tenantId))['invitation.created'], 1, 'audited once');
});

test('the SDK: invite, list, preview, accept, sign in; resend and revoke; reset links', async (t) => {
  const { url } = await startServer(t, { env: { PUBLIC_URL } });
  const admin = new QuireClient({ baseUrl: url, tokens: memoryTokenStorage() });
  unwrap(await admin.signup({ tenant: 'SDK Works', email: uniqueEmail('sdk-owner'), password: STRONG }));
  const email = uniqueEmail('dee');
  const sent = unwrap(await admin.createInvitation({ email, role: 'member' }));
  assert.equal(sent.delivery, 'link');
  const token = tokenOf(sent.delivery === 'link' ? sent.link : '');
  assert.deepEqual(
    unwrap(await admin.listInvitations()).map((i) => i.email),
    [email],
  );

  const invitee = new QuireClient({ baseUrl: url, tokens: memoryTokenStorage() });
  const preview = unwrap(await invitee.getInvitation(token));
  assert.equal(preview.workspace, 'SDK Works');
  const user = unwrap(await invitee.acceptInvitation({ token, password: STRONG }));
  assert.equal(user.role, 'member');
  const again = await invitee.acceptInvitation({ token, password: STRONG });
  assert.ok(!again.ok && again.error.code === 'invitation_not_found', 'once');
  unwrap(await invitee.login({ email, password: STRONG }));
  assert.equal(invitee.user?.email, email, 'signed in');

  const second = unwrap(await admin.createInvitation({ email: uniqueEmail('eve'), role: 'guest' }));
  const resent = unwrap(await admin.resendInvitation(second.invitation.id));
  unwrap(await admin.revokeInvitation(resent.invitation.id));
  assert.deepEqual(unwrap(await admin.listInvitations()), [], 'nothing pending');

  const link = unwrap(await admin.createPasswordResetLink(user.id));
  assert.equal(link.delivery, 'link');
  unwrap(await invitee.requestPasswordReset(email));
  unwrap(
    await new QuireClient({ baseUrl: url }).confirmPasswordReset({
      token: decodeURIComponent(/#token=(.+)$/.exec(link.delivery === 'link' ? link.link : '')![1]!),
      password: 'fresh harbor lantern nine',
    }),
  );
  const bad = await invitee.confirmPasswordReset({ token: 'qpr_nonsense', password: 'fresh harbor lantern nine' });
  assert.ok(!bad.ok && bad.error.code === 'invalid_reset_token', 'a bad token is refused');
});

test('an account made by another sign-in path (SSO) takes the pending invitation: its role, accepted once', async (t) => {
  const { api, quire } = await startServer(t, { env: { PUBLIC_URL } });
  const owner = await api.signup('Federated');
  const email = uniqueEmail('sso');
  const made = await invite(api, owner, email, 'admin');
  const tenantId = owner.user.tenantId;
  const role = await withTenant(quire.store.db, tenantId, async (tx) => {
    const user = await tx.insertInto('users').values({ tenant_id: tenantId, email, password_hash: 'x', role: 'member', display_name: null }).returning('id').executeTakeFirstOrThrow();
    const claimed = await claimPendingInvitation(tx, { tenantId, email: email.toUpperCase(), userId: user.id, ip: null, via: 'sso' });
    const again = await claimPendingInvitation(tx, { tenantId, email, userId: user.id, ip: null, via: 'sso' });
    assert.equal(again, null, 'taken once');
    return claimed;
  });
  assert.equal(role, 'admin', "the invitation's role");
  assert.equal((await api.get(`/api/v1/auth/invitations/${encodeURIComponent(tokenOf(made.link ?? ''))}`)).status, 404, 'the link is used');
  assert.equal((await auditCounts(quire.store.owner, tenantId))['invitation.accepted'], 1, 'audited once');
  // Nothing pending in another workspace is taken.
  const other = await api.signup('Other');
  const none = await withTenant(quire.store.db, other.user.tenantId, (tx) => claimPendingInvitation(tx, { tenantId: other.user.tenantId, email, userId: other.user.id, ip: null, via: 'sso' }));
  assert.equal(none, null, 'another workspace has no invitation for it');
});
