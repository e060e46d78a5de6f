/**
 * Sessions (signed-in devices): each sign-in is listed with its browser, address and last
 * use; a user signs one out, or every other one; an admin ends all of a user's. An ended
 * session's refresh fails, its access tokens are refused at once and its live sockets
 * close, on this instance and on another that only hears of it through the database.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sql } from 'kysely';
import type { SessionInfo, SessionList, Session } from '../contract/api.js';
import { connect, synced, type Client } from './helpers/provider.js';
import { DIALECTS, startServer, type TestServer } from './helpers/server.js';
import { eventually } from './helpers/wait.js';

const STRONG = 'correct horse battery';
const FIREFOX = 'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0';
const SAFARI = 'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1';

async function login(server: TestServer, email: string, userAgent: string): Promise<Session> {
  const r = await server.api.request<Session>('POST', '/api/v1/auth/login', { json: { email, password: STRONG }, headers: { 'user-agent': userAgent } });
  assert.equal(r.status, 200, r.text);
  return r.body;
}

async function sessions(server: TestServer, s: { accessToken: string }): Promise<SessionInfo[]> {
  const r = await server.api.get<SessionList>('/api/v1/me/sessions', s.accessToken);
  assert.equal(r.status, 200, r.text);
  return r.body.sessions;
}

function closedWith(c: Client, code: number, reason: string): Promise<void> {
  return eventually(
    () =>
      assert.deepEqual(
        c.closes.map((x) => [x.code, x.reason]),
        [[code, reason]],
      ),
    { timeoutMs: 10_000 },
  );
}

async function auditRows(server: TestServer, action: string): Promise<{ actor_id: string | null; target_id: string | null; detail: unknown }[]> {
  const r = await sql<{ actor_id: string | null; target_id: string | null; detail: unknown }>`
    select actor_id, target_id, detail from audit_log where action = ${action} order by id`.execute(server.quire.store.owner);
  return r.rows;
}

for (const dialect of DIALECTS) {
  test(`${dialect}: each sign-in is a session listed with its browser, address and times; this device is marked`, async (t) => {
    const server = await startServer(t, { dialect });
    const owner = await server.api.signup('Acme', `s-${dialect}@example.test`, STRONG);
    const laptop = await login(server, owner.user.email, FIREFOX);
    const phone = await login(server, owner.user.email, SAFARI);

    const listed = await sessions(server, laptop);
    assert.equal(listed.length, 3, 'signup, laptop and phone');
    const current = listed.filter((s) => s.current);
    assert.equal(current.length, 1, 'one is this device');
    assert.equal(current[0]?.userAgent, FIREFOX);
    assert.deepEqual(listed.map((s) => s.method).sort(), ['password', 'password', 'signup']);
    for (const s of listed) {
      assert.equal(s.ip, '127.0.0.1', 'the address it signed in from');
      assert.ok(Date.parse(s.createdAt) <= Date.parse(s.lastUsedAt), 'last used is not before the sign-in');
      assert.equal(s.mfa, false);
    }
    assert.ok(
      listed.some((s) => s.userAgent === SAFARI),
      'the phone is listed',
    );

    // A refresh moves "last used" and keeps the session; the new access token is the same session's.
    const phoneId = (await sessions(server, phone)).find((s) => s.current)!.id;
    const before = listed.find((s) => s.id === phoneId)!.lastUsedAt;
    await eventually(async () => {
      const r = await server.api.request<Session>('POST', '/api/v1/auth/refresh', { json: { refreshToken: phone.refreshToken }, headers: { 'user-agent': SAFARI } });
      assert.equal(r.status, 200, r.text);
      phone.refreshToken = r.body.refreshToken;
      phone.accessToken = r.body.accessToken;
      const now = (await sessions(server, phone)).find((s) => s.id === phoneId);
      assert.ok(now && now.current, 'still the same session after a refresh');
      assert.ok(Date.parse(now.lastUsedAt) > Date.parse(before), `last used moves (${before} → ${now.lastUsedAt})`);
    });
    assert.equal((await sessions(server, laptop)).length, 3, 'a refresh starts no session');

    // Another user of the workspace does not see them; another workspace's user neither.
    const member = await server.api.addUser(owner, 'member');
    assert.ok(
      (await sessions(server, member)).every((s) => s.current || s.id !== phoneId),
      'a colleague sees only their own',
    );
    assert.equal((await server.api.get(`/api/v1/users/${owner.user.id}/sessions`, member.accessToken)).status, 403, 'members do not see others');
  });
}

test('signing one session out: its refresh fails, its tokens are refused and its socket closes; the others carry on', async (t) => {
  const server = await startServer(t);
  const owner = await server.api.signup('Acme', 'one@example.test', STRONG);
  const laptop = await login(server, owner.user.email, FIREFOX);
  const phone = await login(server, owner.user.email, SAFARI);
  const doc = await server.api.createDocument(owner, 'Notes');
  const onPhone = connect(t, server.url, doc.id, phone.accessToken, { reconnect: false });
  const onLaptop = connect(t, server.url, doc.id, laptop.accessToken, { reconnect: false });
  await Promise.all([synced(onPhone), synced(onLaptop)]);

  const phoneId = (await sessions(server, phone)).find((s) => s.current)!.id;
  const ended = await server.api.del(`/api/v1/me/sessions/${phoneId}`, laptop.accessToken);
  assert.equal(ended.status, 204, ended.text);

  await closedWith(onPhone, 4401, 'session_revoked');
  const me = await server.api.get('/api/v1/me', phone.accessToken);
  assert.equal(me.status, 401);
  assert.equal(me.body.error.code, 'session_revoked');
  assert.equal((await server.api.get(`/api/v1/documents/${doc.id}`, phone.accessToken)).body.error?.code, 'session_revoked', 'the one-statement read checks too');
  const refresh = await server.api.post('/api/v1/auth/refresh', { refreshToken: phone.refreshToken });
  assert.equal(refresh.status, 401, 'its refresh fails');
  assert.ok(!(await sessions(server, laptop)).some((s) => s.id === phoneId), 'no longer listed');

  // The laptop and the first session carry on.
  assert.equal((await server.api.get('/api/v1/me', laptop.accessToken)).status, 200);
  assert.equal((await server.api.get('/api/v1/me', owner.accessToken)).status, 200);
  assert.equal((await server.api.post('/api/v1/auth/refresh', { refreshToken: laptop.refreshToken })).status, 200);
  assert.equal(onLaptop.closes.length, 0, 'the laptop socket stays open');

  // Someone else's session, a made-up one or an ended one: 404, never a change.
  const other = await server.api.signup('Other', 'other@example.test', STRONG);
  const otherId = (await sessions(server, other))[0]!.id;
  for (const id of [otherId, phoneId, '00000000-0000-4000-8000-000000000000']) {
    const r = await server.api.del(`/api/v1/me/sessions/${id}`, laptop.accessToken);
    assert.equal(r.status, 404, `${id}: ${r.text}`);
    assert.equal(r.body.error.code, 'session_not_found');
  }
  assert.equal((await server.api.get('/api/v1/me', other.accessToken)).status, 200, 'the other workspace is untouched');
  assert.equal((await server.api.del('/api/v1/me/sessions/not-a-uuid', laptop.accessToken)).status, 404);

  const rows = await auditRows(server, 'session.end');
  assert.equal(rows.length, 1, 'one audit row');
  assert.equal(rows[0]?.target_id, phoneId);
  assert.equal(rows[0]?.actor_id, owner.user.id);
});

test('"sign out all other sessions" keeps this one; logout ends its own session', async (t) => {
  const server = await startServer(t);
  const owner = await server.api.signup('Acme', 'others@example.test', STRONG);
  const laptop = await login(server, owner.user.email, FIREFOX);
  const phone = await login(server, owner.user.email, SAFARI);
  const doc = await server.api.createDocument(owner, 'Notes');
  const onPhone = connect(t, server.url, doc.id, phone.accessToken, { reconnect: false });
  await synced(onPhone);

  const r = await server.api.del<{ ended: number }>('/api/v1/me/sessions', laptop.accessToken);
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.body, { ended: 2 });
  await closedWith(onPhone, 4401, 'session_revoked');
  for (const s of [owner, phone]) {
    assert.equal((await server.api.get('/api/v1/me', s.accessToken)).body.error?.code, 'session_revoked');
    assert.equal((await server.api.post('/api/v1/auth/refresh', { refreshToken: s.refreshToken })).status, 401);
  }
  const left = await sessions(server, laptop);
  assert.deepEqual(
    left.map((s) => s.current),
    [true],
    'only this device is left',
  );
  assert.equal((await auditRows(server, 'session.end_others')).length, 1);

  // Logout ends the session: it leaves the list at once (seen from a new sign-in).
  assert.equal((await server.api.post('/api/v1/auth/logout', { refreshToken: laptop.refreshToken })).status, 204);
  assert.equal((await server.api.get('/api/v1/me', laptop.accessToken)).body.error?.code, 'session_revoked', 'its access token goes with it');
  const again = await login(server, owner.user.email, FIREFOX);
  assert.deepEqual(
    (await sessions(server, again)).map((s) => s.current),
    [true],
  );
});

test("an admin ends a user's sessions on every instance; owners are protected from admins", async (t) => {
  const a = await startServer(t, { redis: true });
  const owner = await a.api.signup('Acme', 'admin-ends@example.test', STRONG);
  // A second instance on the same database that never hears the first's access events:
  // it learns of the ended sessions through the access version in the database.
  const b = await startServer(t, { schema: a.schema });
  const member = await a.api.addUser(owner, 'member');
  const admin = await a.api.addUser(owner, 'admin');
  const doc = await a.api.createDocument(owner, 'Notes');
  const grant = await a.api.put(`/api/v1/documents/${doc.id}/permissions`, { userId: member.user.id, level: 'write' }, owner.accessToken);
  assert.equal(grant.status, 200, grant.text);
  const elsewhere = connect(t, b.url, doc.id, member.accessToken, { reconnect: false });
  await synced(elsewhere);

  const listed = await a.api.get<SessionList>(`/api/v1/users/${member.user.id}/sessions`, admin.accessToken);
  assert.equal(listed.status, 200, listed.text);
  assert.equal(listed.body.sessions.length, 1);
  assert.equal(listed.body.sessions[0]?.current, false, "the admin's own session is not the user's");

  assert.equal((await a.api.del(`/api/v1/users/${member.user.id}/sessions`, admin.accessToken)).status, 204);
  await closedWith(elsewhere, 4401, 'session_revoked');
  assert.equal((await b.api.get('/api/v1/me', member.accessToken)).body.error?.code, 'session_revoked');
  assert.equal((await a.api.post('/api/v1/auth/refresh', { refreshToken: member.refreshToken })).status, 401);
  assert.equal((await a.api.get<SessionList>(`/api/v1/users/${member.user.id}/sessions`, admin.accessToken)).body.sessions.length, 0);
  const rows = await auditRows(a, 'user.sessions_ended');
  assert.equal(rows.length, 1);
  assert.equal(rows[0]?.target_id, member.user.id);
  assert.equal(rows[0]?.actor_id, admin.user.id);

  // An admin cannot end an owner's sessions; a member cannot end anyone's.
  const denied = await a.api.del(`/api/v1/users/${owner.user.id}/sessions`, admin.accessToken);
  assert.equal(denied.status, 403, denied.text);
  assert.equal((await a.api.get('/api/v1/me', owner.accessToken)).status, 200);
  // Another workspace's admin: the user is not found there.
  const other = await a.api.signup('Other', 'other-admin@example.test', STRONG);
  assert.equal((await a.api.del(`/api/v1/users/${admin.user.id}/sessions`, other.accessToken)).status, 404);
  assert.equal((await a.api.get('/api/v1/me', admin.accessToken)).status, 200);
});
