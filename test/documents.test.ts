import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DIALECTS, startServer } from './helpers/server.js';

test('create, get, rename, list and soft delete a document', async (t) => {
  const { api } = await startServer(t);
  const s = await api.signup();
  const created = await api.post('/api/v1/documents', { title: '  Plans  ' }, s.accessToken);
  assert.equal(created.status, 201);
  assert.equal(created.body.title, 'Plans');
  assert.equal(created.body.access, 'admin');
  const id = created.body.id;
  const got = await api.get(`/api/v1/documents/${id}`, s.accessToken);
  assert.equal(got.status, 200);
  assert.equal(got.body.createdBy, s.user.id);
  assert.equal((await api.patch(`/api/v1/documents/${id}`, { title: 'Roadmap' }, s.accessToken)).body.title, 'Roadmap');
  const list = await api.get('/api/v1/documents', s.accessToken);
  assert.deepEqual(
    list.body.documents.map((d: { title: string }) => d.title),
    ['Roadmap'],
  );
  assert.equal((await api.del(`/api/v1/documents/${id}`, s.accessToken)).status, 204);
  assert.equal((await api.get(`/api/v1/documents/${id}`, s.accessToken)).status, 404);
  assert.equal((await api.get('/api/v1/documents', s.accessToken)).body.documents.length, 0);
});

test('cursor pagination walks every readable document once, newest first', async (t) => {
  const { api } = await startServer(t);
  const s = await api.signup();
  const ids: string[] = [];
  for (let i = 0; i < 7; i++) ids.push((await api.createDocument(s, `Doc ${i}`)).id);
  const seen: string[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const q: string = cursor ? `?limit=3&cursor=${encodeURIComponent(cursor)}` : '?limit=3';
    const r = await api.get(`/api/v1/documents${q}`, s.accessToken);
    assert.equal(r.status, 200);
    seen.push(...r.body.documents.map((d: { id: string }) => d.id));
    cursor = r.body.nextCursor;
    pages++;
  } while (cursor);
  assert.equal(pages, 3);
  assert.deepEqual(seen, [...ids].reverse());
  const bad = await api.get('/api/v1/documents?cursor=not-a-cursor', s.accessToken);
  assert.equal(bad.status, 400);
  assert.equal(bad.body.error.code, 'invalid_cursor');
  assert.equal((await api.get('/api/v1/documents?limit=0', s.accessToken)).status, 400);
  assert.equal((await api.get('/api/v1/documents?limit=201', s.accessToken)).status, 400);
  assert.equal((await api.get('/api/v1/documents?bogus=1', s.accessToken)).status, 400);
});

test('permissions: members see only what is shared; levels gate writes; none removes access', async (t) => {
  const { api } = await startServer(t);
  const owner = await api.signup();
  const member = await api.addUser(owner, 'member');
  const guest = await api.addUser(owner, 'guest');
  const doc = await api.createDocument(owner, 'Shared');
  await api.createDocument(owner, 'Private');

  assert.equal((await api.get(`/api/v1/documents/${doc.id}`, member.accessToken)).status, 404);
  assert.equal((await api.get('/api/v1/documents', member.accessToken)).body.documents.length, 0);

  const share = await api.put(`/api/v1/documents/${doc.id}/permissions`, { userId: member.user.id, level: 'read' }, owner.accessToken);
  assert.equal(share.status, 200);
  assert.equal(share.body.level, 'read');
  const seen = await api.get('/api/v1/documents', member.accessToken);
  assert.deepEqual(
    seen.body.documents.map((d: { title: string; access: string }) => [d.title, d.access]),
    [['Shared', 'read']],
  );

  // read: cannot rename, delete or share
  assert.equal((await api.patch(`/api/v1/documents/${doc.id}`, { title: 'x' }, member.accessToken)).status, 403);
  assert.equal((await api.del(`/api/v1/documents/${doc.id}`, member.accessToken)).status, 403);
  assert.equal((await api.put(`/api/v1/documents/${doc.id}/permissions`, { userId: guest.user.id, level: 'read' }, member.accessToken)).status, 403);

  await api.put(`/api/v1/documents/${doc.id}/permissions`, { userId: member.user.id, level: 'write' }, owner.accessToken);
  assert.equal((await api.patch(`/api/v1/documents/${doc.id}`, { title: 'Renamed' }, member.accessToken)).status, 200);
  assert.equal((await api.del(`/api/v1/documents/${doc.id}`, member.accessToken)).status, 403);

  const perms = await api.get(`/api/v1/documents/${doc.id}/permissions`, member.accessToken);
  assert.deepEqual(
    perms.body.permissions.map((p: { userId: string; level: string }) => [p.userId, p.level]).sort(),
    [
      [owner.user.id, 'admin'],
      [member.user.id, 'write'],
    ].sort(),
  );

  // A user id is a UUID in any case; the answer names it as stored (lower case), revoked or not.
  const revoked = await api.put(`/api/v1/documents/${doc.id}/permissions`, { userId: member.user.id.toUpperCase(), level: 'none' }, owner.accessToken);
  assert.deepEqual(revoked.body, { userId: member.user.id, level: 'none' });
  assert.equal((await api.get(`/api/v1/documents/${doc.id}`, member.accessToken)).status, 404);

  // Guests cannot create; a guest never sees unshared documents either.
  assert.equal((await api.post('/api/v1/documents', { title: 'g' }, guest.accessToken)).status, 400);
  assert.equal((await api.get('/api/v1/documents', guest.accessToken)).body.documents.length, 0);
  // Tenant admins see everything.
  const admin = await api.addUser(owner, 'admin');
  assert.equal((await api.get('/api/v1/documents', admin.accessToken)).body.documents.length, 2);
  // Nobody changes their own access (no accidental lock-out).
  const self = await api.put(`/api/v1/documents/${doc.id}/permissions`, { userId: owner.user.id, level: 'read' }, owner.accessToken);
  assert.equal(self.status, 400);
});

test('cross-tenant: every path to another tenant’s document answers 404 and lists never include it', async (t) => {
  const { api } = await startServer(t);
  const a = await api.signup('Tenant A');
  const b = await api.signup('Tenant B');
  const bMember = await api.addUser(b, 'member');
  const doc = await api.createDocument(a, 'Secret of A');
  const tok = b.accessToken;
  const paths: [string, string, unknown?][] = [
    ['GET', `/api/v1/documents/${doc.id}`],
    ['PATCH', `/api/v1/documents/${doc.id}`, { title: 'pwned' }],
    ['DELETE', `/api/v1/documents/${doc.id}`],
    ['GET', `/api/v1/documents/${doc.id}/permissions`],
    ['PUT', `/api/v1/documents/${doc.id}/permissions`, { userId: bMember.user.id, level: 'write' }],
  ];
  for (const [method, path, json] of paths) {
    const r = await api.request(method, path, { token: tok, json });
    assert.equal(r.status, 404, `${method} ${path}`);
    assert.equal(r.body.error.code, 'document_not_found');
  }
  // A nonexistent id answers exactly the same.
  const missing = await api.get(`/api/v1/documents/${crypto.randomUUID()}`, tok);
  assert.equal(missing.status, 404);
  assert.deepEqual(missing.body, (await api.get(`/api/v1/documents/${doc.id}`, tok)).body);
  assert.equal((await api.get('/api/v1/documents', tok)).body.documents.length, 0);
  // A's owner cannot share with a user of B either.
  const cross = await api.put(`/api/v1/documents/${doc.id}/permissions`, { userId: bMember.user.id, level: 'read' }, a.accessToken);
  assert.equal(cross.status, 404);
  assert.equal(cross.body.error.code, 'user_not_found');
  // B cannot manage A's users.
  assert.equal((await api.del(`/api/v1/users/${a.user.id}`, tok)).status, 404);
  assert.equal((await api.patch(`/api/v1/users/${a.user.id}`, { role: 'guest' }, tok)).status, 404);
  // The document is intact for A.
  const still = await api.get(`/api/v1/documents/${doc.id}`, a.accessToken);
  assert.equal(still.body.title, 'Secret of A');
});

for (const dialect of DIALECTS) {
  test(`the list gives the same ISO timestamps as the document itself (${dialect})`, async (t) => {
    const { api } = await startServer(t, { dialect });
    const s = await api.signup();
    const a = await api.createDocument(s, 'First');
    await api.patch(`/api/v1/documents/${a.id}`, { title: 'First, renamed' }, s.accessToken);
    await api.createDocument(s, 'Second');
    const list = await api.get('/api/v1/documents', s.accessToken);
    assert.equal(list.status, 200);
    for (const d of list.body.documents as { id: string; createdAt: string; updatedAt: string }[]) {
      const one = await api.get(`/api/v1/documents/${d.id}`, s.accessToken);
      assert.match(d.createdAt, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
      assert.equal(d.createdAt, one.body.createdAt);
      assert.equal(d.updatedAt, one.body.updatedAt);
    }
  });
}
