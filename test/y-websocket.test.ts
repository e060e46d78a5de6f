/**
 * y-websocket clients (`/yjs/<documentId>`, sync/y-websocket.ts) on the same core as the
 * Hocuspocus protocol: real `y-websocket` `WebsocketProvider`s beside real
 * `@hocuspocus/provider`s, against a running server.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { WebsocketProvider } from 'y-websocket';
import WebSocket from 'ws';
import * as Y from 'yjs';
import type { CreatedApiKey } from '../contract/api.js';
import type { Session } from './helpers/api.js';
import { connect, paragraphText, QuietWebSocket, readParagraph, synced } from './helpers/provider.js';
import { startServer, type TestServer } from './helpers/server.js';
import { eventually, quietFor } from './helpers/wait.js';

interface YClient {
  provider: WebsocketProvider;
  doc: Y.Doc;
  closes: { code: number; reason: string }[];
  /** Close events after which the provider stopped reconnecting (4400–4499). */
  finals: { code: number; reason: string }[];
}

function yConnect(t: TestContext, server: TestServer, documentId: string, token: string, opts: { doc?: Y.Doc; via?: 'query' | 'protocol' } = {}): YClient {
  const doc = opts.doc ?? new Y.Doc();
  const base = server.url.replace(/^http/, 'ws') + '/yjs';
  const provider = new WebsocketProvider(base, documentId, doc, {
    WebSocketPolyfill: QuietWebSocket as unknown as typeof globalThis.WebSocket,
    disableBc: true,
    maxBackoffTime: 300,
    ...(opts.via === 'protocol' ? { protocols: ['quire', `quire.token.${token}`] } : { params: { token } }),
  });
  const client: YClient = { provider, doc, closes: [], finals: [] };
  provider.on('connection-close', (event) => {
    if (event) client.closes.push({ code: event.code, reason: String(event.reason) });
  });
  provider.on('closed', (event) => client.finals.push(event));
  // The provider leaves its awareness (and the awareness' timer) to the document: both go.
  t.after(() => {
    provider.destroy();
    doc.destroy();
  });
  return client;
}

async function ySynced(c: YClient): Promise<void> {
  await eventually(() => assert.ok(c.provider.synced, 'y-websocket provider synced'), { timeoutMs: 15_000 });
}

async function storedText(server: TestServer, s: Session, documentId: string): Promise<string> {
  const r = await server.api.get(`/api/v1/documents/${documentId}/content`, s.accessToken);
  assert.equal(r.status, 200, r.text);
  return r.text;
}

/** Raw upgrade: the HTTP status the server answers an upgrade with (101 when it upgrades). */
function upgradeStatus(url: string, protocols?: string[]): Promise<number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, protocols);
    ws.on('open', () => {
      resolve(101);
      ws.close();
    });
    ws.on('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      res.resume();
    });
    ws.on('error', () => undefined);
  });
}

test('a y-websocket client and a Hocuspocus client co-edit one document, with presence both ways', async (t) => {
  const server = await startServer(t);
  const owner = await server.api.signup();
  const doc = await server.api.createDocument(owner, 'co-edit');
  const h = connect(t, server.url, doc.id, owner.accessToken);
  const y = yConnect(t, server, doc.id, owner.accessToken);
  await Promise.all([synced(h), ySynced(y)]);

  paragraphText(y.doc).insert(0, 'from y-websocket. ');
  await eventually(() => assert.match(readParagraph(h.doc), /from y-websocket/, 'the Hocuspocus client sees the y-websocket edit'));
  paragraphText(h.doc).insert(0, 'from hocuspocus. ');
  await eventually(() => assert.match(readParagraph(y.doc), /from hocuspocus/, 'the y-websocket client sees the Hocuspocus edit'));
  await eventually(() => assert.equal(readParagraph(y.doc), readParagraph(h.doc), 'both converge'));
  await eventually(async () => assert.equal(await storedText(server, owner, doc.id), readParagraph(h.doc), 'the store holds what both see'));

  y.provider.awareness.setLocalStateField('user', { name: 'Bot' });
  h.provider.setAwarenessField('user', { name: 'Ada' });
  const names = (states: Map<number, Record<string, unknown>>) => [...states.values()].map((s) => (s.user as { name?: string } | undefined)?.name).filter(Boolean);
  await eventually(() => assert.ok(names(h.provider.awareness!.getStates()).includes('Bot'), 'the Hocuspocus client sees the y-websocket presence'));
  await eventually(() => assert.ok(names(y.provider.awareness.getStates()).includes('Ada'), 'the y-websocket client sees the Hocuspocus presence'));
  assert.deepEqual(y.closes, [], 'no close on the y-websocket side');
});

test('a token as a subprotocol and an API key as the query parameter both connect', async (t) => {
  const server = await startServer(t);
  const owner = await server.api.signup();
  const doc = await server.api.createDocument(owner, 'credentials');
  const byProtocol = yConnect(t, server, doc.id, owner.accessToken, { via: 'protocol' });
  await ySynced(byProtocol);
  const key = await server.api.post<CreatedApiKey>('/api/v1/api-keys', { name: 'bot', scopes: ['read', 'write'] }, owner.accessToken);
  assert.equal(key.status, 201, key.text);
  const bot = yConnect(t, server, doc.id, key.body.secret);
  await ySynced(bot);
  paragraphText(bot.doc).insert(0, 'written by a bot');
  await eventually(() => assert.equal(readParagraph(byProtocol.doc), 'written by a bot', 'the key writes, the other client reads'));
  await eventually(async () => assert.equal(await storedText(server, owner, doc.id), 'written by a bot', 'stored'));
});

test('synced is withheld until the edits the client held at connection time are committed', async (t) => {
  const server = await startServer(t);
  const owner = await server.api.signup();
  const doc = await server.api.createDocument(owner, 'held commit');
  const h = connect(t, server.url, doc.id, owner.accessToken);
  await synced(h);

  // Commits wait at a gate the test opens (the appends reach Postgres only then).
  const store = server.quire.sync!.documents;
  const appendBatch = store.appendBatch.bind(store);
  let open!: () => void;
  const gate = new Promise<void>((r) => (open = r));
  store.appendBatch = async (...args: Parameters<typeof appendBatch>) => {
    await gate;
    return appendBatch(...args);
  };

  // Edits made offline, before the provider connects.
  const offline = new Y.Doc();
  paragraphText(offline).insert(0, 'written offline');
  const y = yConnect(t, server, doc.id, owner.accessToken, { doc: offline });
  try {
    // The server has the edit (the other client on this instance sees it) but has not stored it.
    await eventually(() => assert.equal(readParagraph(h.doc), 'written offline', 'the server received the offline edit'));
    await quietFor(300, 'synced while the commit is held', { check: () => assert.equal(y.provider.synced, false, 'synced before the offline edit was committed') });
  } finally {
    // Before anything else: the server's shutdown waits for the held commit.
    open();
  }
  await ySynced(y);
  assert.equal(await storedText(server, owner, doc.id), 'written offline', 'synced means stored');
});

test("a read-only y-websocket client's writes are refused; it still receives others' edits", async (t) => {
  const server = await startServer(t);
  const owner = await server.api.signup();
  const reader = await server.api.addUser(owner, 'member');
  const doc = await server.api.createDocument(owner, 'read only');
  const grant = await server.api.put(`/api/v1/documents/${doc.id}/permissions`, { userId: reader.user.id, level: 'read' }, owner.accessToken);
  assert.equal(grant.status, 200, grant.text);
  const writer = connect(t, server.url, doc.id, owner.accessToken);
  await synced(writer);
  paragraphText(writer.doc).insert(0, 'by the owner');
  const ro = yConnect(t, server, doc.id, reader.accessToken);
  await ySynced(ro);
  await eventually(() => assert.equal(readParagraph(ro.doc), 'by the owner', 'the reader receives the text'));

  paragraphText(ro.doc).insert(0, 'VANDAL ');
  // A later edit of the owner's arrives at the reader: the refused one was handled before it.
  paragraphText(writer.doc).insert(readParagraph(writer.doc).length, ', and more');
  await eventually(() => assert.match(readParagraph(ro.doc), /and more/, 'later edits still reach the reader'));
  await quietFor(200, 'the refused edit spreading', { check: () => assert.doesNotMatch(readParagraph(writer.doc), /VANDAL/, 'a read-only write reached another client') });
  assert.doesNotMatch(await storedText(server, owner, doc.id), /VANDAL/, 'a read-only write was stored');
  assert.deepEqual(ro.closes, [], 'the reader stays connected');
});

test('refusals: a bad token, no access, a revoked grant; a missing token or path is refused at the upgrade', async (t) => {
  const server = await startServer(t);
  const owner = await server.api.signup();
  const member = await server.api.addUser(owner, 'member');
  const doc = await server.api.createDocument(owner, 'refusals');
  const base = server.url.replace(/^http/, 'ws');

  assert.equal(await upgradeStatus(`${base}/yjs/${doc.id}`), 401, 'no token');
  assert.equal(await upgradeStatus(`${base}/yjs/not-a-document?token=x`), 404, 'no document id');
  assert.equal(await upgradeStatus(`${base}/yjs`), 404, 'no path');
  assert.equal(await upgradeStatus(`${base}/yjs/${doc.id}`, ['quire', `quire.token.${owner.accessToken}`]), 101, 'the subprotocol carries the token');

  const bad = yConnect(t, server, doc.id, `${owner.accessToken.slice(0, -4)}AAAA`);
  await eventually(() => assert.deepEqual(bad.finals, [{ code: 4401, reason: 'invalid_token' }], 'an invalid token closes 4401 and the provider stops'));

  const stranger = yConnect(t, server, doc.id, member.accessToken);
  await eventually(() => assert.deepEqual(stranger.finals, [{ code: 4403, reason: 'forbidden' }], 'no access closes 4403'));

  await server.api.put(`/api/v1/documents/${doc.id}/permissions`, { userId: member.user.id, level: 'write' }, owner.accessToken);
  const granted = yConnect(t, server, doc.id, member.accessToken);
  await ySynced(granted);
  await server.api.put(`/api/v1/documents/${doc.id}/permissions`, { userId: member.user.id, level: 'none' }, owner.accessToken);
  await eventually(() => assert.deepEqual(granted.finals, [{ code: 4403, reason: 'access_revoked' }], 'revoking the grant closes the socket at once'));
});

test('frames y-websocket clients never send close the socket with 4400; oversized frames are refused', async (t) => {
  const server = await startServer(t, { env: { SYNC_MAX_FRAME_BYTES: '65536' } });
  const owner = await server.api.signup();
  const doc = await server.api.createDocument(owner, 'bad frames');
  const url = `${server.url.replace(/^http/, 'ws')}/yjs/${doc.id}?token=${owner.accessToken}`;
  const closeOf = (frame: Uint8Array) =>
    new Promise<number>((resolve) => {
      const ws = new WebSocket(url);
      ws.on('open', () => ws.send(frame));
      ws.on('close', (code) => resolve(code));
      ws.on('error', () => undefined);
    });
  assert.equal(await closeOf(new Uint8Array([5, 1, 0x7b])), 4400, 'a stateless frame');
  assert.equal(await closeOf(new Uint8Array([0, 9])), 4400, 'an unknown sync step');
  assert.equal(await closeOf(new Uint8Array([])), 4400, 'an empty frame');
  // uWS drops the connection (1006 at the client; 1009 on builds that send a close frame).
  const big = await closeOf(new Uint8Array(70_000));
  assert.ok([1006, 1009].includes(big), `a frame above SYNC_MAX_FRAME_BYTES closes the socket (got ${big})`);
  // The server is still serving.
  const y = yConnect(t, server, doc.id, owner.accessToken);
  await ySynced(y);
});

test('across two instances: a y-websocket client on one and a Hocuspocus client on the other co-edit', async (t) => {
  const one = await startServer(t, { redis: true });
  const two = await startServer(t, { redis: true, schema: one.schema, env: { REDIS_PREFIX: one.config.redis.prefix } });
  const owner = await one.api.signup();
  const doc = await one.api.createDocument(owner, 'two instances');
  const y = yConnect(t, one, doc.id, owner.accessToken);
  const h = connect(t, two.url, doc.id, owner.accessToken);
  await Promise.all([ySynced(y), synced(h)]);
  paragraphText(y.doc).insert(0, 'one');
  await eventually(() => assert.equal(readParagraph(h.doc), 'one', 'instance two receives the y-websocket edit'));
  paragraphText(h.doc).insert(3, ' two');
  await eventually(() => assert.equal(readParagraph(y.doc), 'one two', 'instance one receives the Hocuspocus edit'));
  await eventually(async () => assert.equal(await storedText(two, owner, doc.id), 'one two', 'stored once, readable from either instance'));
});
