/**
 * Durable fan-out (sync/extensions/durable-fanout.ts): an update crosses to another
 * instance only once it is committed, so a peer never holds an update the store lacks.
 * Instance one reaches Postgres through a TCP proxy that the tests pause (its commits
 * stall); instance two shares the schema and Redis.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { test, type TestContext } from 'node:test';
import { Redis as RedisExtension } from '@hocuspocus/extension-redis';
import { OutgoingMessage } from '@hocuspocus/server';
import { writeSyncStep1, writeSyncStep2 } from 'y-protocols/sync';
import * as Y from 'yjs';
import { DocumentStore } from '../core/document-store.js';
import { stateMessageDocument } from '../sync/extensions/durable-fanout.js';
import { TEST_DATABASE_URL, TEST_REDIS_URL } from './helpers/env.js';
import { connect, synced, type Client } from './helpers/provider.js';
import { startServer, type TestServer } from './helpers/server.js';
import { startTcpProxy, targetOf, type TcpProxy } from './helpers/tcp-proxy.js';
import { eventually } from './helpers/wait.js';

async function twoInstances(t: TestContext): Promise<{ one: TestServer; two: TestServer; proxy: TcpProxy }> {
  const proxy = await startTcpProxy(t, targetOf(TEST_DATABASE_URL));
  const one = await startServer(t, { redis: true, env: { DATABASE_URL: proxy.url(TEST_DATABASE_URL) } });
  const two = await startServer(t, { redis: true, schema: one.schema, env: { REDIS_PREFIX: one.config.redis.prefix } });
  // Teardown: the stalled link must move again before instance one flushes and closes.
  t.after(() => proxy.resume());
  return { one, two, proxy };
}

const marks = (c: Client | Y.Doc) => (c instanceof Y.Doc ? c : c.doc).getMap<number>('marks');

/** What the store holds for the document (through instance two's own database link). */
async function stored(server: TestServer, tenantId: string, documentId: string): Promise<Y.Map<number>> {
  const { doc } = await new DocumentStore(server.quire.store.db).loadInto(tenantId, documentId);
  return doc.getMap<number>('marks');
}

/**
 * Sets `key` on `from` and waits until `to` has it: a full exchange between the two
 * instances (state vector out, diff back) has completed since.
 */
async function roundTrip(from: Client, to: Client, key: string): Promise<void> {
  marks(from).set(key, 1);
  await eventually(() => assert.ok(marks(to).has(key), `${key} crossed`));
}

async function setup(t: TestContext) {
  const { one, two, proxy } = await twoInstances(t);
  const owner = await two.api.signup();
  const doc = await two.api.createDocument(owner, 'failover');
  const a = connect(t, one.url, doc.id, owner.accessToken);
  const b = connect(t, two.url, doc.id, owner.accessToken);
  await Promise.all([synced(a), synced(b)]);
  // Both instances have the document open and subscribed: changes cross both ways.
  await roundTrip(a, b, 'base-a');
  await roundTrip(b, a, 'base-b');
  return { one, two, proxy, owner, doc, a, b };
}

test('an update is not fanned out while its commit is stalled; when it commits, it reaches the peer', async (t) => {
  const { two, proxy, owner, doc, a, b } = await setup(t);
  proxy.pause();
  marks(a).set('u', 1);
  // Two complete exchanges after U: each one carried instance one's diff to instance two
  // before this change, and U with it.
  await roundTrip(b, a, 'w1');
  await roundTrip(b, a, 'w2');
  assert.equal(marks(b).has('u'), false, 'the peer holds an update that is not stored yet');
  assert.equal(a.provider.hasUnsyncedChanges, true, 'U is not acknowledged while its commit stalls');

  proxy.resume();
  await eventually(() => assert.ok(marks(b).has('u'), 'U reaches the peer once committed'));
  assert.ok((await stored(two, owner.user.tenantId, doc.id)).has('u'), "(await stored(two, owner.user.tenantId, doc.id)).has('u')");
});

test('the author of an update whose instance stalls before committing it fails over to a peer, and the update is stored', async (t) => {
  const { two, proxy, owner, doc, a, b } = await setup(t);
  proxy.pause();
  marks(a).set('u', 1);
  await roundTrip(b, a, 'w1');
  await roundTrip(b, a, 'w2');

  // Instance one is gone as far as its client can tell: the client reconnects to two with
  // the same document. Two's memory lacks U, so the sync step sends it and two stores it.
  a.destroy();
  const again = connect(t, two.url, doc.id, owner.accessToken, { doc: a.doc });
  await synced(again);
  await eventually(async () => assert.ok((await stored(two, owner.user.tenantId, doc.id)).has('u'), 'U is stored'), { timeoutMs: 10_000 });
  await eventually(() => assert.ok(marks(b).has('u'), "marks(b).has('u')"));
  assert.equal(proxy.open > 0, true, 'instance one is still stalled on its database link');
});

test('contract: @hocuspocus/extension-redis sends every message through `this.pub.publish`, framed as [length][identifier][message]', async (t) => {
  const entry = fileURLToPath(import.meta.resolve('@hocuspocus/extension-redis'));
  const source = await fs.readFile(entry, 'utf8');
  const publishes = source.match(/\.publish(Buffer)?\(/g) ?? [];
  const viaPub = source.match(/this\.pub\.publish\(/g) ?? [];
  assert.ok(viaPub.length > 0, `${entry} publishes through this.pub.publish`);
  assert.equal(publishes.length, viaPub.length, `every publish in ${entry} goes through this.pub.publish (the durable fan-out wraps it)`);
  assert.doesNotMatch(source, /\.(sendCommand|call)\(\s*["']publish/i, 'no publish bypasses pub.publish');

  const u = new URL(TEST_REDIS_URL);
  const ext = new RedisExtension({ host: u.hostname, port: Number(u.port || 6379), identifier: 'contract-check', prefix: 'quire-contract' });
  t.after(() => ext.onDestroy());
  assert.equal(typeof ext.pub.publish, 'function');
  const encode = (ext as unknown as { encodeMessage(m: Uint8Array): Buffer }).encodeMessage.bind(ext);
  const ydoc = new Y.Doc();
  ydoc.getMap('m').set('k', 1);
  const step2 = new OutgoingMessage('doc-1').createSyncMessage();
  step2.writeUpdate(Y.encodeStateAsUpdate(ydoc));
  assert.equal(stateMessageDocument(encode(step2.toUint8Array())), 'doc-1', 'an Update is recognised as document state');
  const reply = new OutgoingMessage('doc-1').createSyncReplyMessage();
  writeSyncStep2(reply.encoder, ydoc);
  assert.equal(stateMessageDocument(encode(reply.toUint8Array())), 'doc-1', 'a SyncStep2 reply is recognised as document state');
  const step1 = new OutgoingMessage('doc-1').createSyncMessage();
  writeSyncStep1(step1.encoder, ydoc);
  assert.equal(stateMessageDocument(encode(step1.toUint8Array())), null, 'a state vector is not document state');
  assert.equal(stateMessageDocument(encode(new OutgoingMessage('doc-1').writeQueryAwareness().toUint8Array())), null);
});
