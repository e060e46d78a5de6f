/**
 * One workspace cannot exhaust an instance: inbound byte budgets per socket and per
 * workspace, and limits on awareness (presence) states, while other clients keep editing.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Awareness, encodeAwarenessUpdate } from 'y-protocols/awareness';
import * as Y from 'yjs';
import { GroupCommitter } from '../sync/group-commit.js';
import { ByteBucket, InboundBudget } from '../sync/inbound-budget.js';
import { connect, paragraphText, readParagraph, synced, acked } from './helpers/provider.js';
import { alternatingInsertions } from './helpers/crafted-update.js';
import { authenticatedSocket, authFrame, awarenessFrame, frameType, rawSocket, updateFrame } from './helpers/raw-socket.js';
import { startServer } from './helpers/server.js';
import { eventually } from './helpers/wait.js';

const authenticated = authenticatedSocket;

/** A valid update that inserts `n` characters into a fresh paragraph. */
function bigUpdate(n: number, seed: number): Uint8Array {
  const doc = new Y.Doc();
  doc.clientID = 1_000 + seed;
  const p = new Y.XmlElement('paragraph');
  doc.getXmlFragment('default').insert(0, [p]);
  p.insert(0, [new Y.XmlText('x'.repeat(n))]);
  return Y.encodeStateAsUpdate(doc);
}

test('byte buckets: a burst, then the refill rate', () => {
  const b = new ByteBucket(1000, 100, 0);
  assert.equal(b.take(800, 0), true);
  assert.equal(b.take(300, 0), false);
  assert.equal(b.take(300, 1000), true); // 200 left + 100 refilled… +100 more after a second
  const budget = new InboundBudget({ socketBurstBytes: 100, socketBytesPerSecond: 1, tenantBurstBytes: 150, tenantBytesPerSecond: 1 });
  const s1 = budget.socketBucket();
  const s2 = budget.socketBucket();
  assert.equal(budget.charge(s1, 'w', 100), 'ok');
  assert.equal(budget.charge(s1, 'w', 1), 'socket');
  assert.equal(budget.charge(s2, 'w', 60), 'workspace');
  assert.equal(budget.charge(budget.socketBucket(), 'other', 60), 'ok');
});

test('a client pipelining frames past its budget is closed with 4429; another workspace edits on', async (t) => {
  const { api, url } = await startServer(t, {
    env: { SYNC_SOCKET_BURST_BYTES: String(1_048_576), SYNC_SOCKET_BYTES_PER_SECOND: String(64 * 1024) },
  });
  const attacker = await api.signup();
  const victim = await api.signup();
  const aDoc = await api.createDocument(attacker, 'Flood');
  const vDoc = await api.createDocument(victim, 'Calm');
  const good = connect(t, url, vDoc.id, victim.accessToken);
  await synced(good);

  const flood = await authenticated(url, aDoc.id, attacker.accessToken);
  for (let i = 0; i < 40; i++) flood.send(updateFrame(aDoc.id, bigUpdate(100_000, i)));
  const closed = await flood.closed;
  assert.equal(closed.code, 4429);
  assert.match(closed.reason, /^sending_too_fast: /);

  paragraphText(good.doc).insert(0, 'still editing');
  await acked(good);
  assert.equal((await api.get(`/api/v1/documents/${vDoc.id}/content`, victim.accessToken)).text, 'still editing');
  assert.equal((await api.get('/health')).status, 200);
});

test('the workspace budget is shared by all of its sockets', async (t) => {
  const { api, url } = await startServer(t, {
    env: {
      SYNC_SOCKET_BURST_BYTES: String(4 * 1_048_576),
      SYNC_SOCKET_BYTES_PER_SECOND: String(1_048_576),
      SYNC_TENANT_BURST_BYTES: String(1_048_576),
      SYNC_TENANT_BYTES_PER_SECOND: String(64 * 1024),
    },
  });
  const s = await api.signup();
  const docs = [await api.createDocument(s, 'a'), await api.createDocument(s, 'b'), await api.createDocument(s, 'c')];
  const socks = await Promise.all(docs.map((d) => authenticated(url, d.id, s.accessToken)));
  // Each socket alone stays inside its own budget (400 KB of 4 MB); together they pass the workspace's 1 MB.
  for (let i = 0; i < 4; i++) socks.forEach((sock, k) => sock.send(updateFrame(docs[k]!.id, bigUpdate(100_000, i * 3 + k))));
  const codes = await Promise.race([Promise.any(socks.map((x) => x.closed)), new Promise<null>((r) => setTimeout(() => r(null), 15_000))]);
  assert.ok(codes, 'a socket was closed');
  assert.equal(codes.code, 4429);
  assert.match(codes.reason, /workspace budget/);
  for (const x of socks) x.ws.close();
});

test('awareness: oversized states and extra client ids are dropped and refused; newcomers get only the rest', async (t) => {
  const { api, url } = await startServer(t);
  const s = await api.signup();
  const doc = await api.createDocument(s, 'Presence');
  const hostile = await authenticated(url, doc.id, s.accessToken);
  // One connection speaks for 12 awareness clients, one of them with a 200 KB state.
  for (let i = 0; i < 12; i++) {
    const d = new Y.Doc();
    d.clientID = 50_000 + i;
    const a = new Awareness(d);
    a.setLocalState(i === 0 ? { user: { name: 'x'.repeat(200_000) } } : { user: { name: `ghost ${i}` } });
    hostile.send(awarenessFrame(doc.id, encodeAwarenessUpdate(a, [d.clientID])));
    a.destroy();
  }
  await eventually(() =>
    assert.ok(
      hostile.frames.some((f) => new TextDecoder().decode(f).includes('too many awareness clients')),
      "hostile.frames.some((f) => new TextDecoder().decode(f).includes('too many awareness clients'))",
    ),
  );
  assert.ok(
    hostile.frames.some((f) => new TextDecoder().decode(f).includes('awareness state larger than')),
    "hostile.frames.some((f) => new TextDecoder().decode(f).includes('awareness state larger than'))",
  );

  const newcomer = connect(t, url, doc.id, s.accessToken);
  await synced(newcomer);
  await eventually(() => {
    const ghosts = [...newcomer.provider.awareness!.getStates().entries()].filter(([id]) => id >= 50_000 && id < 50_012);
    assert.equal(ghosts.length, 4, `ghosts seen: ${ghosts.map(([id, st]) => `${id}:${JSON.stringify(st).length}`).join(',')}`);
    assert.ok(
      ghosts.every(([, st]) => JSON.stringify(st).length < 1000),
      'ghosts.every(([, st]) => JSON.stringify(st).length < 1000)',
    );
  });
  // Editing is unaffected.
  paragraphText(newcomer.doc).insert(0, 'hello');
  await acked(newcomer);
  assert.equal(readParagraph(newcomer.doc), 'hello');
  hostile.ws.close();
});

/** An update nesting `depth` blockquotes, with a paragraph at the bottom. */
function deepUpdate(depth: number): Uint8Array {
  const doc = new Y.Doc();
  doc.transact(() => {
    let parent: Y.XmlFragment | Y.XmlElement = doc.getXmlFragment('default');
    for (let i = 0; i < depth; i++) {
      const el = new Y.XmlElement('blockquote');
      parent.insert(0, [el]);
      parent = el;
    }
    const p = new Y.XmlElement('paragraph');
    parent.insert(0, [p]);
    p.insert(0, [new Y.XmlText('bottom')]);
  });
  return Y.encodeStateAsUpdate(doc);
}

test('nesting: an update past the depth limit is refused (4400); a document stored that deep earlier reads as a clear 422', async (t) => {
  const { api, url, quire } = await startServer(t);
  const s = await api.signup();
  const doc = await api.createDocument(s, 'Deep');
  const sock = await authenticated(url, doc.id, s.accessToken);
  sock.send(updateFrame(doc.id, deepUpdate(5_000)));
  const closed = await sock.closed;
  assert.equal(closed.code, 4400);
  assert.match(closed.reason, /too_deep/);
  const text = await api.get(`/api/v1/documents/${doc.id}/content?format=text`, s.accessToken);
  assert.equal(text.status, 200);
  assert.equal(text.text, '');
  // Within the limit the same shape is fine.
  const ok = connect(t, url, doc.id, s.accessToken);
  await synced(ok);
  Y.applyUpdate(ok.doc, deepUpdate(20));
  await acked(ok);
  assert.equal((await api.get(`/api/v1/documents/${doc.id}/content?format=text`, s.accessToken)).text, 'bottom');
  ok.destroy();

  // A document stored 1,000 deep (as before the limit) answers 422, and its Yjs state still reads.
  const legacy = await api.createDocument(s, 'Legacy');
  await quire.sync!.documents.appendBatch([{ tenantId: s.user.tenantId, documentId: legacy.id, data: deepUpdate(1_000), userId: s.user.id }]);
  for (const format of ['text', 'json']) {
    const r = await api.get(`/api/v1/documents/${legacy.id}/content?format=${format}`, s.accessToken);
    assert.equal(r.status, 422, `${format}: ${r.text.slice(0, 200)}`);
    assert.equal(r.body.error.code, 'document_too_deep');
  }
  assert.equal((await api.get(`/api/v1/documents/${legacy.id}/content?format=yjs`, s.accessToken)).status, 200);
  assert.equal((await api.get('/health')).status, 200);
});

test('a workspace whose updates cost more processing than its budget is slowed down (4429); others are not', async (t) => {
  const { api, url } = await startServer(t, { env: { SYNC_TENANT_WORK_BURST_MS: '20', SYNC_TENANT_WORK_MS_PER_SECOND: '1' } });
  const heavy = await api.signup();
  const other = await api.signup();
  const hDoc = await api.createDocument(heavy, 'Heavy');
  const oDoc = await api.createDocument(other, 'Light');
  const sock = await authenticated(url, hDoc.id, heavy.accessToken);
  // Each update inserts 20,000 one-character items (not merged: each its own insertion).
  const costly = (seed: number) => alternatingInsertions(7_000 + seed, 20_000, 'bulk');
  for (let i = 0; i < 30; i++) sock.send(updateFrame(hDoc.id, costly(i)));
  const closed = await sock.closed;
  assert.equal(closed.code, 4429);
  assert.match(closed.reason, /workspace CPU budget/);
  // While the budget is spent, the workspace's documents do not load (socket or REST write).
  const other2 = await api.createDocument(heavy, 'Another');
  const refused = rawSocket(url);
  await refused.opened;
  refused.send(authFrame(other2.id, heavy.accessToken));
  await eventually(() =>
    assert.ok(
      refused.frames.some((f) => frameType(f).type === 2 && frameType(f).sub === 1),
      'permission denied',
    ),
  );
  assert.ok(
    refused.frames.some((f) => new TextDecoder().decode(f).includes('workspace_busy')),
    "refused.frames.some((f) => new TextDecoder().decode(f).includes('workspace_busy'))",
  );
  refused.ws.close();
  const put = await api.request('PUT', `/api/v1/documents/${other2.id}/content`, { token: heavy.accessToken, json: { text: 'later' } });
  assert.equal(put.status, 429, put.text);
  assert.equal(put.body.error.code, 'workspace_busy');
  const c = connect(t, url, oDoc.id, other.accessToken);
  await synced(c);
  paragraphText(c.doc).insert(0, 'unaffected');
  await acked(c);
  assert.equal((await api.get(`/api/v1/documents/${oDoc.id}/content`, other.accessToken)).text, 'unaffected');
});

test('group commit: a workspace with megabytes queued does not hold back another workspace’s small update', async (t) => {
  const { api, quire } = await startServer(t);
  const a = await api.signup();
  const b = await api.signup();
  const aDoc = await api.createDocument(a, 'Bulk');
  const bDoc = await api.createDocument(b, 'Small');
  const committer = new GroupCommitter(quire.sync!.documents);
  const order: string[] = [];
  const bulk = Array.from({ length: 10 }, (_, i) =>
    committer.append({ tenantId: a.user.tenantId, documentId: aDoc.id, data: bigUpdate(200_000, i), userId: a.user.id }).then(() => order.push(`a${i}`)),
  );
  // The small update arrives while the first batch is being committed.
  await new Promise((r) => setImmediate(() => setImmediate(() => setImmediate(r))));
  const small = committer.append({ tenantId: b.user.tenantId, documentId: bDoc.id, data: bigUpdate(10, 99), userId: b.user.id }).then(() => order.push('b'));
  await Promise.all([...bulk, small]);
  assert.ok(order.indexOf('b') < order.indexOf('a9'), `commit order: ${order.join(' ')}`);
  // Each workspace's own updates keep their order.
  assert.deepEqual(
    order.filter((x) => x !== 'b'),
    Array.from({ length: 10 }, (_, i) => `a${i}`),
  );
});
