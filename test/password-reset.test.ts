/**
 * Password reset: asked for by email (always 202, the same for an address without an
 * account, which gets no email), the emailed link sets the password once, ends every session
 * of the user (an old refresh token and an old access token fail) and uses every other
 * outstanding link; expired links are refused; without SMTP an admin makes a link to pass on
 * (members get 403, only owners reset owners, another workspace finds nobody); with SMTP the
 * admin's link is emailed, and a failed send leaves nothing behind; the request is limited
 * per email; every event is audited exactly once.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sql, type Kysely } from 'kysely';
import { passwordResetRequestsSettled } from '../server/commands/password-resets.js';
import type { ApiClient, Session } from './helpers/api.js';
import { DIALECTS, startServer, UNLIMITED_RATE_LIMITS } from './helpers/server.js';
import { startMailbox, type ReceivedMail, type TestMailbox } from './helpers/smtp.js';
import { eventually } from './helpers/wait.js';

const PUBLIC_URL = 'http://quire.test';
const OLD = 'another good password';
const NEW = 'marble lantern quietly drifts';

async function auditCounts(owner: Kysely<unknown>, tenantId: string): Promise<Record<string, number>> {
  const r = await sql<{ action: string; n: number }>`select action, count(*)::int as n from audit_log where tenant_id = ${tenantId} group by action`.execute(owner);
  return Object.fromEntries(r.rows.map((x) => [x.action, x.n]));
}

const RESET_LINK = new RegExp(`${PUBLIC_URL.replace(/\./g, '\\.')}/reset-password#token=([A-Za-z0-9_.%-]+)`);

function tokenInMail(mail: ReceivedMail): string {
  const m = RESET_LINK.exec(mail.parsed.text ?? '');
  assert.ok(m?.[1], `the email has a reset link: ${mail.parsed.text}`);
  return decodeURIComponent(m[1]);
}

function tokenOfLink(link: string): string {
  const m = RESET_LINK.exec(link);
  assert.ok(m?.[1], `a reset link: ${link}`);
  return decodeURIComponent(m[1]);
}

/** Asks for a reset and waits for the n-th email to that address. */
async function askForReset(api: ApiClient, mailbox: TestMailbox, email: string, nth: number): Promise<string> {
  const r = await api.post('/api/v1/auth/password-reset', { email });
  assert.equal(r.status, 202, r.text);
  const mail = await eventually(() => mailbox.to(email)[nth - 1] ?? Promise.reject(new Error(`${mailbox.to(email).length} emails so far`)), { message: `reset email ${nth} arrives` });
  return tokenInMail(mail);
}

for (const dialect of DIALECTS) {
  test(`a reset by email sets the password once and ends every session (${dialect})`, async (t) => {
    const mailbox = await startMailbox(t);
    const { api, quire } = await startServer(t, { dialect, env: { SMTP_URL: mailbox.url, PUBLIC_URL, MAIL_FROM: 'Quire <quire@quire.test>' } });
    const owner = await api.signup('Reset Co');
    const member = await api.addUser(owner, 'member', OLD);
    const email = member.user.email;
    // A second device, signed in before the reset.
    const laptop = (await api.post<Session>('/api/v1/auth/login', { email, password: OLD })).body;

    const token = await askForReset(api, mailbox, email.toUpperCase(), 1);
    const mail = mailbox.to(email)[0]!;
    assert.equal(mail.parsed.subject, 'Reset your Quire password');
    assert.ok(token.startsWith(`qpr_${owner.user.tenantId}.`), 'the token names its workspace');
    await eventually(async () => assert.equal((await auditCounts(quire.store.owner, owner.user.tenantId))['auth.password_reset_requested'], 1, 'the request is audited'));

    const weak = await api.post('/api/v1/auth/password-reset/confirm', { token, password: 'password123' });
    assert.equal(weak.status, 400, weak.text);
    assert.equal(weak.body.error.code, 'weak_password');

    const done = await api.post('/api/v1/auth/password-reset/confirm', { token, password: NEW });
    assert.equal(done.status, 204, done.text);

    // Every session ended: refresh tokens and access tokens of before.
    for (const s of [member, laptop]) {
      const r = await api.post('/api/v1/auth/refresh', { refreshToken: s.refreshToken });
      assert.equal(r.status, 401, `an old refresh token fails: ${r.text}`);
      assert.equal((await api.get('/api/v1/me', s.accessToken)).status, 401, 'an old access token fails');
    }
    assert.equal((await api.post('/api/v1/auth/login', { email, password: OLD })).status, 401, 'the old password is gone');
    assert.equal((await api.post('/api/v1/auth/login', { email, password: NEW })).status, 200, 'the new one works');

    const again = await api.post('/api/v1/auth/password-reset/confirm', { token, password: 'some other fine passphrase' });
    assert.equal(again.status, 400, again.text);
    assert.equal(again.body.error.code, 'invalid_reset_token', 'a link works once');

    // Two links out: using one uses the other.
    const first = await askForReset(api, mailbox, email, 2);
    const second = await askForReset(api, mailbox, email, 3);
    assert.equal((await api.post('/api/v1/auth/password-reset/confirm', { token: second, password: 'copper meadow whistle far' })).status, 204);
    assert.equal(
      (await api.post('/api/v1/auth/password-reset/confirm', { token: first, password: 'another copper meadow whistle' })).body.error.code,
      'invalid_reset_token',
      'the other link died with the reset',
    );

    // Expired: refused.
    const late = await askForReset(api, mailbox, email, 4);
    await sql`update password_resets set expires_at = now() - interval '1 second' where used_at is null`.execute(quire.store.owner);
    const expired = await api.post('/api/v1/auth/password-reset/confirm', { token: late, password: 'late lantern quietly drifts' });
    assert.equal(expired.status, 400, expired.text);
    assert.equal(expired.body.error.code, 'invalid_reset_token');

    // An address without an account: 202, and nothing is sent.
    const nobody = `nobody-${Math.random().toString(36).slice(2)}@example.test`;
    assert.equal((await api.post('/api/v1/auth/password-reset', { email: nobody })).status, 202, 'the same answer');
    await passwordResetRequestsSettled();
    assert.equal(mailbox.to(nobody).length, 0, 'no email to an address without an account');

    const counts = await auditCounts(quire.store.owner, owner.user.tenantId);
    assert.equal(counts['auth.password_reset_requested'], 4, 'one row per request for the account');
    assert.equal(counts['auth.password_reset'], 2, 'one row per reset done');
  });
}

test('without SMTP an admin makes a link; members get 403; owners are reset by owners; workspaces apart; the request is limited per email', async (t) => {
  const { api, quire } = await startServer(t, {
    env: { PUBLIC_URL, ...UNLIMITED_RATE_LIMITS, RATE_LIMIT_LOGIN_ACCOUNT_PER_MINUTE: '1', RATE_LIMIT_LOGIN_ACCOUNT_BURST: '2' },
  });
  const owner = await api.signup('No Mail');
  const admin = await api.addUser(owner, 'admin');
  const member = await api.addUser(owner, 'member', OLD);
  const other = await api.signup('Elsewhere');

  assert.equal((await api.post(`/api/v1/users/${member.user.id}/password-reset`, {}, member.accessToken)).status, 403, 'a member cannot');
  assert.equal((await api.post(`/api/v1/users/${owner.user.id}/password-reset`, {}, admin.accessToken)).status, 403, 'an admin cannot reset an owner');
  assert.equal((await api.post(`/api/v1/users/${member.user.id}/password-reset`, {}, other.accessToken)).status, 404, 'another workspace finds nobody');

  const made = await api.post(`/api/v1/users/${member.user.id}/password-reset`, {}, admin.accessToken);
  assert.equal(made.status, 200, made.text);
  assert.equal(made.body.delivery, 'link');
  const minutes = (Date.parse(made.body.expiresAt) - Date.now()) / 60_000;
  assert.ok(minutes > 59 && minutes <= 60, `an hour by default (${minutes} min)`);
  const token = tokenOfLink(made.body.link);
  assert.equal((await api.post('/api/v1/auth/password-reset/confirm', { token, password: NEW })).status, 204, 'the link works');
  assert.equal((await api.post('/api/v1/auth/refresh', { refreshToken: member.refreshToken })).status, 401, 'the member was signed out');
  assert.equal((await api.post('/api/v1/auth/login', { email: member.user.email, password: NEW })).status, 200);

  // The public request without SMTP: 202, audited for the account, no link made.
  assert.equal((await api.post('/api/v1/auth/password-reset', { email: member.user.email })).status, 202);
  await passwordResetRequestsSettled();
  const rows = await sql<{ n: number }>`select count(*)::int as n from password_resets where user_id = ${member.user.id}`.execute(quire.store.owner);
  assert.equal(rows.rows[0]!.n, 1, 'only the admin’s link exists');

  // Per email: the burst of 2 is used by the request above and one more; the next is refused.
  assert.equal((await api.post('/api/v1/auth/password-reset', { email: member.user.email })).status, 202);
  const limited = await api.post('/api/v1/auth/password-reset', { email: member.user.email.toUpperCase() });
  assert.equal(limited.status, 429, limited.text);
  assert.equal((await api.post('/api/v1/auth/password-reset', { email: admin.user.email })).status, 202, 'another email is not limited');
  await passwordResetRequestsSettled();

  const counts = await auditCounts(quire.store.owner, owner.user.tenantId);
  assert.equal(counts['user.password_reset_link'], 1, 'the admin’s link, once');
  assert.equal(counts['auth.password_reset'], 1, 'the reset, once');
  assert.equal(counts['auth.password_reset_requested'], 3, 'three requests for accounts (the limited one never got in)');
  const detail = await sql<{ detail: { delivery: string } }>`select detail from audit_log where action = 'auth.password_reset_requested' and tenant_id = ${owner.user.tenantId} limit 1`.execute(
    quire.store.owner,
  );
  assert.equal(detail.rows[0]!.detail.delivery, 'none', 'nothing could be sent');
});

test('with SMTP an admin’s link is emailed; a failed send leaves no link and no audit row', async (t) => {
  const mailbox = await startMailbox(t);
  const { api, quire } = await startServer(t, { env: { SMTP_URL: mailbox.url, PUBLIC_URL } });
  const owner = await api.signup('Mail Co');
  const member = await api.addUser(owner, 'member', OLD);

  const made = await api.post(`/api/v1/users/${member.user.id}/password-reset`, {}, owner.accessToken);
  assert.equal(made.status, 200, made.text);
  assert.equal(made.body.delivery, 'email');
  assert.equal(made.body.link, undefined, 'the admin does not see the link');
  const mail = await eventually(() => mailbox.to(member.user.email)[0] ?? Promise.reject(new Error('no mail yet')), { message: 'the reset email arrives' });
  assert.equal((await api.post('/api/v1/auth/password-reset/confirm', { token: tokenInMail(mail), password: NEW })).status, 204);

  const held = mailbox.holdNext();
  const pending = api.post(`/api/v1/users/${member.user.id}/password-reset`, {}, owner.accessToken);
  await held.arrived;
  held.release({ code: 550, message: 'mailbox unavailable' });
  const failed = await pending;
  assert.equal(failed.status, 502, failed.text);
  assert.equal(failed.body.error.code, 'email_failed');
  const rows = await sql<{ n: number }>`select count(*)::int as n from password_resets where user_id = ${member.user.id}`.execute(quire.store.owner);
  assert.equal(rows.rows[0]!.n, 1, 'only the first link exists');
  assert.equal((await auditCounts(quire.store.owner, owner.user.tenantId))['user.password_reset_link'], 1, 'the failed one is not audited');
});

test('a reset link made before the person changed their password stops working', async (t) => {
  const { api } = await startServer(t, { env: { PUBLIC_URL } });
  const owner = await api.signup('Changed');
  const member = await api.addUser(owner, 'member', OLD);
  const made = await api.post(`/api/v1/users/${member.user.id}/password-reset`, {}, owner.accessToken);
  assert.equal(made.status, 200, made.text);
  const changed = await api.post('/api/v1/me/password', { currentPassword: OLD, newPassword: NEW }, member.accessToken);
  assert.equal(changed.status, 200, changed.text);
  const late = await api.post('/api/v1/auth/password-reset/confirm', { token: tokenOfLink(made.body.link), password: 'violet kettle on the stairs' });
  assert.equal(late.status, 400, late.text);
  assert.equal((await api.post('/api/v1/auth/login', { email: member.user.email, password: NEW })).status, 200, 'the new password stands');
});
