import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { acked, connect, paragraphText, synced } from './helpers/provider.js';
import { startServer } from './helpers/server.js';
import { eventually } from './helpers/wait.js';

/** Waits until the client's socket was closed with exactly these (code, reason) pairs. */
function closedWith(c: { closes: { code: number; reason: string }[] }, expected: [number, string][]): Promise<void> {
  return eventually(
    () =>
      assert.deepEqual(
        c.closes.map((x) => [x.code, x.reason]),
        expected,
      ),
    { timeoutMs: 5000 },
  );
}

/** An owner's synced socket on a new document; `auth.token` is what it sends on its next `sendToken()`. */
async function openWithToken(t: TestContext) {
  const { api, url } = await startServer(t);
  const owner = await api.signup();
  const doc = await api.createDocument(owner, 'Tok');
  const auth = { token: owner.accessToken };
  const c = connect(t, url, doc.id, () => auth.token, { reconnect: false });
  await synced(c);
  return { api, owner, c, auth };
}

test('a read-only user syncs and shows in presence, but their updates and stateless messages are refused', async (t) => {
  const { api, url } = await startServer(t);
  const owner = await api.signup();
  const reader = await api.addUser(owner, 'member');
  const doc = await api.post('/api/v1/documents', { title: 'RO', text: 'original' }, owner.accessToken);
  const id = doc.body.id;
  await api.put(`/api/v1/documents/${id}/permissions`, { userId: reader.user.id, level: 'read' }, owner.accessToken);

  const w = connect(t, url, id, owner.accessToken);
  const r = connect(t, url, id, reader.accessToken);
  await Promise.all([synced(w), synced(r)]);
  assert.equal(r.provider.authorizedScope, 'readonly');
  await eventually(() => assert.equal(r.doc.getXmlFragment('default').length, 1));

  paragraphText(r.doc).insert(0, 'HACKED ');
  r.provider.setAwarenessField('user', { name: 'reader' });
  r.provider.sendStateless('hello?');
  await eventually(() => {
    const whats = r.notices.filter((n) => n?.type === 'quire.refused').map((n) => n.what);
    assert.ok(whats.includes('stateless'), JSON.stringify(r.notices));
    assert.ok(!whats.includes('awareness'), JSON.stringify(r.notices));
  });
  // Refused: the update is never acknowledged.
  assert.equal(r.provider.hasUnsyncedChanges, true);
  // The writer sees the reader in presence, and no change.
  paragraphText(w.doc).insert(0, 'ok ');
  await acked(w);
  const text = (await api.get(`/api/v1/documents/${id}/content`, owner.accessToken)).text;
  assert.equal(text, 'ok original');
  const readerClient = r.doc.clientID;
  await eventually(() => assert.deepEqual((w.provider.awareness!.getStates().get(readerClient) as { user?: unknown } | undefined)?.user, { name: 'reader' }));
  assert.doesNotMatch(w.doc.getXmlFragment('default').toString(), /HACKED/);
});

test('no access, a bad token or a missing document: refused with a clear reason, nothing leaks', async (t) => {
  const { api, url } = await startServer(t);
  const a = await api.signup('A');
  const b = await api.signup('B');
  const doc = await api.post('/api/v1/documents', { title: 'secret', text: 'top secret' }, a.accessToken);
  const cross = connect(t, url, doc.body.id, b.accessToken);
  const bogus = connect(t, url, doc.body.id, 'not-a-token');
  const missing = connect(t, url, crypto.randomUUID(), a.accessToken);
  const badName = connect(t, url, '../../etc/passwd', a.accessToken);
  await eventually(() => {
    assert.deepEqual(cross.authFailures, ['forbidden']);
    assert.deepEqual(bogus.authFailures, ['invalid_token']);
    assert.deepEqual(missing.authFailures, ['forbidden']);
    assert.deepEqual(badName.authFailures, ['forbidden']);
  });
  assert.equal(cross.doc.getXmlFragment('default').length, 0, 'no content leaked');
});

test('revocation: downgrade to read, then removal, reach the live socket within seconds', async (t) => {
  const { api, url } = await startServer(t);
  const owner = await api.signup();
  const member = await api.addUser(owner, 'member');
  const doc = await api.createDocument(owner, 'Shared');
  await api.put(`/api/v1/documents/${doc.id}/permissions`, { userId: member.user.id, level: 'write' }, owner.accessToken);
  const m = connect(t, url, doc.id, member.accessToken, { reconnect: false });
  await synced(m);
  paragraphText(m.doc).insert(0, 'allowed ');
  await acked(m);

  await api.put(`/api/v1/documents/${doc.id}/permissions`, { userId: member.user.id, level: 'read' }, owner.accessToken);
  await eventually(
    () =>
      assert.ok(
        m.notices.some((n) => n?.type === 'quire.access' && n.level === 'read'),
        "m.notices.some((n) => n?.type === 'quire.access' && n.level === 'read')",
      ),
    { timeoutMs: 5000 },
  );
  paragraphText(m.doc).insert(0, 'refused ');
  const o = connect(t, url, doc.id, owner.accessToken);
  await synced(o);
  await eventually(() => assert.match(o.doc.getXmlFragment('default').toString(), /allowed/));
  assert.doesNotMatch(o.doc.getXmlFragment('default').toString(), /refused/);

  await api.put(`/api/v1/documents/${doc.id}/permissions`, { userId: member.user.id, level: 'none' }, owner.accessToken);
  await eventually(
    () =>
      assert.deepEqual(
        m.closes.map((c) => c.code),
        [4403],
      ),
    { timeoutMs: 5000 },
  );
});

test('a role change that loses tenant-wide access closes the socket as access revoked', async (t) => {
  const { api, url } = await startServer(t);
  const owner = await api.signup();
  const admin = await api.addUser(owner, 'admin');
  const doc = await api.createDocument(owner, 'Owner only');
  const c = connect(t, url, doc.id, admin.accessToken, { reconnect: false });
  await synced(c);
  await api.patch(`/api/v1/users/${admin.user.id}`, { role: 'member' }, owner.accessToken);
  await closedWith(c, [[4403, 'access_revoked']]);
});

test('removing a user and deleting a document close their sockets', async (t) => {
  const { api, url } = await startServer(t);
  const owner = await api.signup();
  const member = await api.addUser(owner, 'member');
  const doc1 = await api.createDocument(owner, 'One');
  const doc2 = await api.createDocument(owner, 'Two');
  await api.put(`/api/v1/documents/${doc1.id}/permissions`, { userId: member.user.id, level: 'write' }, owner.accessToken);
  const m = connect(t, url, doc1.id, member.accessToken, { reconnect: false });
  const o = connect(t, url, doc2.id, owner.accessToken, { reconnect: false });
  await Promise.all([synced(m), synced(o)]);
  await api.del(`/api/v1/users/${member.user.id}`, owner.accessToken);
  await closedWith(m, [[4410, 'account_inactive']]);
  await api.del(`/api/v1/documents/${doc2.id}`, owner.accessToken);
  await closedWith(o, [[4404, 'document_deleted']]);
});

test('token refresh on an open socket keeps the connection; a token for someone else is refused', async (t) => {
  const { api, owner, c, auth } = await openWithToken(t);
  const refreshed = await api.post('/api/v1/auth/refresh', { refreshToken: owner.refreshToken });
  auth.token = refreshed.body.accessToken;
  await c.provider.sendToken();
  paragraphText(c.doc).insert(0, 'still here');
  await acked(c);
  assert.equal(c.closes.length, 0);
  const other = await api.addUser(owner, 'admin');
  auth.token = other.accessToken;
  await c.provider.sendToken();
  // The socket is closed (not just the document detached), so a client authenticates again.
  await closedWith(c, [[4401, 'token_for_another_user']]);
});

test('an invalid token sent on an open socket closes it with 4401 invalid_token', async (t) => {
  const { owner, c, auth } = await openWithToken(t);
  auth.token = `${owner.accessToken.slice(0, -4)}AAAA`;
  await c.provider.sendToken();
  await closedWith(c, [[4401, 'invalid_token']]);
});
