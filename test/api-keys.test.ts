/**
 * API keys: made while signed in and shown once, stored hashed, scoped (read, write,
 * search, admin) on every REST route and on `/sync`, expiring, revocable at once (REST and
 * live sockets, on another instance too), listed with their last use, audited.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sql } from 'kysely';
import type { ApiKeyList, ApiKeyScope, CreatedApiKey } from '../contract/api.js';
import { scopeFor } from '../core/api-keys.js';
import type { Session } from './helpers/api.js';
import { acked, connect, paragraphText, synced, type Client } from './helpers/provider.js';
import { DIALECTS, startServer, type TestServer } from './helpers/server.js';
import { eventually } from './helpers/wait.js';

const ALL: ApiKeyScope[] = ['read', 'write', 'search', 'admin'];

async function makeKey(server: TestServer, s: Session, scopes: ApiKeyScope[], name = `key ${scopes.join('+')}`): Promise<CreatedApiKey> {
  const r = await server.api.post<CreatedApiKey>('/api/v1/api-keys', { name, scopes }, s.accessToken);
  assert.equal(r.status, 201, r.text);
  return r.body;
}

async function auditCount(server: TestServer, action: string): Promise<number> {
  const r = await sql<{ n: string }>`select count(*)::text as n from audit_log where action = ${action}`.execute(server.quire.store.owner);
  return Number(r.rows[0]?.n);
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

for (const dialect of DIALECTS) {
  test(`${dialect}: a key is shown once, stored hashed, listed with its last use, and acts as its user within its scopes`, async (t) => {
    const server = await startServer(t, { dialect });
    const { api } = server;
    const owner = await api.signup('Acme', `keys-${dialect}@example.test`, 'correct horse battery');
    const doc = await api.createDocument(owner, 'Handbook');

    const made = await makeKey(server, owner, ['read', 'search'], 'Wiki export');
    assert.match(made.secret, new RegExp(`^qak_${owner.user.tenantId}\\.[A-Za-z0-9_-]{43}$`));
    assert.equal(made.key.hint, made.secret.slice(-4));
    assert.deepEqual(made.key.scopes, ['read', 'search']);
    assert.equal(made.key.lastUsedAt, null);
    const days = (Date.parse(made.key.expiresAt) - Date.now()) / 86_400_000;
    assert.ok(days > 89 && days <= 90, `expires in 90 days by default (${days})`);
    const stored = await sql<{ key_hash: string }>`select key_hash from api_keys`.execute(server.quire.store.owner);
    assert.equal(stored.rows.length, 1);
    assert.ok(!stored.rows[0]!.key_hash.includes(made.secret.split('.')[1]!), 'only a digest is stored');

    // It reads as its user; it does not write.
    const list = await api.get('/api/v1/documents', made.secret);
    assert.equal(list.status, 200, list.text);
    assert.deepEqual(
      list.body.documents.map((d: { id: string }) => d.id),
      [doc.id],
    );
    const write = await api.post('/api/v1/documents', { title: 'Nope' }, made.secret);
    assert.equal(write.status, 403, write.text);
    assert.equal(write.body.error.code, 'insufficient_scope');
    assert.match(write.body.error.message, /"write" scope/);

    // Listed without the secret, with its last use; the use is audited once, not per request.
    await api.get(`/api/v1/documents/${doc.id}`, made.secret);
    const listed = await api.get<ApiKeyList>('/api/v1/api-keys', owner.accessToken);
    assert.equal(listed.status, 200, listed.text);
    assert.equal(listed.body.keys.length, 1);
    const key = listed.body.keys[0]!;
    assert.ok(key.lastUsedAt && Date.parse(key.lastUsedAt) > Date.now() - 60_000, 'last used is recorded');
    assert.equal(key.lastUsedIp, '127.0.0.1');
    assert.ok(!JSON.stringify(listed.body).includes(made.secret), 'the secret is never shown again');
    assert.equal(await auditCount(server, 'api_key.used'), 1, 'three uses, one audit row');
    assert.equal(await auditCount(server, 'api_key.created'), 1);

    // Signing out everywhere ends sessions, not keys.
    assert.equal((await api.post('/api/v1/auth/logout-all', undefined, owner.accessToken)).status, 204);
    assert.equal((await api.get('/api/v1/documents', made.secret)).status, 200, 'the key keeps working');
  });
}

test('every route asks a key for its scope: refused without it, let through with it; account routes refuse keys', async (t) => {
  const server = await startServer(t);
  const { api } = server;
  const owner = await api.signup('Acme', 'scopes@example.test', 'correct horse battery');
  const keys = new Map<string, string>();
  const keyWith = async (scopes: ApiKeyScope[]) => {
    const name = scopes.join('+') || 'none';
    if (!keys.has(name)) keys.set(name, (await makeKey(server, owner, scopes)).secret);
    return keys.get(name)!;
  };
  // Routes that never authenticate (health, public links, sign-in, unsubscribe, the OpenAPI document): a key is not asked.
  const PUBLIC = /^\/(health|ready|metrics|\.well-known\/)|^\/api\/v1\/(public\/|unsubscribe$|openapi\.json$|push\/vapid-public-key$|auth\/(?!logout-all$))/;
  const routes = server.quire.edge.routes().filter((r) => !PUBLIC.test(r.pattern));
  assert.ok(routes.length > 80, `the whole API (${routes.length} routes)`);
  const path = (pattern: string) => pattern.replace(/:[a-zA-Z]+/g, () => crypto.randomUUID());
  const method = (m: string) => (m === 'del' ? 'DELETE' : m.toUpperCase());
  for (const r of routes) {
    const needed = scopeFor(r.method === 'del' ? 'delete' : r.method, r.pattern);
    const without = needed === null ? ALL : ALL.filter((s) => s !== needed);
    const bodiless = r.method === 'get' || r.method === 'head';
    const refused = await api.request(method(r.method), path(r.pattern), { token: await keyWith(without), json: bodiless ? undefined : {} });
    assert.equal(refused.status, 403, `${r.method} ${r.pattern} without ${needed}: ${refused.text}`);
    // A HEAD answer has no body to carry the code.
    if (r.method !== 'head') assert.equal(refused.body.error.code, 'insufficient_scope', `${r.method} ${r.pattern}`);
    if (needed === null) continue;
    if (r.pattern === '/api/v1/notifications/stream') continue;
    const allowed = await api.request(method(r.method), path(r.pattern), { token: await keyWith([needed]), json: bodiless ? undefined : {} });
    assert.notEqual(allowed.body?.error?.code, 'insufficient_scope', `${r.method} ${r.pattern} with ${needed}: ${allowed.text}`);
    assert.notEqual(allowed.status, 401, `${r.method} ${r.pattern} with ${needed}: ${allowed.text}`);
  }
  // The account itself is out of a key's reach, whatever its scopes.
  for (const [m, p] of [
    ['POST', '/api/v1/api-keys'],
    ['GET', '/api/v1/me/sessions'],
    ['POST', '/api/v1/me/password'],
    ['POST', '/api/v1/auth/logout-all'],
  ] as const) {
    const r = await api.request(m, p, { token: await keyWith(ALL), json: m === 'GET' ? undefined : {} });
    assert.equal(r.body.error?.code, 'insufficient_scope', `${m} ${p}`);
  }
});

test('the admin scope needs an admin; a key never goes beyond its user; workspaces stay apart', async (t) => {
  const server = await startServer(t);
  const { api } = server;
  const owner = await api.signup('Acme', 'admin-scope@example.test', 'correct horse battery');
  const member = await api.addUser(owner, 'member');
  const refused = await api.post('/api/v1/api-keys', { name: 'x', scopes: ['admin'] }, member.accessToken);
  assert.equal(refused.status, 403, refused.text);
  const memberKey = await makeKey(server, member, ['read', 'write']);
  const ownersDoc = await api.createDocument(owner, 'Private');
  assert.equal((await api.get(`/api/v1/documents/${ownersDoc.id}`, memberKey.secret)).status, 404, "a member's key sees what the member sees");
  assert.equal((await api.get('/api/v1/audit', memberKey.secret)).body.error.code, 'insufficient_scope');

  const adminKey = await makeKey(server, owner, ['admin']);
  assert.equal((await api.get('/api/v1/audit', adminKey.secret)).status, 200, 'the admin scope reads the audit log');

  // Owners list and revoke every key of the workspace; a member only their own.
  const all = await api.get<ApiKeyList>('/api/v1/api-keys?all=true', owner.accessToken);
  assert.equal(all.body.keys.length, 2);
  assert.equal((await api.get('/api/v1/api-keys?all=true', member.accessToken)).status, 403);
  assert.equal((await api.get<ApiKeyList>('/api/v1/api-keys', member.accessToken)).body.keys.length, 1);
  assert.equal((await api.del(`/api/v1/api-keys/${adminKey.key.id}`, member.accessToken)).status, 404, "not the member's key");
  const other = await api.signup('Other', 'other-keys@example.test', 'correct horse battery');
  assert.equal((await api.del(`/api/v1/api-keys/${memberKey.key.id}`, other.accessToken)).status, 404, 'another workspace');
  assert.equal((await api.get<ApiKeyList>('/api/v1/api-keys?all=true', other.accessToken)).body.keys.length, 0);
  // A key whose tenant part names another workspace is unknown there.
  const forged = memberKey.secret.replace(owner.user.tenantId, other.user.tenantId);
  assert.equal((await api.get('/api/v1/documents', forged)).body.error.code, 'invalid_api_key');

  // Bad input is a 400, never a key.
  for (const body of [
    {},
    { name: '', scopes: ['read'] },
    { name: 'x', scopes: [] },
    { name: 'x', scopes: ['root'] },
    { name: 'x', scopes: ['read'], expiresInDays: 0 },
    { name: 'x', scopes: ['read'], expiresInDays: 366 },
    { name: 'a\u0000b', scopes: ['read'] },
  ]) {
    assert.equal((await api.post('/api/v1/api-keys', body, owner.accessToken)).status, 400, JSON.stringify(body));
  }
  // A removed user's keys stop at once.
  assert.equal((await api.del(`/api/v1/users/${member.user.id}`, owner.accessToken)).status, 204);
  assert.equal((await api.get('/api/v1/documents', memberKey.secret)).status, 401);
});

test('keys on /sync: read-only without the write scope, refused without read; revoking closes the socket on another instance; expired keys stop', async (t) => {
  const a = await startServer(t);
  const { api } = a;
  const owner = await api.signup('Acme', 'sync-keys@example.test', 'correct horse battery');
  const doc = await api.createDocument(owner, 'Live');
  // Another instance that hears of the revocation only through the database.
  const b = await startServer(t, { schema: a.schema });

  const writer = await makeKey(a, owner, ['read', 'write']);
  const reader = await makeKey(a, owner, ['read']);
  const searcher = await makeKey(a, owner, ['search']);

  const w = connect(t, b.url, doc.id, writer.secret, { reconnect: false });
  await synced(w);
  paragraphText(w.doc).insert(0, 'from the integration');
  await eventually(async () => {
    const r = await api.get(`/api/v1/documents/${doc.id}/content?format=text`, owner.accessToken);
    assert.match(r.text, /from the integration/);
  });

  const r = connect(t, a.url, doc.id, reader.secret, { reconnect: false });
  await synced(r);
  assert.ok(
    r.notices.some((n) => n.type === 'quire.access' && n.level === 'read'),
    'told it is read-only',
  );
  assert.equal(r.provider.authorizedScope, 'readonly');
  paragraphText(r.doc).insert(0, 'should not land ');
  // A change by the writer is acknowledged after the reader's was sent: the reader's never lands.
  paragraphText(w.doc).insert(0, '+');
  await acked(w);
  assert.equal(r.provider.hasUnsyncedChanges, true, 'never acknowledged');
  const content = await api.get(`/api/v1/documents/${doc.id}/content?format=text`, owner.accessToken);
  assert.doesNotMatch(content.text, /should not land/);

  const s = connect(t, a.url, doc.id, searcher.secret, { reconnect: false });
  await eventually(() => assert.ok(s.authFailures.length > 0, 'a key without read cannot open a document'));

  // Revoked on instance A: the socket on instance B closes; REST refuses at once.
  assert.equal((await api.del(`/api/v1/api-keys/${writer.key.id}`, owner.accessToken)).status, 204);
  await closedWith(w, 4401, 'session_revoked');
  assert.equal((await b.api.get('/api/v1/documents', writer.secret)).body.error.code, 'invalid_api_key');
  const again = connect(t, a.url, doc.id, writer.secret, { reconnect: false });
  await eventually(() => assert.ok(again.authFailures.length > 0, 'a revoked key cannot connect'));
  assert.equal(await auditCount(a, 'api_key.revoked'), 1);

  // Expired: refused on REST and on the socket's next check.
  await sql`update api_keys set expires_at = now() - interval '1 second' where id = ${reader.key.id}`.execute(a.quire.store.owner);
  const expired = await api.get('/api/v1/documents', reader.secret);
  assert.equal(expired.status, 401);
  assert.equal(expired.body.error.code, 'invalid_api_key');
});
