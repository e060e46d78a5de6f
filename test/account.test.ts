/**
 * The account: a user changes their display name and their password, and signs out
 * everywhere. Ending sessions (a password change ends every other one, logout-all every
 * one) revokes refresh tokens, refuses older access tokens at once (401 session_revoked) and
 * closes live sync sockets (4401 session_revoked), on every instance.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { sql } from 'kysely';
import type { Me, PasswordStrength, Session } from '../contract/api.js';
import { TEST_REDIS_URL } from './helpers/env.js';
import { acked, connect, paragraphText, synced, type Client } from './helpers/provider.js';
import { startServer, type TestServer } from './helpers/server.js';
import { startTcpProxy, targetOf } from './helpers/tcp-proxy.js';
import { eventually } from './helpers/wait.js';

const STRONG = 'correct horse battery';
const NEXT = 'violet kettle on the stairs';

/** Waits until the client's socket was closed with exactly these (code, reason) pairs. */
function closedWith(c: Client, expected: [number, string][]): Promise<void> {
  return eventually(
    () =>
      assert.deepEqual(
        c.closes.map((x) => [x.code, x.reason]),
        expected,
      ),
    { timeoutMs: 10_000 },
  );
}

async function refused(server: TestServer, token: string, code: string): Promise<void> {
  for (const path of ['/api/v1/me', '/api/v1/documents']) {
    const r = await server.api.get(path, token);
    assert.equal(r.status, 401, `${path}: ${r.text}`);
    assert.equal(r.body.error.code, code, path);
  }
}

async function auditActions(server: TestServer): Promise<string[]> {
  const r = await sql<{ action: string }>`select action from audit_log order by id`.execute(server.quire.store.owner);
  return r.rows.map((x) => x.action);
}

async function login(server: Pick<TestServer, 'api'>, email: string, password: string): Promise<Session> {
  const r = await server.api.post<Session>('/api/v1/auth/login', { email, password });
  assert.equal(r.status, 200, r.text);
  return r.body;
}

/** A user with two logins (two devices) and a document each device has open. */
async function twoDevices(t: TestContext, server: TestServer, other: TestServer = server) {
  const here = await server.api.signup('Acme', `ada-${Math.random().toString(36).slice(2)}@example.test`, STRONG);
  const there = await login(server, here.user.email, STRONG);
  const doc = await server.api.createDocument(here, 'Notes');
  const a = connect(t, server.url, doc.id, here.accessToken, { reconnect: false });
  const b = connect(t, other.url, doc.id, there.accessToken, { reconnect: false });
  await Promise.all([synced(a), synced(b)]);
  return { here, there, doc, a, b };
}

test('a user sets, changes and clears their display name; the answer is GET /me', async (t) => {
  const server = await startServer(t);
  const { api } = server;
  const owner = await api.signup();
  const member = await api.addUser(owner, 'member');

  const set = await api.patch<Me>('/api/v1/me', { displayName: '  Ada Lovelace  ' }, member.accessToken);
  assert.equal(set.status, 200, set.text);
  assert.equal(set.body.displayName, 'Ada Lovelace', 'trimmed');
  assert.deepEqual(set.body, (await api.get('/api/v1/me', member.accessToken)).body);
  assert.equal(set.body.id, member.user.id);
  assert.equal(set.body.role, 'member');
  const listed = (await api.get('/api/v1/users', owner.accessToken)).body.users.find((u: { id: string }) => u.id === member.user.id);
  assert.equal(listed.displayName, 'Ada Lovelace', 'colleagues see the new name');

  // 80 characters (code points: an emoji is one) is the most.
  const longest = '🦉'.repeat(80);
  assert.equal((await api.patch<Me>('/api/v1/me', { displayName: longest }, member.accessToken)).body.displayName, longest);
  const cleared = await api.patch<Me>('/api/v1/me', { displayName: null }, member.accessToken);
  assert.equal(cleared.status, 200);
  assert.equal(cleared.body.displayName, null);
  assert.equal((await api.get('/api/v1/me', member.accessToken)).body.displayName, null);

  const actions = await auditActions(server);
  assert.equal(actions.filter((a) => a === 'user.display_name_change').length, 3);
  const last = await sql<{ actor_id: string; target_id: string; detail: unknown }>`
    select actor_id, target_id, detail from audit_log where action = 'user.display_name_change' order by id desc limit 1`.execute(server.quire.store.owner);
  assert.equal(last.rows[0]?.actor_id, member.user.id);
  assert.equal(last.rows[0]?.target_id, member.user.id);
  assert.deepEqual(last.rows[0]?.detail, { from: longest, to: null });
});

test('display names that are empty, too long, not text or with control characters are 400 validation_failed', async (t) => {
  const { api } = await startServer(t);
  const s = await api.signup();
  await api.patch('/api/v1/me', { displayName: 'Kept' }, s.accessToken);
  const bad: [string, unknown][] = [
    ['empty', { displayName: '' }],
    ['blank', { displayName: '   ' }],
    ['81 characters', { displayName: 'x'.repeat(81) }],
    ['a number', { displayName: 42 }],
    ['a newline', { displayName: 'Ada\nLovelace' }],
    ['missing', {}],
    ['another field', { displayName: 'Ada', role: 'owner' }],
  ];
  for (const [what, body] of bad) {
    const r = await api.patch('/api/v1/me', body, s.accessToken);
    assert.equal(r.status, 400, `${what}: ${r.text}`);
    assert.equal(r.body.error.code, 'validation_failed', what);
  }
  assert.equal((await api.patch('/api/v1/me', { displayName: 'Ada' })).status, 401, 'signed in only');
  assert.equal((await api.get('/api/v1/me', s.accessToken)).body.displayName, 'Kept', 'nothing changed');
});

test('a new password that is too easy to guess is 400 weak_password with the estimate; the length rule stays', async (t) => {
  const { api } = await startServer(t);
  const s = await api.signup('Acme', 'zelmira.quixby@example.test', STRONG);
  for (const newPassword of ['aaaaaaaaaa', 'password1234', 'qwertyuiop123', 'zelmiraquixby']) {
    const r = await api.post('/api/v1/me/password', { currentPassword: STRONG, newPassword }, s.accessToken);
    assert.equal(r.status, 400, `${newPassword}: ${r.text}`);
    assert.equal(r.body.error.code, 'weak_password', newPassword);
    assert.match(r.body.error.message, /^This password is too easy to guess\. \S.*\.$/, newPassword);
    const details = r.body.error.details as PasswordStrength;
    assert.deepEqual(Object.keys(details).sort(), ['score', 'suggestions', 'warning']);
    assert.ok(Number.isInteger(details.score) && details.score >= 0 && details.score < 3, `${newPassword}: score ${details.score}`);
    assert.ok(details.warning === null || typeof details.warning === 'string', "details.warning === null || typeof details.warning === 'string'");
    assert.ok(
      Array.isArray(details.suggestions) && details.suggestions.every((x) => typeof x === 'string'),
      "Array.isArray(details.suggestions) && details.suggestions.every((x) => typeof x === 'string')",
    );
  }
  const repeated = await api.post('/api/v1/me/password', { currentPassword: STRONG, newPassword: 'aaaaaaaaaa' }, s.accessToken);
  assert.match(repeated.body.error.details.warning, /Repeated characters/);
  // The account's own name is a known word: strong for anyone else, weak for them.
  const personal = await api.post('/api/v1/me/password', { currentPassword: STRONG, newPassword: 'zelmiraquixby' }, s.accessToken);
  assert.match(personal.body.error.details.warning, /personal/);
  const other = await api.signup('Other', 'someone.else@example.test', 'zelmiraquixby');
  assert.ok(other.accessToken, 'other.accessToken is set');

  const short = await api.post('/api/v1/me/password', { currentPassword: STRONG, newPassword: 'Xq7!vR2' }, s.accessToken);
  assert.equal(short.status, 400);
  assert.equal(short.body.error.code, 'validation_failed');
  const same = await api.post('/api/v1/me/password', { currentPassword: STRONG, newPassword: STRONG }, s.accessToken);
  assert.equal(same.status, 400);
  assert.equal(same.body.error.code, 'password_unchanged');
  // Nothing changed: the old password still signs in, the session still works.
  await login({ api }, s.user.email, STRONG);
  assert.equal((await api.get('/api/v1/me', s.accessToken)).status, 200);
});

test('a wrong current password is 403 wrong_password (the session is fine), and is audited', async (t) => {
  const server = await startServer(t);
  const { api } = server;
  const s = await api.signup('Acme', 'wrong@example.test', STRONG);
  const r = await api.post('/api/v1/me/password', { currentPassword: 'not the password at all', newPassword: NEXT }, s.accessToken);
  assert.equal(r.status, 403);
  assert.equal(r.body.error.code, 'wrong_password');
  assert.equal((await api.get('/api/v1/me', s.accessToken)).status, 200);
  assert.equal((await api.post('/api/v1/auth/refresh', { refreshToken: s.refreshToken })).status, 200);
  await login(server, 'wrong@example.test', STRONG);
  assert.equal((await api.post('/api/v1/auth/login', { email: 'wrong@example.test', password: NEXT })).status, 401);
  assert.ok((await auditActions(server)).includes('user.password_change_failed'), "(await auditActions(server)).includes('user.password_change_failed')");
  assert.equal((await api.post('/api/v1/me/password', { currentPassword: STRONG, newPassword: NEXT })).status, 401, 'signed in only');
});

test('a password change answers a working session and ends every other one: tokens refused, sockets closed', async (t) => {
  const server = await startServer(t);
  const { api } = server;
  const { here, there, doc, a, b } = await twoDevices(t, server);

  const r = await api.post<Session>('/api/v1/me/password', { currentPassword: STRONG, newPassword: NEXT }, here.accessToken);
  assert.equal(r.status, 200, r.text);
  const fresh = r.body;
  assert.deepEqual(Object.keys(fresh).sort(), ['accessToken', 'refreshToken', 'user']);
  assert.deepEqual(fresh.user, here.user);
  assert.equal((await api.get('/api/v1/me', fresh.accessToken)).status, 200);
  assert.equal((await api.get(`/api/v1/documents/${doc.id}`, fresh.accessToken)).status, 200);

  // The other device: access token refused at once, refresh token revoked, socket closed.
  await refused(server, there.accessToken, 'session_revoked');
  assert.equal((await api.get(`/api/v1/documents/${doc.id}`, there.accessToken)).body.error?.code, 'session_revoked');
  const theirRefresh = await api.post('/api/v1/auth/refresh', { refreshToken: there.refreshToken });
  assert.equal(theirRefresh.status, 401);
  assert.equal(theirRefresh.body.error.code, 'invalid_refresh_token');
  await closedWith(b, [[4401, 'session_revoked']]);
  // This device's old tokens and socket went too; it carries on with the new session.
  await refused(server, here.accessToken, 'session_revoked');
  assert.equal((await api.post('/api/v1/auth/refresh', { refreshToken: here.refreshToken })).status, 401);
  await closedWith(a, [[4401, 'session_revoked']]);
  const again = connect(t, server.url, doc.id, fresh.accessToken, { reconnect: false });
  await synced(again);
  paragraphText(again.doc).insert(0, 'after the change');
  await acked(again);
  const rotated = await api.post<Session>('/api/v1/auth/refresh', { refreshToken: fresh.refreshToken });
  assert.equal(rotated.status, 200, 'the new session refreshes');
  assert.equal((await api.get('/api/v1/me', rotated.body.accessToken)).status, 200);

  // A socket that reconnects with an old token is refused with the renewable reason.
  const stale = connect(t, server.url, doc.id, there.accessToken, { reconnect: false });
  await eventually(() => assert.deepEqual(stale.authFailures, ['session_revoked']));

  assert.equal((await api.post('/api/v1/auth/login', { email: here.user.email, password: STRONG })).status, 401, 'the old password is gone');
  await login(server, here.user.email, NEXT);
  assert.ok((await auditActions(server)).includes('user.password_change'), "(await auditActions(server)).includes('user.password_change')");
});

test('logout-all ends every session of the user, this one included; their next login works', async (t) => {
  const server = await startServer(t);
  const { api } = server;
  const { here, there, doc, a, b } = await twoDevices(t, server);
  const colleague = await api.addUser(here, 'member');
  await api.put(`/api/v1/documents/${doc.id}/permissions`, { userId: colleague.user.id, level: 'write' }, here.accessToken);
  const c = connect(t, server.url, doc.id, colleague.accessToken, { reconnect: false });
  await synced(c);
  const version = async () => {
    const v = await sql<{ version: string }>`select version::text as version from quire_access_versions(${[here.user.tenantId]}::uuid[])`.execute(server.quire.store.db);
    return Number(v.rows[0]?.version ?? 0);
  };
  const before = await version();

  const out = await api.post('/api/v1/auth/logout-all', undefined, here.accessToken);
  assert.equal(out.status, 204, out.text);
  assert.ok((await version()) > before, 'the tenant access version moves, so instances that missed the event re-check');
  await Promise.all([closedWith(a, [[4401, 'session_revoked']]), closedWith(b, [[4401, 'session_revoked']])]);
  for (const s of [here, there]) {
    await refused(server, s.accessToken, 'session_revoked');
    const r = await api.post('/api/v1/auth/refresh', { refreshToken: s.refreshToken });
    assert.equal(r.status, 401);
    assert.equal(r.body.error.code, 'invalid_refresh_token');
  }
  assert.equal((await api.post('/api/v1/auth/logout-all', undefined, here.accessToken)).status, 401, 'an ended session cannot sign out again');

  // Another user's session and socket are untouched.
  assert.equal((await api.get('/api/v1/me', colleague.accessToken)).status, 200);
  paragraphText(c.doc).insert(0, 'still here');
  await acked(c);
  assert.equal(c.closes.length, 0);

  const back = await login(server, here.user.email, STRONG);
  assert.equal((await api.get('/api/v1/me', back.accessToken)).status, 200);
  const d = connect(t, server.url, doc.id, back.accessToken, { reconnect: false });
  await synced(d);
  assert.ok((await auditActions(server)).includes('auth.logout_all'), "(await auditActions(server)).includes('auth.logout_all')");
});

test('an access token without the session-version claim counts as version 0', async (t) => {
  const server = await startServer(t);
  const s = await server.api.signup();
  const legacy = await server.quire.svc.tokens.signAccess({ userId: s.user.id, tenantId: s.user.tenantId, role: s.user.role as 'owner' });
  assert.equal(JSON.parse(Buffer.from(legacy.split('.')[1]!, 'base64url').toString()).sv, undefined);
  assert.equal(JSON.parse(Buffer.from(s.accessToken.split('.')[1]!, 'base64url').toString()).sv, 0);
  assert.equal((await server.api.get('/api/v1/me', legacy)).status, 200);
  assert.equal((await server.api.post('/api/v1/auth/logout-all', undefined, s.accessToken)).status, 204);
  await refused(server, legacy, 'session_revoked');
});

test('with two instances, logout-all on one closes the socket on the other (the relayed access event)', async (t) => {
  // The access-version poll is put out of reach: only the event relayed through Redis can close it in time.
  const env = { ACCESS_RECHECK_SECONDS: '300' };
  const one = await startServer(t, { redis: true, env });
  const two = await startServer(t, { redis: true, schema: one.schema, env: { ...env, REDIS_PREFIX: one.config.redis.prefix } });
  const { here, there, b } = await twoDevices(t, one, two);
  const at = Date.now();
  assert.equal((await one.api.post('/api/v1/auth/logout-all', undefined, here.accessToken)).status, 204);
  await closedWith(b, [[4401, 'session_revoked']]);
  t.diagnostic(`closed on the other instance ${Date.now() - at} ms after logout-all`);
  await refused(two, there.accessToken, 'session_revoked');
});

test('a password change reaches a socket on an instance whose Redis link is down, within the access re-check', async (t) => {
  const redisProxy = await startTcpProxy(t, targetOf(TEST_REDIS_URL));
  const env = { ACCESS_RECHECK_SECONDS: '1' };
  const one = await startServer(t, { redis: true, env });
  const two = await startServer(t, { redis: true, schema: one.schema, env: { ...env, REDIS_PREFIX: one.config.redis.prefix, REDIS_URL: redisProxy.url(TEST_REDIS_URL) } });
  t.after(() => redisProxy.resume());
  const { here, b } = await twoDevices(t, one, two);
  redisProxy.blackhole();
  const at = Date.now();
  assert.equal((await one.api.post('/api/v1/me/password', { currentPassword: STRONG, newPassword: NEXT }, here.accessToken)).status, 200);
  await closedWith(b, [[4401, 'session_revoked']]);
  t.diagnostic(`closed on the instance without Redis ${Date.now() - at} ms after the change (re-check every 1 s)`);
});

test('signup and new users with a password too easy to guess are 400 weak_password; nothing is created', async (t) => {
  const server = await startServer(t);
  const { api } = server;
  for (const [password, email, tenant] of [
    ['aaaaaaaaaa', 'a@example.test', 'Acme'],
    ['zelmiraquixby', 'zelmira.quixby@example.test', 'Acme'],
    ['quixbyrockets', 'someone@example.test', 'Quixby Rockets'],
  ]) {
    const r = await api.post('/api/v1/auth/signup', { tenant, email, password });
    assert.equal(r.status, 400, `${password}: ${r.text}`);
    assert.equal(r.body.error.code, 'weak_password', password);
    assert.ok(typeof r.body.error.details.score === 'number', "typeof r.body.error.details.score === 'number'");
  }
  const n = await sql<{ n: string }>`select count(*) as n from tenants`.execute(server.quire.store.owner);
  assert.equal(Number(n.rows[0]?.n), 0);

  const owner = await api.signup();
  const weak = await api.post('/api/v1/users', { email: 'new@example.test', password: 'aaaaaaaaaa', role: 'member' }, owner.accessToken);
  assert.equal(weak.status, 400);
  assert.equal(weak.body.error.code, 'weak_password');
  const named = await api.post('/api/v1/users', { email: 'new@example.test', password: 'zelmiraquixby', role: 'member', displayName: 'Zelmira Quixby' }, owner.accessToken);
  assert.equal(named.body.error?.code, 'weak_password', 'the new user’s name is a known word');
  assert.equal((await api.get('/api/v1/users', owner.accessToken)).body.users.length, 1);
  const ok = await api.post('/api/v1/users', { email: 'new@example.test', password: NEXT, role: 'member' }, owner.accessToken);
  assert.equal(ok.status, 201, ok.text);
});

test('password changes are rate-limited per account like logins', async (t) => {
  const { api } = await startServer(t, { env: { RATE_LIMIT_LOGIN_ACCOUNT_PER_MINUTE: '1', RATE_LIMIT_LOGIN_ACCOUNT_BURST: '3' } });
  const s = await api.signup();
  const statuses: number[] = [];
  for (let i = 0; i < 4; i++) statuses.push((await api.post('/api/v1/me/password', { currentPassword: `wrong guess number ${i}`, newPassword: NEXT }, s.accessToken)).status);
  assert.deepEqual(statuses, [403, 403, 403, 429]);
  const limited = await api.post('/api/v1/me/password', { currentPassword: STRONG, newPassword: NEXT }, s.accessToken);
  assert.equal(limited.status, 429);
  assert.equal(limited.body.error.code, 'rate_limited');
  assert.ok(Number(limited.headers.get('retry-after')) >= 1, "Number(limited.headers.get('retry-after')) >= 1");
  // Another account has its own bucket.
  const other = await api.signup();
  assert.equal((await api.post('/api/v1/me/password', { currentPassword: STRONG, newPassword: NEXT }, other.accessToken)).status, 200);
});
