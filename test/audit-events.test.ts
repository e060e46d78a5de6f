/**
 * The audit log has every security event, once: each action below is done once in a fresh
 * workspace and read back through the audit API (as the admins' page reads it), with who
 * did it and to what. Single sign-on and invitations check theirs in their own tests.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AuditEntry, AuditPage, CreatedApiKey, MfaChallenge, MfaEnrolment, RecoveryCodes, Session as ContractSession } from '../contract/api.js';
import { totpCode, TOTP_PERIOD_SECONDS } from '../core/totp.js';
import type { Session } from './helpers/api.js';
import { startServer } from './helpers/server.js';

const STRONG = 'correct horse battery';
const MEMBER_PASSWORD = 'another good password';

test('each security event writes exactly one audit row, with its actor and target, readable by admins only', async (t) => {
  // No grace for a refresh token used twice: the second use is the replay being audited.
  const server = await startServer(t, { env: { REFRESH_REUSE_GRACE_SECONDS: '0' } });
  const { api } = server;
  const owner = await api.signup('Acme', 'audit-events@example.test', STRONG); // auth.signup
  const member = await api.addUser(owner, 'member'); // user.create, auth.login
  const doomed = await api.addUser(owner, 'member'); // user.create, auth.login
  const login = async (email: string, password: string) => (await api.post<ContractSession>('/api/v1/auth/login', { email, password })).body;

  // Sign-in, failures, sign-out, a replayed refresh token.
  assert.equal((await api.post('/api/v1/auth/login', { email: member.user.email, password: 'not the password' })).status, 401); // auth.login_failed
  const second = await login(member.user.email, MEMBER_PASSWORD); // auth.login
  const rotated = await api.post('/api/v1/auth/refresh', { refreshToken: second.refreshToken });
  assert.equal(rotated.status, 200);
  assert.equal((await api.post('/api/v1/auth/refresh', { refreshToken: second.refreshToken })).status, 401); // auth.refresh_reuse
  const third = await login(member.user.email, MEMBER_PASSWORD); // auth.login
  assert.equal((await api.post('/api/v1/auth/logout', { refreshToken: third.refreshToken })).status, 204); // auth.logout

  // Roles, permissions, removal.
  assert.equal((await api.patch(`/api/v1/users/${member.user.id}`, { role: 'admin' }, owner.accessToken)).status, 200); // user.role_change
  const doc = await api.createDocument(owner, 'Plans'); // document.create
  assert.equal((await api.put(`/api/v1/documents/${doc.id}/permissions`, { userId: member.user.id, level: 'read' }, owner.accessToken)).status, 200); // document.permission_set
  assert.equal((await api.del(`/api/v1/users/${doomed.user.id}`, owner.accessToken)).status, 204); // user.remove

  // Passwords and sessions.
  const memberNow = await login(member.user.email, MEMBER_PASSWORD); // auth.login
  assert.equal((await api.post('/api/v1/me/password', { currentPassword: 'wrong wrong wrong', newPassword: 'violet kettle on the stairs' }, memberNow.accessToken)).status, 403); // user.password_change_failed
  const changed = await api.post<ContractSession>('/api/v1/me/password', { currentPassword: MEMBER_PASSWORD, newPassword: 'violet kettle on the stairs' }, memberNow.accessToken); // user.password_change
  assert.equal(changed.status, 200, changed.text);
  const phone = await login(member.user.email, 'violet kettle on the stairs'); // auth.login
  const phoneId = (await api.get('/api/v1/me/sessions', phone.accessToken)).body.sessions.find((s: { current: boolean }) => s.current).id;
  assert.equal((await api.del(`/api/v1/me/sessions/${phoneId}`, changed.body.accessToken)).status, 204); // session.end
  assert.equal((await api.del('/api/v1/me/sessions', changed.body.accessToken)).status, 200); // session.end_others
  assert.equal((await api.del(`/api/v1/users/${member.user.id}/sessions`, owner.accessToken)).status, 204); // user.sessions_ended
  const memberLast = await login(member.user.email, 'violet kettle on the stairs'); // auth.login
  assert.equal((await api.post('/api/v1/auth/logout-all', undefined, memberLast.accessToken)).status, 204); // auth.logout_all

  // Two-factor sign-in.
  const enrol = await api.post<MfaEnrolment>('/api/v1/me/mfa/enrol', undefined, owner.accessToken);
  const secret = enrol.body.secret;
  const codes = await api.post<RecoveryCodes>('/api/v1/me/mfa/confirm', { code: totpCode(secret) }, owner.accessToken); // mfa.enabled
  assert.equal(codes.status, 200, codes.text);
  const challenge = (await api.post('/api/v1/auth/login', { email: owner.user.email, password: STRONG })).body.error.details as MfaChallenge;
  assert.equal((await api.post('/api/v1/auth/mfa', { challenge: challenge.challenge, code: totpCode(secret) })).status, 401); // auth.mfa_failed (replayed)
  const ownerMfa = await api.post<ContractSession>('/api/v1/auth/mfa', { challenge: challenge.challenge, code: totpCode(secret, Date.now() + TOTP_PERIOD_SECONDS * 1000) }); // auth.login {mfa}
  assert.equal(ownerMfa.status, 200, ownerMfa.text);
  assert.equal((await api.post('/api/v1/me/mfa/recovery-codes', { code: codes.body.recoveryCodes[0] }, ownerMfa.body.accessToken)).status, 401); // mfa.code_refused
  const regen = await api.post<RecoveryCodes>('/api/v1/me/mfa/recovery-codes', { code: totpCode(secret, Date.now() + 2 * TOTP_PERIOD_SECONDS * 1000) }, ownerMfa.body.accessToken);
  assert.equal(regen.status, 401, 'two steps ahead is outside the window');
  // mfa.code_refused counted twice from here: the recovery code above and this one.
  const admin = await api.addUser(owner, 'admin'); // user.create, auth.login
  const enrolAdmin = await api.post<MfaEnrolment>('/api/v1/me/mfa/enrol', undefined, admin.accessToken);
  assert.equal((await api.post('/api/v1/me/mfa/confirm', { code: totpCode(enrolAdmin.body.secret) }, admin.accessToken)).status, 200); // mfa.enabled
  assert.equal((await api.put('/api/v1/workspace/mfa', { required: true }, ownerMfa.body.accessToken)).status, 200); // workspace.mfa_required
  assert.equal((await api.del(`/api/v1/users/${admin.user.id}/mfa`, ownerMfa.body.accessToken)).status, 204); // mfa.reset
  assert.equal((await api.put('/api/v1/workspace/mfa', { required: false }, ownerMfa.body.accessToken)).status, 200); // workspace.mfa_required
  const off = await api.request('DELETE', '/api/v1/me/mfa', { token: ownerMfa.body.accessToken, json: { code: codes.body.recoveryCodes[1] } }); // mfa.disabled
  assert.equal(off.status, 204, off.text);

  // API keys.
  const key = await api.post<CreatedApiKey>('/api/v1/api-keys', { name: 'CI', scopes: ['read'] }, ownerMfa.body.accessToken); // api_key.created
  assert.equal((await api.get('/api/v1/documents', key.body.secret)).status, 200); // api_key.used
  assert.equal((await api.get('/api/v1/documents', key.body.secret)).status, 200); // (within the hour: no second row)
  assert.equal((await api.del(`/api/v1/api-keys/${key.body.key.id}`, ownerMfa.body.accessToken)).status, 204); // api_key.revoked

  // Export of the log itself.
  assert.equal((await api.get('/api/v1/audit?format=ndjson', ownerMfa.body.accessToken)).status, 200); // audit.export

  const all: AuditEntry[] = [];
  let cursor: string | null = null;
  do {
    const page: { status: number; body: AuditPage; text: string } = await api.get<AuditPage>(`/api/v1/audit?limit=200${cursor ? `&cursor=${cursor}` : ''}`, ownerMfa.body.accessToken);
    assert.equal(page.status, 200, page.text);
    all.push(...page.body.entries);
    cursor = page.body.nextCursor;
  } while (cursor);
  const count = (action: string, targetId?: string) => all.filter((e) => e.action === action && (targetId === undefined || e.targetId === targetId)).length;
  const expected: [string, number, string?][] = [
    ['auth.signup', 1],
    ['user.create', 3],
    ['auth.login_failed', 1],
    ['auth.refresh_reuse', 1],
    ['auth.logout', 1],
    ['user.role_change', 1, member.user.id],
    ['document.permission_set', 1, doc.id],
    ['user.remove', 1, doomed.user.id],
    ['user.password_change_failed', 1, member.user.id],
    ['user.password_change', 1, member.user.id],
    ['session.end', 1],
    ['session.end_others', 1, member.user.id],
    ['user.sessions_ended', 1, member.user.id],
    ['auth.logout_all', 1, member.user.id],
    ['mfa.enabled', 2],
    ['auth.mfa_failed', 1, owner.user.id],
    ['mfa.code_refused', 2, owner.user.id],
    ['workspace.mfa_required', 2],
    ['mfa.reset', 1, admin.user.id],
    ['mfa.disabled', 1, owner.user.id],
    ['api_key.created', 1, key.body.key.id],
    ['api_key.used', 1, key.body.key.id],
    ['api_key.revoked', 1, key.body.key.id],
    ['audit.export', 1],
  ];
  for (const [action, n, target] of expected) assert.equal(count(action, target), n, `${action}${target ? ` on ${target}` : ''}`);
  // Sign-ins: one row per session started (signup is its own action).
  // Nine: the three new users' first, second, third, memberNow, phone, memberLast, and the owner's with a code.
  assert.equal(count('auth.login'), 9, 'each sign-in, the two-factor one with its method');
  assert.deepEqual(all.find((e) => e.action === 'auth.login' && e.detail)?.detail, { mfa: 'totp' });
  // Actors are named; the failure has none (nobody was signed in).
  assert.equal(all.find((e) => e.action === 'user.role_change')?.actor?.id, owner.user.id);
  assert.equal(all.find((e) => e.action === 'auth.login_failed')?.actor, null);
  assert.equal(all.find((e) => e.action === 'mfa.reset')?.actor?.id, owner.user.id);

  // Members are refused; another workspace's admin sees only theirs.
  const reader: Session = await api.addUser(owner, 'member');
  assert.equal((await api.get('/api/v1/audit', reader.accessToken)).status, 403);
  const other = await api.signup('Other', 'audit-other@example.test', STRONG);
  const theirs = await api.get<AuditPage>('/api/v1/audit?limit=200', other.accessToken);
  assert.deepEqual(
    theirs.body.entries.map((e) => e.action),
    ['auth.signup'],
  );
});
