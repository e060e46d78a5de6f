/**
 * One reader cannot lock anyone out of a document: connections are limited per user and
 * per socket, and the last places of a document are kept for people who can edit.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { authFrame, frameType, rawSocket, type RawSocket } from './helpers/raw-socket.js';
import { connect, synced } from './helpers/provider.js';
import { startServer } from './helpers/server.js';
import { eventually } from './helpers/wait.js';

/** Answers to auth frames on one socket: addresses admitted and refused. */
function answers(sock: RawSocket): { ok: string[]; denied: string[] } {
  const ok: string[] = [];
  const denied: string[] = [];
  for (const f of sock.frames) {
    const ft = frameType(f);
    if (ft.type !== 2) continue;
    if (ft.sub === 2) ok.push(ft.doc);
    if (ft.sub === 1) denied.push(ft.doc);
  }
  return { ok, denied };
}

test('one reader opening many sessions of a document is capped per user; editors and the owner still get in', async (t) => {
  const { api, url } = await startServer(t, { env: { SYNC_MAX_CONNECTIONS_PER_DOCUMENT: '8', SYNC_MAX_CONNECTIONS_PER_USER_DOCUMENT: '3' } });
  const owner = await api.signup();
  const guest = await api.addUser(owner, 'guest');
  const editor = await api.addUser(owner, 'member');
  const doc = await api.createDocument(owner, 'Shared');
  for (const [u, level] of [
    [guest, 'read'],
    [editor, 'write'],
  ] as const) {
    const r = await api.request('PUT', `/api/v1/documents/${doc.id}/permissions`, { token: owner.accessToken, json: { userId: u.user.id, level } });
    assert.equal(r.status, 200, r.text);
  }

  // The guest's one socket asks for the document under 50 sessions, 10 at a time (the
  // most a socket may have waiting for authentication is 20).
  const hostile = rawSocket(url);
  await hostile.opened;
  for (let batch = 0; batch < 5; batch++) {
    for (let i = 0; i < 10; i++) hostile.send(authFrame(`${doc.id}\0s${batch * 10 + i}`, guest.accessToken));
    await eventually(() => assert.equal(answers(hostile).ok.length + answers(hostile).denied.length, (batch + 1) * 10));
  }
  assert.equal(answers(hostile).ok.length, 3, 'at most 3 connections of one person to one document');

  // The owner and an editor connect normally.
  const a = connect(t, url, doc.id, owner.accessToken);
  const b = connect(t, url, doc.id, editor.accessToken);
  await Promise.all([synced(a), synced(b)]);
  assert.deepEqual(a.closes, []);
});

test("readers fill at most the readers' share of a document; the reserved places go to editors", async (t) => {
  // 5 places, 1 kept for editors: 4 readers at most.
  const { api, url } = await startServer(t, { env: { SYNC_MAX_CONNECTIONS_PER_DOCUMENT: '5', SYNC_MAX_CONNECTIONS_PER_USER_DOCUMENT: '20' } });
  const owner = await api.signup();
  const doc = await api.createDocument(owner, 'Popular');
  const readers = await Promise.all(Array.from({ length: 3 }, () => api.addUser(owner, 'guest')));
  for (const r of readers) await api.request('PUT', `/api/v1/documents/${doc.id}/permissions`, { token: owner.accessToken, json: { userId: r.user.id, level: 'read' } });
  const sockets: RawSocket[] = [];
  for (let i = 0; i < 6; i++) {
    const s = rawSocket(url);
    await s.opened;
    s.send(authFrame(doc.id, readers[i % 3]!.accessToken));
    sockets.push(s);
  }
  const closes = sockets.map((s) => {
    const c = { code: 0 };
    void s.closed.then((x) => (c.code = x.code));
    return c;
  });
  // Four readers in; the fifth and sixth closed with 4429 (nothing else ran on their sockets).
  await eventually(() => assert.equal(sockets.filter((s, i) => answers(s).ok.length === 1 || closes[i]!.code !== 0).length, 6));
  assert.equal(sockets.filter((s) => answers(s).ok.length === 1).length, 4);
  assert.deepEqual(
    closes.map((c) => c.code).filter((c) => c !== 0),
    [4429, 4429],
  );
  // The owner takes the reserved place.
  const o = connect(t, url, doc.id, owner.accessToken);
  await synced(o);
  // Now the document is full for everyone.
  const late = connect(t, url, doc.id, owner.accessToken, { reconnect: false });
  await eventually(() =>
    assert.deepEqual(
      late.closes.map((x) => x.code),
      [4429],
    ),
  );
  for (const s of sockets) s.ws.close();
});
