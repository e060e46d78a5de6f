import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sql } from 'kysely';
import { withTenant } from '../db/store.js';
import { startServer } from './helpers/server.js';
import { eventually } from './helpers/wait.js';

test('signup creates a tenant whose caller is owner, and the access token works', async (t) => {
  const { api } = await startServer(t);
  const s = await api.signup('Acme', 'Alice@Example.test');
  assert.equal(s.user.role, 'owner');
  assert.equal(s.user.email, 'alice@example.test');
  const me = await api.get('/api/v1/me', s.accessToken);
  assert.equal(me.status, 200);
  assert.equal(me.body.tenantName, 'Acme');
  assert.equal(me.body.role, 'owner');
});

test('signup with a taken email is 409 and creates no second tenant', async (t) => {
  const { api, quire } = await startServer(t);
  await api.signup('One', 'dup@example.test');
  const r = await api.post('/api/v1/auth/signup', { tenant: 'Two', email: 'DUP@example.test', password: 'correct horse battery' });
  assert.equal(r.status, 409);
  assert.equal(r.body.error.code, 'email_taken');
  const n = await sql<{ n: string }>`select count(*) as n from tenants`.execute(quire.store.owner);
  assert.equal(Number(n.rows[0]?.n), 1);
});

test('login with the right password answers a session; a wrong one is 401 and audited', async (t) => {
  const { api, quire } = await startServer(t);
  const s = await api.signup('Acme', 'bob@example.test', 'correct horse battery');
  const ok = await api.post('/api/v1/auth/login', { email: 'bob@example.test', password: 'correct horse battery' });
  assert.equal(ok.status, 200);
  assert.equal(ok.body.user.id, s.user.id);
  const bad = await api.post('/api/v1/auth/login', { email: 'bob@example.test', password: 'wrong password!!' });
  assert.equal(bad.status, 401);
  assert.equal(bad.body.error.code, 'invalid_credentials');
  const unknown = await api.post('/api/v1/auth/login', { email: 'nobody@example.test', password: 'whatever12345' });
  assert.equal(unknown.status, 401);
  assert.equal(unknown.body.error.code, 'invalid_credentials');
  const actions = await sql<{ action: string; ip: string | null }>`select action, ip from audit_log order by id`.execute(quire.store.owner);
  assert.deepEqual(
    actions.rows.map((r) => r.action),
    ['auth.signup', 'auth.login', 'auth.login_failed'],
  );
  assert.ok(
    actions.rows.every((r) => r.ip && r.ip.length > 0),
    'audit rows carry the client ip',
  );
});

test('refresh rotates the token; reusing an old refresh token revokes the whole family', async (t) => {
  const { api, quire } = await startServer(t, { env: { REFRESH_REUSE_GRACE_SECONDS: '0' } });
  const s = await api.signup();
  const r1 = await api.post('/api/v1/auth/refresh', { refreshToken: s.refreshToken });
  assert.equal(r1.status, 200);
  assert.notEqual(r1.body.refreshToken, s.refreshToken);
  assert.ok(r1.body.accessToken, 'r1.body.accessToken is set');
  assert.equal((await api.get('/api/v1/me', r1.body.accessToken)).status, 200);

  // An attacker replays the first token: refused, and the family dies with it.
  const replay = await api.post('/api/v1/auth/refresh', { refreshToken: s.refreshToken });
  assert.equal(replay.status, 401);
  assert.equal(replay.body.error.code, 'refresh_token_reused');
  const r2 = await api.post('/api/v1/auth/refresh', { refreshToken: r1.body.refreshToken });
  assert.equal(r2.status, 401, 'the newest token of the family is revoked too');

  // Another login (another family) is unaffected.
  const other = await api.post('/api/v1/auth/login', { email: s.user.email, password: 'correct horse battery' });
  const r3 = await api.post('/api/v1/auth/refresh', { refreshToken: other.body.refreshToken });
  assert.equal(r3.status, 200);

  const reuse = await sql<{ n: string }>`select count(*) as n from audit_log where action = 'auth.refresh_reuse'`.execute(quire.store.owner);
  assert.equal(Number(reuse.rows[0]?.n), 1);
});

test('concurrent refreshes with one token and no grace window: exactly one wins', async (t) => {
  const { api } = await startServer(t, { env: { REFRESH_REUSE_GRACE_SECONDS: '0' } });
  const s = await api.signup();
  const results = await Promise.all([1, 2, 3].map(() => api.post('/api/v1/auth/refresh', { refreshToken: s.refreshToken })));
  assert.equal(results.filter((r) => r.status === 200).length, 1);
});

test('within the reuse grace window a replayed refresh token gets a new pair (lost response, racing tabs); after it, the family is revoked', async (t) => {
  const { api } = await startServer(t, { env: { REFRESH_REUSE_GRACE_SECONDS: '1' } });
  const s = await api.signup();
  const results = await Promise.all([1, 2, 3].map(() => api.post('/api/v1/auth/refresh', { refreshToken: s.refreshToken })));
  assert.deepEqual(
    results.map((r) => r.status),
    [200, 200, 200],
  );
  // Every successor works (one of them is used here; the others stay valid).
  const next = await api.post('/api/v1/auth/refresh', { refreshToken: results[0]!.body.refreshToken });
  assert.equal(next.status, 200);
  // Poll until the grace window (1 s from the token's first use) has closed: a replay is refused.
  await eventually(async () => assert.equal((await api.post('/api/v1/auth/refresh', { refreshToken: s.refreshToken })).status, 401), { intervalMs: 200, message: 'the reuse grace window closes' });
  const late = await api.post('/api/v1/auth/refresh', { refreshToken: s.refreshToken });
  assert.equal(late.status, 401);
  assert.equal(late.body.error.code, 'refresh_token_reused');
  const after = await api.post('/api/v1/auth/refresh', { refreshToken: next.body.refreshToken });
  assert.equal(after.status, 401, 'the family is revoked');
});

test('refresh tokens that are malformed, from another tenant or expired are 401', async (t) => {
  const { api, quire } = await startServer(t);
  const s = await api.signup();
  for (const bad of ['nope', 'qrt_not-a-uuid.xyz', `qrt_${crypto.randomUUID()}.${'A'.repeat(43)}`]) {
    const r = await api.post('/api/v1/auth/refresh', { refreshToken: bad });
    assert.equal(r.status, 401, bad);
    assert.equal(r.body.error.code, 'invalid_refresh_token');
  }
  await withTenant(quire.store.db, s.user.tenantId, (tx) =>
    tx
      .updateTable('refresh_tokens')
      .set({ expires_at: new Date(Date.now() - 1000) })
      .execute(),
  );
  const expired = await api.post('/api/v1/auth/refresh', { refreshToken: s.refreshToken });
  assert.equal(expired.status, 401);
});

test('logout revokes the family', async (t) => {
  const { api } = await startServer(t);
  const s = await api.signup();
  const out = await api.post('/api/v1/auth/logout', { refreshToken: s.refreshToken });
  assert.equal(out.status, 204);
  const r = await api.post('/api/v1/auth/refresh', { refreshToken: s.refreshToken });
  assert.equal(r.status, 401);
});

test('owners and admins add users; members and guests cannot; only owners create owners', async (t) => {
  const { api } = await startServer(t);
  const owner = await api.signup();
  const admin = await api.addUser(owner, 'admin');
  const member = await api.addUser(admin, 'member');
  assert.equal(member.user.role, 'member');
  assert.equal(member.user.tenantId, owner.user.tenantId);

  const byMember = await api.post('/api/v1/users', { email: 'x@example.test', password: 'long enough pw', role: 'member' }, member.accessToken);
  assert.equal(byMember.status, 403);
  const ownerByAdmin = await api.post('/api/v1/users', { email: 'y@example.test', password: 'long enough pw', role: 'owner' }, admin.accessToken);
  assert.equal(ownerByAdmin.status, 403);
  const list = await api.get('/api/v1/users', member.accessToken);
  assert.equal(list.status, 200);
  assert.equal(list.body.users.length, 3);
  const guest = await api.addUser(owner, 'guest');
  assert.equal((await api.get('/api/v1/users', guest.accessToken)).status, 403);
});

test('a removed user is cut off at once, even with an unexpired access token', async (t) => {
  const { api } = await startServer(t);
  const owner = await api.signup();
  const member = await api.addUser(owner, 'member');
  const doc = await api.createDocument(owner, 'Shared');
  assert.equal((await api.put(`/api/v1/documents/${doc.id}/permissions`, { userId: member.user.id, level: 'read' }, owner.accessToken)).status, 200);
  assert.equal((await api.get('/api/v1/documents', member.accessToken)).status, 200);
  assert.equal((await api.get(`/api/v1/documents/${doc.id}`, member.accessToken)).status, 200);
  assert.equal((await api.del(`/api/v1/users/${member.user.id}`, owner.accessToken)).status, 204);
  for (const path of ['/api/v1/documents', `/api/v1/documents/${doc.id}`, '/api/v1/documents/00000000-0000-4000-8000-000000000000']) {
    const after = await api.get(path, member.accessToken);
    assert.equal(after.status, 401, path);
    assert.equal(after.body.error.code, 'account_inactive', path);
  }
  assert.equal((await api.post('/api/v1/auth/refresh', { refreshToken: member.refreshToken })).status, 401);
  assert.equal((await api.post('/api/v1/auth/login', { email: member.user.email, password: 'another good password' })).status, 401);
});

test('the last owner cannot be demoted; role changes apply to the next request', async (t) => {
  const { api } = await startServer(t);
  const owner = await api.signup();
  const r = await api.patch(`/api/v1/users/${owner.user.id}`, { role: 'member' }, owner.accessToken);
  assert.equal(r.status, 400);
  assert.equal(r.body.error.code, 'last_owner');
  const admin = await api.addUser(owner, 'admin');
  const doc = await api.createDocument(owner, 'Owner doc');
  assert.equal((await api.get(`/api/v1/documents/${doc.id}`, admin.accessToken)).status, 200);
  assert.equal((await api.patch(`/api/v1/users/${admin.user.id}`, { role: 'member' }, owner.accessToken)).status, 200);
  assert.equal((await api.get(`/api/v1/documents/${doc.id}`, admin.accessToken)).status, 404, 'former admin lost tenant-wide access');
});

test('JWKS publishes the RS256 signing key with its kid', async (t) => {
  const { api } = await startServer(t);
  const s = await api.signup();
  const jwks = await api.get('/.well-known/jwks.json');
  assert.equal(jwks.status, 200);
  assert.equal(jwks.body.keys.length, 1);
  const key = jwks.body.keys[0];
  assert.equal(key.kty, 'RSA');
  assert.equal(key.alg, 'RS256');
  assert.equal(key.d, undefined, 'no private parts');
  const header = JSON.parse(Buffer.from(s.accessToken.split('.')[0]!, 'base64url').toString());
  assert.equal(header.kid, key.kid);
  assert.equal(header.typ, 'at+jwt');
});
