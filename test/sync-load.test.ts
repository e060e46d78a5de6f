/**
 * Loading a stored document for a fresh client (empty state vector): the socket gets the
 * stored snapshot and log tail as soon as they are read, before the server has integrated
 * them, then an empty SyncStep2; the server's own answer to the client's SyncStep1 carries
 * only what the document gained since. Everyone else takes the standard sync.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { sql } from 'kysely';
import * as Y from 'yjs';
import { DocumentStore } from '../core/document-store.js';
import { connect, paragraphText, synced } from './helpers/provider.js';
import { authFrame, frameType, rawSocket, syncPayload, syncStep1Frame, type RawSocket } from './helpers/raw-socket.js';
import { startServer } from './helpers/server.js';
import { eventually, quietFor } from './helpers/wait.js';

const EMPTY_STATE_VECTOR = Y.encodeStateVector(new Y.Doc());

/** A document stored as a snapshot (compacted) plus a tail of three log rows; returns its text. */
async function storedDocument(t: TestContext) {
  const srv = await startServer(t);
  const s = await srv.api.signup();
  const doc = await srv.api.createDocument(s, 'Stored');
  const store = new DocumentStore(srv.quire.store.db);
  const source = new Y.Doc();
  const updates: Uint8Array[] = [];
  source.on('update', (u: Uint8Array) => updates.push(u));
  const write = async (text: string) => {
    paragraphText(source).insert(paragraphText(source).length, text);
    await store.appendBatch(updates.splice(0).map((data) => ({ tenantId: s.user.tenantId, documentId: doc.id, data, userId: s.user.id })));
  };
  for (const w of ['Folded ', 'into ', 'the snapshot. ']) await write(w);
  assert.ok((await store.compact(s.user.tenantId, doc.id))?.folded, '(await store.compact(s.user.tenantId, doc.id))?.folded');
  for (const w of ['Tail one. ', 'Tail two. ', 'Tail three.']) await write(w);
  const stored = await store.load(s.user.tenantId, doc.id);
  assert.ok(stored.snapshot && stored.updates.length >= 3, 'a snapshot and a tail');
  return { ...srv, s, doc, stored, text: paragraphText(source).toString() };
}

/** Sync frames a raw client received (after authentication), in order. */
function syncFrames(frames: Uint8Array[]) {
  return frames.map(syncPayload).filter((f): f is NonNullable<typeof f> => f !== null);
}

function textOf(payloads: Uint8Array[]): string {
  const d = new Y.Doc();
  for (const p of payloads) Y.applyUpdate(d, p);
  return paragraphText(d).toString();
}

/**
 * A control round trip on an authenticated raw socket: a SyncStep1 with the state it was
 * sent, answered (in order, on the same socket) by the server's SyncStep1 and a SyncStep2
 * with nothing in it. Whatever the server was going to send this socket for the load has
 * gone out before that answer.
 */
async function roundTrip(raw: RawSocket, address: string): Promise<void> {
  const mine = () => syncFrames(raw.frames.filter((f) => frameType(f).doc === address));
  const state = new Y.Doc();
  for (const f of mine()) if (f.step !== 0) Y.applyUpdate(state, f.payload);
  const answers = mine().filter((f) => f.step === 1).length;
  raw.send(syncStep1Frame(address, Y.encodeStateVector(state)));
  await eventually(() => assert.ok(mine().filter((f) => f.step === 1).length > answers, 'the answer to the control SyncStep1'));
  assert.equal(
    Y.decodeUpdate(
      mine()
        .filter((f) => f.step === 1)
        .at(-1)!.payload,
    ).structs.length,
    0,
    'the control answer is empty',
  );
}

test('a fresh client gets the stored snapshot and tail before the server integrates them, then only the difference', async (t) => {
  const w = await storedDocument(t);
  const raw = rawSocket(w.url);
  t.after(() => raw.ws.terminate());
  await raw.opened;
  raw.send(authFrame(w.doc.id, w.s.accessToken));
  raw.send(syncStep1Frame(w.doc.id, EMPTY_STATE_VECTOR));
  // Stored state as updates, the empty SyncStep2, then the server's SyncStep1 and SyncStep2.
  await eventually(() => assert.ok(syncFrames(raw.frames).filter((f) => f.step === 1).length >= 2, 'two SyncStep2 frames'));
  const sync = syncFrames(raw.frames);
  const early = sync.slice(0, 1 + w.stored.updates.length);
  assert.deepEqual(
    early.map((f) => f.step),
    early.map(() => 2),
    'the stored state goes out as updates',
  );
  assert.deepEqual(Buffer.from(early[0]!.payload), Buffer.from(w.stored.snapshot!), 'the snapshot bytes as stored');
  w.stored.updates.forEach((u, i) => assert.deepEqual(Buffer.from(early[i + 1]!.payload), Buffer.from(u), `tail row ${i} as stored`));
  const marker = sync[early.length]!;
  assert.equal(marker.step, 1);
  assert.deepEqual([...marker.payload], [0, 0], 'then an empty SyncStep2: the client is synced with all of it');
  assert.equal(textOf(early.map((f) => f.payload)), w.text);
  const answer = sync.slice(early.length + 1).find((f) => f.step === 1)!;
  assert.equal(Y.decodeUpdate(answer.payload).structs.length, 0, "the server's own answer repeats nothing the client was sent");
  // Nothing else follows (Hocuspocus used to broadcast the loaded state as an update as well).
  await roundTrip(raw, w.doc.id);
  await quietFor(300, 'a late broadcast of the loaded state would arrive');
  const sent = syncFrames(raw.frames).reduce((n, f) => n + f.payload.byteLength, 0);
  const storedBytes = w.stored.snapshot!.byteLength + w.stored.updates.reduce((n, u) => n + u.byteLength, 0);
  assert.ok(sent < storedBytes + 200, `the document went out once (${sent} bytes for ${storedBytes} stored)`);
  // The connection is a normal one from here: an edit from the raw client reaches a provider.
  const reader = connect(t, w.url, w.doc.id, w.s.accessToken);
  await synced(reader);
  assert.equal(paragraphText(reader.doc).toString(), w.text);
});

test('the standard sync answers a client with state, a client of a document already in memory, and no one without access', async (t) => {
  const w = await storedDocument(t);
  // A client that already has the snapshot's state: Hocuspocus answers, with what it lacks.
  const partial = new Y.Doc();
  Y.applyUpdate(partial, w.stored.snapshot!);
  const a = rawSocket(w.url);
  t.after(() => a.ws.terminate());
  await a.opened;
  a.send(authFrame(w.doc.id, w.s.accessToken));
  a.send(syncStep1Frame(w.doc.id, Y.encodeStateVector(partial)));
  await eventually(() =>
    assert.ok(
      syncFrames(a.frames).some((f) => f.step === 1),
      'syncFrames(a.frames).some((f) => f.step === 1)',
    ),
  );
  const first = syncFrames(a.frames)[0]!;
  assert.equal(first.step !== 2 || Y.decodeUpdate(first.payload).structs.length < 10, true, 'no snapshot pushed to a client that has it');
  const steps = syncFrames(a.frames).filter((f) => f.step === 1);
  for (const f of steps) Y.applyUpdate(partial, f.payload);
  assert.equal(paragraphText(partial).toString(), w.text);

  // The document is in memory now: a fresh client gets Hocuspocus' SyncStep2 with everything.
  const b = rawSocket(w.url);
  t.after(() => b.ws.terminate());
  await b.opened;
  b.send(authFrame(w.doc.id, w.s.accessToken));
  b.send(syncStep1Frame(w.doc.id, EMPTY_STATE_VECTOR));
  await eventually(() =>
    assert.ok(
      syncFrames(b.frames).some((f) => f.step === 1),
      'syncFrames(b.frames).some((f) => f.step === 1)',
    ),
  );
  const bSync = syncFrames(b.frames);
  assert.equal(
    bSync.findIndex((f) => f.step === 2),
    -1,
    'no early updates for a loaded document',
  );
  assert.equal(textOf(bSync.filter((f) => f.step === 1).map((f) => f.payload)), w.text);

  // Someone without access to the document gets nothing of it.
  const stranger = await w.api.signup('Other');
  const c = rawSocket(w.url);
  t.after(() => c.ws.terminate());
  await c.opened;
  c.send(authFrame(w.doc.id, stranger.accessToken));
  c.send(syncStep1Frame(w.doc.id, EMPTY_STATE_VECTOR));
  await eventually(() =>
    assert.ok(
      c.frames.some((f) => frameType(f).type === 2),
      'an auth answer',
    ),
  );
  // Control: the same socket opens a document of the stranger's own; its sync answer comes after what it sent before.
  const own = await w.api.createDocument(stranger, 'Own');
  c.send(authFrame(own.id, stranger.accessToken));
  c.send(syncStep1Frame(own.id, EMPTY_STATE_VECTOR));
  await eventually(() =>
    assert.ok(
      syncFrames(c.frames.filter((f) => frameType(f).doc === own.id)).some((f) => f.step === 1),
      'the control document synced',
    ),
  );
  await quietFor(200, 'a sync frame for the refused document would arrive', {
    check: () => assert.deepEqual(syncFrames(c.frames.filter((f) => frameType(f).doc !== own.id)), [], 'no sync frame at all'),
  });
  const rows = await sql<{ n: string }>`select count(*) as n from document_updates where document_id = ${w.doc.id}`.execute(w.quire.store.owner);
  assert.ok(Number(rows.rows[0]!.n) >= 3, 'nothing was compacted or lost by these loads');
});

test('the REST Yjs state of a document not in memory comes from storage without integrating it', async (t) => {
  const w = await storedDocument(t);
  const get = async () => {
    const r = await fetch(`${w.url}/api/v1/documents/${w.doc.id}/content?format=yjs`, { headers: { authorization: `Bearer ${w.s.accessToken}` } });
    assert.equal(r.status, 200);
    return new Uint8Array(await r.arrayBuffer());
  };
  // Snapshot and tail: merged into one update that applies to the stored text.
  assert.equal(textOf([await get()]), w.text);
  // Compacted (no tail): the snapshot bytes as stored.
  const store = new DocumentStore(w.quire.store.db);
  await store.compact(w.s.user.tenantId, w.doc.id);
  const compacted = await store.load(w.s.user.tenantId, w.doc.id);
  assert.equal(compacted.updates.length, 0);
  const state = await get();
  assert.deepEqual(Buffer.from(state), Buffer.from(compacted.snapshot!));
  assert.equal(textOf([state]), w.text);
  // In memory (a client has it open): the live document's state, with the client's edit.
  const c = connect(t, w.url, w.doc.id, w.s.accessToken);
  await synced(c);
  paragraphText(c.doc).insert(0, 'Live. ');
  await eventually(async () => assert.equal(textOf([await get()]), `Live. ${w.text}`));
});

test('no early answer when it is unclear who asked: two sessions of one socket, or more requests than a socket may keep', async (t) => {
  const w = await storedDocument(t);
  const standard = async (prelude: Uint8Array[], address: string) => {
    const raw = rawSocket(w.url);
    t.after(() => raw.ws.terminate());
    await raw.opened;
    for (const f of prelude) raw.send(f);
    raw.send(authFrame(address, w.s.accessToken));
    raw.send(syncStep1Frame(address, EMPTY_STATE_VECTOR));
    await eventually(
      () =>
        assert.ok(
          syncFrames(raw.frames.filter((f) => frameType(f).doc === address)).some((f) => f.step === 1),
          JSON.stringify(raw.frames.map((f) => frameType(f))),
        ),
      { timeoutMs: 5000 },
    );
    const mine = syncFrames(raw.frames.filter((f) => frameType(f).doc === address));
    assert.equal(
      mine.findIndex((f) => f.step === 2),
      -1,
      `no early updates at ${JSON.stringify(address)}`,
    );
    assert.equal(textOf(mine.filter((f) => f.step === 1).map((f) => f.payload)), w.text);
    // The standard answer sends the document once: the load is not broadcast as an update too.
    await roundTrip(raw, address);
    await quietFor(300, 'a late broadcast of the loaded state would arrive');
    assert.deepEqual(
      syncFrames(raw.frames.filter((f) => frameType(f).doc === address)).map((f) => f.step),
      [0, 1, 0, 1],
      'the standard answer, then only the answer to the control SyncStep1',
    );
    raw.ws.terminate();
    // Let the document unload before the next socket loads it again.
    await eventually(() => assert.equal(w.quire.sync?.documentsInMemory, 0));
  };
  // Another session of the same socket asked for the same document as well.
  await standard([syncStep1Frame(`${w.doc.id}\0other`, EMPTY_STATE_VECTOR)], `${w.doc.id}\0mine`);
  // The socket already keeps as many unanswered requests as it may (16).
  const bogus = Array.from({ length: 16 }, (_, i) => syncStep1Frame(`00000000-0000-4000-8000-${String(i).padStart(12, '0')}`, EMPTY_STATE_VECTOR));
  await standard(bogus, w.doc.id);
});
