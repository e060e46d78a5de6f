/**
 * Malformed and hostile input on the sync socket: the offending connection is closed with
 * a clear code, the process stays up, and other clients keep editing.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { test } from 'node:test';
import * as Y from 'yjs';
import { acked, connect, paragraphText, synced, type Client } from './helpers/provider.js';
import { authFrame, frameType, rawSocket, updateFrame } from './helpers/raw-socket.js';
import { startServer } from './helpers/server.js';
import { eventually } from './helpers/wait.js';

async function stillEditing(c: Client, mark: string): Promise<void> {
  const t = paragraphText(c.doc);
  t.insert(t.length, mark);
  await acked(c);
}

test('random bytes, truncated updates, bad names, oversized frames and pre-auth floods close only the offender', async (t) => {
  const { api, url } = await startServer(t, {
    env: { SYNC_MAX_FRAME_BYTES: '65536', SYNC_MAX_UNAUTH_MESSAGES: '50', SYNC_AUTH_TIMEOUT_MS: '1000' },
  });
  const s = await api.signup();
  const doc = await api.createDocument(s, 'target');
  const good = connect(t, url, doc.id, s.accessToken);
  await synced(good);
  await stillEditing(good, 'start;');

  // 1. Random bytes before auth: closed as unparsable (4401) or, if they parse as a queued
  //    message, at the auth deadline (4408).
  const junk = rawSocket(url);
  await junk.opened;
  junk.send(crypto.randomBytes(64));
  junk.send(crypto.randomBytes(7));
  const junkClose = await junk.closed;
  assert.ok([4400, 4401, 4408].includes(junkClose.code), `junk closed with ${junkClose.code}`);
  // Bytes that parse as a message for a document, but never authenticate: the deadline closes them.
  const idle = rawSocket(url);
  await idle.opened;
  idle.send(updateFrame(doc.id, new Uint8Array([0, 0])));
  assert.equal((await idle.closed).code, 4408);
  await stillEditing(good, 'after-junk;');

  // 2. Authenticated, then a truncated update: closed with 4400, nothing stored.
  const before = (await api.get(`/api/v1/documents/${doc.id}/content`, s.accessToken)).text;
  const trunc = rawSocket(url);
  await trunc.opened;
  trunc.send(authFrame(doc.id, s.accessToken));
  await eventually(() =>
    assert.ok(
      trunc.frames.some((f) => frameType(f).type === 2 && frameType(f).sub === 2),
      'authenticated',
    ),
  );
  const valid = new Y.Doc();
  valid.getXmlFragment('default').insert(0, [new Y.XmlText('truncated payload that should never land')]);
  const full = Y.encodeStateAsUpdate(valid);
  trunc.send(updateFrame(doc.id, full.slice(0, Math.floor(full.length / 2))));
  const truncClose = await trunc.closed;
  assert.equal(truncClose.code, 4400, truncClose.reason);
  assert.equal((await api.get(`/api/v1/documents/${doc.id}/content`, s.accessToken)).text, before);
  await stillEditing(good, 'after-truncated;');

  // 3. A wrong document name: permission denied, never content.
  const wrong = rawSocket(url);
  await wrong.opened;
  wrong.send(authFrame('../../etc/passwd', s.accessToken));
  await eventually(() =>
    assert.ok(
      wrong.frames.some((f) => frameType(f).type === 2 && frameType(f).sub === 1),
      'permission denied frame',
    ),
  );
  wrong.ws.close();

  // 4. An oversized frame: uWS closes the socket (1009 / 1006).
  const big = rawSocket(url);
  await big.opened;
  big.send(crypto.randomBytes(200_000));
  const bigClose = await big.closed;
  assert.ok([1006, 1009].includes(bigClose.code), `closed with ${bigClose.code}`);
  await stillEditing(good, 'after-big;');

  // 5. A flood before authentication: the queue limit resets the socket.
  const flood = rawSocket(url);
  await flood.opened;
  for (let i = 0; i < 200; i++) flood.send(updateFrame(doc.id, new Uint8Array([0, 0])));
  const floodClose = await flood.closed;
  assert.ok([4205, 4408].includes(floodClose.code), `flood closed with ${floodClose.code}`);
  await stillEditing(good, 'after-flood;');

  const text = (await api.get(`/api/v1/documents/${doc.id}/content`, s.accessToken)).text;
  assert.equal(text, 'start;after-junk;after-truncated;after-big;after-flood;');
  assert.equal((await api.get('/health')).status, 200);
});

test('limits: per-IP and total sockets, per-document connections and document size', async (t) => {
  const { api, url } = await startServer(t, {
    env: { SYNC_MAX_CONNECTIONS_PER_IP: '3', SYNC_MAX_CONNECTIONS_PER_DOCUMENT: '2', SYNC_MAX_DOCUMENT_BYTES: '4096' },
  });
  const s = await api.signup();
  const d1 = await api.createDocument(s, 'one');
  const d2 = await api.createDocument(s, 'two');
  const a = connect(t, url, d1.id, s.accessToken);
  const b = connect(t, url, d1.id, s.accessToken);
  await Promise.all([synced(a), synced(b)]);
  // Third connection to the same document: refused with 4429.
  const c = connect(t, url, d1.id, s.accessToken, { reconnect: false });
  await eventually(() =>
    assert.deepEqual(
      c.closes.map((x) => x.code),
      [4429],
    ),
  );
  // Per-IP: two sockets open; a third is accepted, a fourth refused at upgrade with 429.
  const third = rawSocket(url);
  await third.opened;
  const fourth = rawSocket(url);
  await assert.rejects(fourth.opened, /HTTP 429/);
  third.ws.close();
  await third.closed;

  // Document size: a client pushing past the limit is closed with 4413; others are fine.
  const big = connect(t, url, d2.id, s.accessToken, { reconnect: false });
  await synced(big);
  paragraphText(big.doc).insert(0, 'x'.repeat(6000));
  await eventually(() =>
    assert.deepEqual(
      big.closes.map((x) => x.code),
      [4413],
    ),
  );
  assert.equal((await api.get(`/api/v1/documents/${d2.id}/content`, s.accessToken)).text, '');
  await stillEditing(a, 'fine');
  assert.equal((await api.get(`/api/v1/documents/${d1.id}/content`, s.accessToken)).text, 'fine');
});

test('limits: total sockets per instance', async (t) => {
  const { url } = await startServer(t, { env: { SYNC_MAX_CONNECTIONS: '1' } });
  const one = rawSocket(url);
  await one.opened;
  const two = rawSocket(url);
  await assert.rejects(two.opened, /HTTP 503/);
  one.ws.close();
});

test('limits before authentication: queued bytes and pending documents per socket', async (t) => {
  const { api, url } = await startServer(t, { env: { SYNC_MAX_UNAUTH_BYTES: '4096', SYNC_MAX_PENDING_DOCUMENTS: '3' } });
  const s = await api.signup();
  const doc = await api.createDocument(s, 'x');
  const bytes = rawSocket(url);
  await bytes.opened;
  for (let i = 0; i < 10; i++) bytes.send(updateFrame(doc.id, new Uint8Array(1000)));
  assert.equal((await bytes.closed).code, 4205);
  const pending = rawSocket(url);
  await pending.opened;
  for (let i = 0; i < 5; i++) pending.send(updateFrame(crypto.randomUUID(), new Uint8Array([0, 0])));
  assert.equal((await pending.closed).code, 4205);
  // An honest client is unaffected.
  const c = connect(t, url, doc.id, s.accessToken);
  await synced(c);
  await stillEditing(c, 'ok');
});
