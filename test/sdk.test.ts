/** The client SDK against a running server: typed errors, token refresh, live documents, offline merge. */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import * as Y from 'yjs';
import { fileStore, memoryTokenStorage, openDocument, QuireClient, snippetParts, unwrap, type DocumentSession, type Session } from '../clients/sdk/node.js';
import { QuietWebSocket } from './helpers/provider.js';
import { startServer } from './helpers/server.js';
import { eventually, quietFor } from './helpers/wait.js';

/** A fetch that counts calls to the refresh endpoint. */
function refreshCounter(): { fetch: typeof fetch; readonly count: number } {
  let count = 0;
  return {
    fetch: (input, init) => {
      if (String(input).endsWith('/api/v1/auth/refresh')) count++;
      return fetch(input, init);
    },
    get count() {
      return count;
    },
  };
}

function paragraph(doc: Y.Doc): Y.XmlText {
  const frag = doc.getXmlFragment('default');
  if (frag.length === 0) {
    const p = new Y.XmlElement('paragraph');
    p.insert(0, [new Y.XmlText()]);
    frag.insert(0, [p]);
  }
  return (frag.get(0) as Y.XmlElement).get(0) as Y.XmlText;
}

/** The same session with its access token expired a moment ago (as after a laptop sleeps). */
function expired(session: Session): Session {
  const now = Math.floor(Date.now() / 1000);
  const [h] = session.accessToken.split('.');
  return { ...session, accessToken: `${h}.${Buffer.from(JSON.stringify({ iat: now - 900, exp: now - 1 })).toString('base64url')}.AAAA` };
}

async function open(t: { after(fn: () => unknown): void }, client: QuireClient, id: string, opts: Parameters<typeof openDocument>[2] = {}): Promise<DocumentSession> {
  const s = await openDocument(client, id, { WebSocket: QuietWebSocket, followNetwork: false, reconnectDelay: { min: 50, max: 300 }, ...opts });
  t.after(() => s.destroy());
  return s;
}

/** Waits for the session's socket to close, then for a second in which no reconnect starts. */
async function staysDisconnected(s: DocumentSession, why: string): Promise<void> {
  const attempts: string[] = [];
  s.socket.on('status', ({ status }: { status: string }) => attempts.push(status));
  await eventually(() => assert.equal(s.socket.status, 'disconnected'), { message: 'the socket closes' });
  await quietFor(1_000, why, {
    check: () => assert.deepEqual([s.socket.status, ...attempts.filter((x) => x !== 'disconnected')], ['disconnected']),
  });
}

test('REST calls return typed results; failures are values with the server code', async (t) => {
  const { url } = await startServer(t);
  const client = new QuireClient({ baseUrl: url });
  const email = `sdk-${Math.random().toString(36).slice(2)}@example.test`;
  const signed = await client.signup({ tenant: 'SDK', email, password: 'correct horse battery' });
  assert.ok(signed.ok, 'signed.ok is set');
  assert.equal(client.user?.email, email);

  const wrong = await new QuireClient({ baseUrl: url }).login({ email, password: 'nope nope nope' });
  assert.equal(wrong.ok, false);
  if (!wrong.ok) {
    assert.equal(wrong.error.code, 'invalid_credentials');
    assert.equal(wrong.error.status, 401);
    assert.ok(wrong.error.requestId, 'wrong.error.requestId is set');
  }

  const bad = await client.createDocument({ title: '' });
  assert.ok(!bad.ok && bad.error.code === 'validation_failed' && bad.error.status === 400, "!bad.ok && bad.error.code === 'validation_failed' && bad.error.status === 400");
  const missing = await client.getDocument(crypto.randomUUID());
  assert.ok(!missing.ok && missing.error.code === 'document_not_found' && missing.error.status === 404, "!missing.ok && missing.error.code === 'document_not_found' && missing.error.status === 404");

  const doc = unwrap(await client.createDocument({ title: 'Plan', text: 'first line' }));
  assert.equal(doc.access, 'admin');
  assert.equal(unwrap(await client.getText(doc.id)), 'first line');
  unwrap(await client.putContent(doc.id, { text: 'second line' }, 'append'));
  assert.equal(unwrap(await client.getText(doc.id)), 'first line\nsecond line');
  const state = unwrap(await client.getYjsState(doc.id));
  const copy = new Y.Doc();
  Y.applyUpdate(copy, state);
  assert.equal(copy.getXmlFragment('default').length, 2);
  const page = unwrap(await client.listDocuments({ limit: 10 }));
  assert.deepEqual(
    page.documents.map((d) => d.id),
    [doc.id],
  );
  assert.equal(unwrap(await client.renameDocument(doc.id, 'Plan B')).title, 'Plan B');

  const down = new QuireClient({ baseUrl: 'http://127.0.0.1:9', tokens: memoryTokenStorage(signed.ok ? signed.value : null) });
  const offline = await down.listDocuments();
  assert.ok(!offline.ok && offline.error.code === 'network_error' && offline.error.status === 0, "!offline.ok && offline.error.code === 'network_error' && offline.error.status === 0");

  const anonymous = await new QuireClient({ baseUrl: url }).listDocuments();
  assert.ok(!anonymous.ok && anonymous.error.code === 'not_signed_in', "!anonymous.ok && anonymous.error.code === 'not_signed_in'");
});

test('tokens refresh before expiry; concurrent calls share one rotation; a refused token is refreshed once and retried', async (t) => {
  const { url } = await startServer(t);
  const refreshes = refreshCounter();
  const storage = memoryTokenStorage();
  const client = new QuireClient({ baseUrl: url, tokens: storage, fetch: refreshes.fetch });
  unwrap(await client.signup({ tenant: 'R', email: `r-${Math.random().toString(36).slice(2)}@example.test`, password: 'correct horse battery' }));
  assert.ok((await client.listDocuments()).ok, '(await client.listDocuments()).ok');
  assert.equal(refreshes.count, 0, 'a fresh token is used as it is');
  // The access token expires: eight calls at once share one refresh.
  storage.save(expired(storage.load()!));
  const first = storage.load()!;
  const results = await Promise.all(Array.from({ length: 8 }, () => client.listDocuments()));
  assert.ok(
    results.every((r) => r.ok),
    JSON.stringify(results.find((r) => !r.ok)),
  );
  assert.equal(refreshes.count, 1, 'eight concurrent calls, one refresh');
  assert.notEqual(storage.load()!.refreshToken, first.refreshToken);

  // A token the server refuses although it looks fresh (e.g. signed by a rotated key).
  const s = storage.load()!;
  const [h] = s.accessToken.split('.');
  const forged = `${h}.${Buffer.from(JSON.stringify({ exp: 4_000_000_000 })).toString('base64url')}.AAAA`;
  storage.save({ ...s, accessToken: forged });
  const relaxed = new QuireClient({ baseUrl: url, tokens: storage, fetch: refreshes.fetch });
  const before = refreshes.count;
  assert.ok((await relaxed.listDocuments()).ok, '(await relaxed.listDocuments()).ok');
  assert.equal(refreshes.count, before + 1);
});

test('a reused refresh token ends the session and tells the app', async (t) => {
  const { url } = await startServer(t, { env: { REFRESH_REUSE_GRACE_SECONDS: '0' } });
  const storage = memoryTokenStorage();
  const client = new QuireClient({ baseUrl: url, tokens: storage });
  const session = unwrap(await client.signup({ tenant: 'S', email: `s-${Math.random().toString(36).slice(2)}@example.test`, password: 'correct horse battery' }));
  const events: string[] = [];
  client.onSession((_u, reason) => events.push(reason));
  // Someone else (a stolen copy) rotates the refresh token first.
  const thief = new QuireClient({ baseUrl: url, tokens: memoryTokenStorage(session as Session) });
  assert.ok((await thief.refresh()).ok, '(await thief.refresh()).ok');
  storage.save(expired(storage.load()!));
  const r = await client.listDocuments();
  assert.ok(!r.ok && r.error.code === 'refresh_token_reused', "!r.ok && r.error.code === 'refresh_token_reused'");
  assert.equal(client.user, null);
  assert.deepEqual(events, ['expired']);
});

test('openDocument: two users co-edit; pendingChanges reaches 0 only once the server stored the edits', async (t) => {
  const { url, api } = await startServer(t);
  const owner = await api.signup();
  const member = await api.addUser(owner, 'member');
  const doc = await api.createDocument(owner, 'Live');
  await api.put(`/api/v1/documents/${doc.id}/permissions`, { userId: member.user.id, level: 'write' }, owner.accessToken);
  const a = new QuireClient({ baseUrl: url, tokens: memoryTokenStorage(owner as Session) });
  const b = new QuireClient({ baseUrl: url, tokens: memoryTokenStorage(member as Session) });
  const sa = await open(t, a, doc.id);
  const sb = await open(t, b, doc.id, { user: { name: 'Bea', color: '#0a0' } });
  await Promise.all([sa.waitFor((s) => s.synced), sb.waitFor((s) => s.synced)]);
  assert.equal(sa.status.access, 'write');

  sa.doc.transact(() => paragraph(sa.doc).insert(0, 'hello from A'));
  assert.equal(sa.status.pendingChanges, 1, 'one local transaction waits for the server');
  await sa.whenSaved();
  assert.equal(unwrap(await a.getText(doc.id)), 'hello from A');
  await eventually(() => assert.equal(paragraph(sb.doc).toString(), 'hello from A'));
  paragraph(sb.doc).insert(0, 'B: ');
  await sb.whenSaved();
  await eventually(() => assert.equal(paragraph(sa.doc).toString(), 'B: hello from A'));
  // Presence: A sees B's name.
  await eventually(() => {
    const names = [...sa.awareness.getStates().values()].map((s) => (s as { user?: { name: string } }).user?.name);
    assert.ok(names.includes('Bea'), JSON.stringify(names));
  });
});

test('offline: edits persist in the file store, the pending count survives a restart, and both sides converge on reconnect', async (t) => {
  const { url, api } = await startServer(t);
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'quire-sdk-'));
  t.after(() => fs.rm(dir, { recursive: true, force: true }));
  const owner = await api.signup();
  const other = await api.addUser(owner, 'member');
  const doc = await api.post('/api/v1/documents', { title: 'Trip', text: 'base' }, owner.accessToken);
  const id = doc.body.id as string;
  await api.put(`/api/v1/documents/${id}/permissions`, { userId: other.user.id, level: 'write' }, owner.accessToken);
  const a = new QuireClient({ baseUrl: url, tokens: memoryTokenStorage(owner as Session) });
  const store = fileStore(dir);

  const first = await open(t, a, id, { store });
  await first.whenSaved();
  first.goOffline();
  assert.equal(first.status.connection, 'offline');
  for (const word of [' one', ' two', ' three']) paragraph(first.doc).insert(paragraph(first.doc).length, word);
  assert.equal(first.status.pendingChanges, 3);
  await first.destroy();

  // Meanwhile a colleague edits online.
  const b = new QuireClient({ baseUrl: url, tokens: memoryTokenStorage(other as Session) });
  const sb = await open(t, b, id);
  await sb.whenSaved();
  paragraph(sb.doc).insert(0, 'B> ');
  await sb.whenSaved();

  // The app restarts: the offline copy is there before any network, with its pending count.
  const again = await open(t, a, id, { store, followNetwork: false });
  assert.equal(paragraph(again.doc).toString().includes('base one two three'), true);
  assert.ok(again.status.pendingChanges >= 3, `pending ${again.status.pendingChanges}`);
  await again.whenSaved();
  assert.equal(again.status.pendingChanges, 0);
  const expected = 'B> base one two three';
  assert.equal(unwrap(await a.getText(id)), expected);
  await eventually(() => assert.equal(paragraph(again.doc).toString(), expected));
  await eventually(() => assert.equal(paragraph(sb.doc).toString(), expected));
  // The stored pending count was reset too.
  await again.destroy();
  const third = await open(t, a, id, { store });
  assert.equal(third.status.pendingChanges, 0);
});

test('access changes reach the session: read-only is reported, removal ends it with a reason', async (t) => {
  const { url, api } = await startServer(t);
  const owner = await api.signup();
  const reader = await api.addUser(owner, 'member');
  const doc = await api.post('/api/v1/documents', { title: 'RO', text: 'read me' }, owner.accessToken);
  const id = doc.body.id as string;
  await api.put(`/api/v1/documents/${id}/permissions`, { userId: reader.user.id, level: 'read' }, owner.accessToken);
  const r = new QuireClient({ baseUrl: url, tokens: memoryTokenStorage(reader as Session) });
  const s = await open(t, r, id);
  await s.waitFor((x) => x.synced);
  assert.equal(s.status.access, 'read');
  assert.equal(paragraph(s.doc).toString(), 'read me');
  await api.put(`/api/v1/documents/${id}/permissions`, { userId: reader.user.id, level: 'write' }, owner.accessToken);
  await s.waitFor((x) => x.access === 'write');
  await api.put(`/api/v1/documents/${id}/permissions`, { userId: reader.user.id, level: 'none' }, owner.accessToken);
  const ended = await s.waitFor((x) => x.error !== null);
  assert.equal(ended.error, 'access_revoked');
  // No reconnect loop after a final close.
  await staysDisconnected(s, 'a reconnect (due 250 ms after a close) would have started');
  assert.notEqual(s.status.connection, 'connected');
});

test('snippetParts renders server snippets as text parts without HTML', () => {
  assert.deepEqual(snippetParts('a &lt;b&gt; <mark>x &amp; y</mark> &quot;z&quot;'), [
    { text: 'a <b> ', highlight: false },
    { text: 'x & y', highlight: true },
    { text: ' "z"', highlight: false },
  ]);
  assert.deepEqual(snippetParts(''), []);
});

test('the provider authenticates every (re)connect with a fresh token from the client', async (t) => {
  const { url, api } = await startServer(t);
  const owner = await api.signup();
  const doc = await api.post('/api/v1/documents', { title: 'T', text: 'x' }, owner.accessToken);
  const refreshes = refreshCounter();
  // The stored access token has expired: connecting refreshes it first.
  const client = new QuireClient({ baseUrl: url, tokens: memoryTokenStorage(expired(owner as Session)), fetch: refreshes.fetch });
  let asked = 0;
  const accessToken = client.accessToken.bind(client);
  client.accessToken = () => {
    asked++;
    return accessToken();
  };
  const s = await open(t, client, doc.body.id);
  await s.whenSaved();
  assert.equal(refreshes.count, 1);
  const askedFirst = asked;
  s.goOffline();
  s.goOnline();
  await s.whenSaved();
  assert.ok(asked > askedFirst, 'the reconnect asked the client for a token again');
  // The rotated session still works for REST (no refresh token was used twice).
  assert.ok((await client.listDocuments()).ok, '(await client.listDocuments()).ok');
});

test('signing out while a refresh is on its way does not bring the session back', async (t) => {
  const { url } = await startServer(t);
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const slow: typeof fetch = async (input, init) => {
    if (String(input).endsWith('/api/v1/auth/refresh')) await gate;
    return fetch(input, init);
  };
  const storage = memoryTokenStorage();
  const client = new QuireClient({ baseUrl: url, tokens: storage, fetch: slow });
  unwrap(await client.signup({ tenant: 'L', email: `l-${Math.random().toString(36).slice(2)}@example.test`, password: 'correct horse battery' }));
  storage.save(expired(storage.load()!));
  const events: string[] = [];
  client.onSession((_u, reason) => events.push(reason));
  const call = client.listDocuments(); // starts a refresh that hangs
  // The refresh is on its way (held at the gate) before signing out; nothing public shows it.
  await eventually(() => assert.ok((client as unknown as { refreshing: unknown }).refreshing, 'no refresh in flight yet'), { message: 'the refresh starts' });
  const out = client.logout();
  release();
  await Promise.all([call, out]);
  assert.equal(storage.load(), null, 'still signed out');
  assert.equal(client.user, null);
  assert.equal(events.at(-1), 'signed-out');
  assert.ok(!(await client.listDocuments()).ok, '!(await client.listDocuments()).ok');
});

test('changes made offline before a downgrade to read are reported as rejected, not as waiting forever; the local copy can be discarded', async (t) => {
  const { url, api } = await startServer(t);
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'quire-sdk-'));
  t.after(() => fs.rm(dir, { recursive: true, force: true }));
  const owner = await api.signup();
  const writer = await api.addUser(owner, 'member');
  const doc = await api.post('/api/v1/documents', { title: 'D', text: 'base' }, owner.accessToken);
  const id = doc.body.id as string;
  await api.put(`/api/v1/documents/${id}/permissions`, { userId: writer.user.id, level: 'write' }, owner.accessToken);
  const client = new QuireClient({ baseUrl: url, tokens: memoryTokenStorage(writer as Session) });
  const store = fileStore(dir);
  const s = await open(t, client, id, { store });
  await s.whenSaved();
  s.goOffline();
  paragraph(s.doc).insert(0, 'offline ');
  assert.equal(s.status.pendingChanges, 1);
  await api.put(`/api/v1/documents/${id}/permissions`, { userId: writer.user.id, level: 'read' }, owner.accessToken);
  s.goOnline();
  const st = await s.waitFor((x) => x.rejectedChanges > 0);
  assert.equal(st.access, 'read');
  assert.equal(st.pendingChanges, 0);
  assert.equal(unwrap(await client.getText(id)), 'base');
  await s.discardLocalChanges();
  const fresh = await open(t, client, id, { store });
  await fresh.waitFor((x) => x.synced);
  assert.equal(paragraph(fresh.doc).toString(), 'base');
  assert.equal(fresh.status.rejectedChanges, 0);
});

test('after a final close (access revoked) going online again does not reconnect', async (t) => {
  const { url, api } = await startServer(t);
  const owner = await api.signup();
  const member = await api.addUser(owner, 'member');
  const doc = await api.post('/api/v1/documents', { title: 'F', text: 'x' }, owner.accessToken);
  const id = doc.body.id as string;
  await api.put(`/api/v1/documents/${id}/permissions`, { userId: member.user.id, level: 'write' }, owner.accessToken);
  const s = await open(t, new QuireClient({ baseUrl: url, tokens: memoryTokenStorage(member as Session) }), id);
  await s.whenSaved();
  await api.put(`/api/v1/documents/${id}/permissions`, { userId: member.user.id, level: 'none' }, owner.accessToken);
  await s.waitFor((x) => x.error === 'access_revoked');
  s.goOffline();
  s.goOnline();
  await staysDisconnected(s, 'a reconnect (due 250 ms after going online) would have started');
  assert.equal(s.status.error, 'access_revoked');
  assert.equal(s.status.connection, 'closed');
});

test('a long offline session (500 edits) merges in one handshake: no pre-auth overflow, "saved" only once all of it is stored', async (t) => {
  const { url, api } = await startServer(t);
  const owner = await api.signup();
  const doc = await api.post('/api/v1/documents', { title: 'Long', text: '' }, owner.accessToken);
  const id = doc.body.id as string;
  const client = new QuireClient({ baseUrl: url, tokens: memoryTokenStorage(owner as Session) });
  const s = await open(t, client, id);
  const text = paragraph(s.doc);
  await s.whenSaved();
  const closes: number[] = [];
  s.provider.on('close', ({ event }: { event: { code: number } }) => closes.push(event.code));
  s.goOffline();
  await s.waitFor((x) => x.connection === 'offline');
  for (let i = 0; i < 500; i++) text.insert(text.length, `${i % 10}`);
  assert.equal(s.status.pendingChanges, 500);
  s.goOnline();
  await s.whenSaved();
  // Saved means stored: the server has every one of the 500 characters.
  assert.equal(unwrap(await client.getText(id)).length, 500);
  assert.ok(!closes.includes(4205), `closes: ${closes.join(',')}`);
});

test('short-lived tokens are refreshed half-way through their life at the earliest, not on every call', async (t) => {
  const { url } = await startServer(t, { env: { ACCESS_TOKEN_TTL_SECONDS: '30' } });
  const refreshes = refreshCounter();
  // Leeway (30 s by default) equals the token's whole life here.
  const client = new QuireClient({ baseUrl: url, fetch: refreshes.fetch });
  unwrap(await client.signup({ tenant: 'Short', email: `sh-${Math.random().toString(36).slice(2)}@example.test`, password: 'correct horse battery' }));
  for (let i = 0; i < 5; i++) assert.ok((await client.listDocuments()).ok, '(await client.listDocuments()).ok');
  assert.equal(refreshes.count, 0);
});

test('an access change made while the session was offline shows once it is back: read → write, and the edit is stored', async (t) => {
  const { url, api } = await startServer(t);
  const owner = await api.signup();
  const member = await api.addUser(owner, 'member');
  const created = await api.post('/api/v1/documents', { title: 'Upgrade', text: 'hello' }, owner.accessToken);
  const id = created.body.id as string;
  await api.put(`/api/v1/documents/${id}/permissions`, { userId: member.user.id, level: 'read' }, owner.accessToken);
  const client = new QuireClient({ baseUrl: url, tokens: memoryTokenStorage(member as Session) });
  const s = await open(t, client, id);
  await s.waitFor((x) => x.synced && x.access === 'read');
  s.goOffline();
  await s.waitFor((x) => x.connection === 'offline');
  await api.put(`/api/v1/documents/${id}/permissions`, { userId: member.user.id, level: 'write' }, owner.accessToken);
  s.goOnline();
  const back = await s.waitFor((x) => x.synced && x.access === 'write');
  assert.equal(back.error, null);
  paragraph(s.doc).insert(paragraph(s.doc).length, ' and welcome');
  await s.whenSaved();
  const text = await api.get(`/api/v1/documents/${id}/content?format=text`, owner.accessToken);
  assert.equal(text.text, 'hello and welcome');
});

test('presence comes back at once after a reconnect, without waiting for the others to renew theirs', async (t) => {
  const { url, api } = await startServer(t);
  const owner = await api.signup();
  const other = await api.addUser(owner, 'member');
  const doc = await api.post('/api/v1/documents', { title: 'Together', text: 'Hi' }, owner.accessToken);
  const id = doc.body.id as string;
  await api.put(`/api/v1/documents/${id}/permissions`, { userId: other.user.id, level: 'read' }, owner.accessToken);
  const a = await open(t, new QuireClient({ baseUrl: url, tokens: memoryTokenStorage(owner as Session) }), id, { user: { name: 'Ann', color: '#205090' } });
  const b = await open(t, new QuireClient({ baseUrl: url, tokens: memoryTokenStorage(other as Session) }), id, { user: { name: 'Bo', color: '#902050' } });
  await Promise.all([a.whenSaved(), b.whenSaved()]);
  const namesSeenBy = (s: DocumentSession) =>
    [...s.awareness.getStates()]
      .filter(([client]) => client !== s.awareness.clientID)
      .map(([, state]) => (state as { user?: { name?: string } }).user?.name)
      .sort();
  await eventually(() => assert.deepEqual(namesSeenBy(b), ['Ann']));
  await eventually(() => assert.deepEqual(namesSeenBy(a), ['Bo']));

  // Bo's connection drops and comes back: Ann is shown again within moments (her state did
  // not change, so she sends nothing new; the server hands over the state it holds).
  b.goOffline();
  await eventually(() => assert.deepEqual(namesSeenBy(b), []), { message: 'offline, nobody else is shown' });
  b.goOnline();
  await eventually(() => assert.deepEqual(namesSeenBy(b), ['Ann']), { timeoutMs: 5_000, message: 'Ann is shown again after the reconnect' });
  await eventually(() => assert.deepEqual(namesSeenBy(a), ['Bo']), { timeoutMs: 5_000 });
});
