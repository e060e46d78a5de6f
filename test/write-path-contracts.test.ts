/**
 * The write path's promise — no acknowledgement before the update's commit — rests on three
 * things Quire does not own. These tests pin each of them to the installed versions, with a
 * real Hocuspocus and no database, so an upgrade that breaks one fails here:
 *
 * 1. Hocuspocus sends exactly one SyncStatus per SyncStep2/Update message, to its document
 *    address, after that message's `beforeSync` resolved and before the next message's
 *    `beforeSync` starts. `UwsSocket` pairs each SyncStatus with the commit `beforeSync`
 *    queued (`holdNextAck`) by that order alone.
 * 2. Hocuspocus broadcasts an applied update to the document's other connections from an
 *    immediate scheduled while the update is applied, so it goes out before
 *    `afterThisTurn()` (`sync/group-commit.ts`) resolves and the commit starts.
 * 3. lib0's Observable keeps its listeners in `_observers`, which `withoutUpdateEvents`
 *    (`core/document-store.ts`) detaches while a stored state is integrated.
 *
 * And the socket's ack queue itself (`sync/uws-socket.ts`), without Hocuspocus.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Hocuspocus, type Extension, type beforeSyncPayload } from '@hocuspocus/server';
import type { WebSocket } from '@trufflesuite/uws-js-unofficial';
import * as Y from 'yjs';
import { withoutUpdateEvents } from '../core/document-store.js';
import { afterThisTurn } from '../sync/group-commit.js';
import { ackAddress, UwsSocket, type SocketData } from '../sync/uws-socket.js';
import { authFrame, frameType, syncStep1Frame, updateFrame } from './helpers/raw-socket.js';

/** A uWS socket stand-in: what the server sends, and how it closed. */
function fakeUws() {
  const sent: Uint8Array[] = [];
  const closes: { code: number; reason: string }[] = [];
  const ws = {
    getUserData: () => ({ ip: '127.0.0.1' }),
    send: (data: Uint8Array) => {
      sent.push(Uint8Array.from(data));
      return 1;
    },
    end: (code: number, reason: string) => void closes.push({ code, reason }),
  } as unknown as WebSocket<SocketData>;
  return { ws, sent, closes };
}

function deferred(): { promise: Promise<void>; resolve: () => void; reject: (e: unknown) => void } {
  let resolve!: () => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const tick = () => new Promise((r) => setImmediate(r));
async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 2_000 && !check(); i++) await tick();
  assert.ok(check(), what);
}

/** A typing update from its own client. */
function typing(text: string, client: number): Uint8Array {
  const d = new Y.Doc();
  d.clientID = client;
  d.getText('t').insert(0, text);
  return Y.encodeStateAsUpdate(d);
}

const statusFrames = (frames: Uint8Array[]) => frames.filter((f) => ackAddress(f) !== null);

describe('Hocuspocus: one SyncStatus per SyncStep2/Update, after its beforeSync, before the next', () => {
  it('pairs each acknowledgement with the commit its beforeSync held, by order alone', async () => {
    const events: string[] = [];
    const commits: ReturnType<typeof deferred>[] = [];
    const holder: Extension = {
      async beforeSync({ type, payload, connection }: beforeSyncPayload) {
        if (type === 0) return;
        const empty = payload.length <= 2 && payload.every((b) => b === 0);
        events.push(`before ${type === 1 ? 'step2' : 'update'}${empty ? ' (empty)' : ''}`);
        // As Persistence does: an empty update holds nothing.
        if (empty) return;
        const c = deferred();
        commits.push(c);
        (connection.webSocket as UwsSocket).holdNextAck(connection.messageAddress, c.promise);
      },
    };
    const hocuspocus = new Hocuspocus({ quiet: true, extensions: [holder] });
    const uws = fakeUws();
    const socket = new UwsSocket(uws.ws, () => events.push('persist failure'));
    // Every frame that reaches the socket, in order, and the acknowledgements among them.
    const send = socket.send.bind(socket);
    socket.send = (data) => {
      if (data instanceof Uint8Array && ackAddress(data) !== null) events.push('status');
      send(data);
    };
    const client = hocuspocus.handleConnection(socket as never, { url: '/', headers: new Headers() } as unknown as Request, { socket });
    client.handleMessage(authFrame('doc', 'token'));
    await until(() => uws.sent.some((f) => frameType(f).type === 2), 'authenticated');
    client.handleMessage(syncStep1Frame('doc', Y.encodeStateVector(new Y.Doc())));
    client.handleMessage(updateFrame('doc', typing('one', 1)));
    client.handleMessage(updateFrame('doc', new Uint8Array([0, 0])));
    client.handleMessage(updateFrame('doc', typing('two', 2)));
    await until(() => events.filter((e) => e === 'status').length === 3, 'three acknowledgements handed to the socket');
    assert.deepEqual(events, ['before update', 'status', 'before update (empty)', 'status', 'before update', 'status']);

    // Held: nothing acknowledged before its commit; commits settling out of order release in order.
    assert.equal(statusFrames(uws.sent).length, 0);
    commits[1]!.resolve();
    await tick();
    assert.equal(statusFrames(uws.sent).length, 0, 'the second waits for the first');
    commits[0]!.resolve();
    await until(() => statusFrames(uws.sent).length === 3, 'all three acknowledged');
    await hocuspocus.closeConnections();
  });
});

describe('Hocuspocus broadcasts an update before afterThisTurn() resolves', () => {
  it('the reader has the update before the commit would start', async () => {
    const order: string[] = [];
    const watcher: Extension = {
      async beforeSync({ type }: beforeSyncPayload) {
        if (type === 2) void afterThisTurn().then(() => order.push('commit starts'));
      },
    };
    const hocuspocus = new Hocuspocus({ quiet: true, extensions: [watcher] });
    const writer = fakeUws();
    const reader = fakeUws();
    const sockets = [writer, reader].map((u) => new UwsSocket(u.ws, () => undefined));
    const clients = sockets.map((s) => hocuspocus.handleConnection(s as never, { url: '/', headers: new Headers() } as unknown as Request, {}));
    for (const [i, c] of clients.entries()) {
      c.handleMessage(authFrame('doc', 'token'));
      await until(() => [writer, reader][i]!.sent.some((f) => frameType(f).type === 2), 'authenticated');
    }
    const readerFrames = () => reader.sent.filter((f) => frameType(f).type === 0).length;
    const before = readerFrames();
    const readerSend = sockets[1]!.send.bind(sockets[1]!);
    sockets[1]!.send = (data) => {
      order.push('broadcast');
      readerSend(data);
    };
    clients[0]!.handleMessage(updateFrame('doc', typing('hello', 7)));
    await until(() => order.includes('commit starts'), 'afterThisTurn resolved');
    assert.ok(readerFrames() > before, 'the reader received the update');
    assert.deepEqual(order.slice(0, 2), ['broadcast', 'commit starts']);
    await hocuspocus.closeConnections();
  });
});

describe('lib0 keeps Observable listeners in _observers', () => {
  it('withoutUpdateEvents detaches the update listeners and puts them back', () => {
    const doc = new Y.Doc();
    const seen: number[] = [];
    doc.on('update', (u: Uint8Array) => seen.push(u.length));
    withoutUpdateEvents(doc, () => Y.applyUpdate(doc, typing('loaded', 3)));
    assert.deepEqual(seen, [], 'no update event while a stored state is integrated');
    doc.getText('t').insert(0, 'live');
    assert.equal(seen.length, 1, 'the listener is back');
    assert.ok((doc as unknown as { _observers: unknown })._observers instanceof Map, '(doc as unknown as { _observers: unknown })._observers instanceof Map');
  });
});

describe('UwsSocket: acknowledgements wait for their commits', () => {
  const status = (address: string) => {
    const frame = [...new TextEncoder().encode(address)];
    return Uint8Array.from([frame.length, ...frame, 8, 1]);
  };

  it('in order per address; another address is not held back; a frame that is not an ack goes at once', async () => {
    const uws = fakeUws();
    const socket = new UwsSocket(uws.ws, () => assert.fail('no failure expected'));
    const a1 = deferred();
    const a2 = deferred();
    socket.holdNextAck('a', a1.promise);
    socket.send(status('a'));
    socket.holdNextAck('a', a2.promise);
    socket.send(status('a'));
    socket.send(status('a')); // an empty update's ack: nothing held, still after the two before it
    socket.send(status('b'));
    socket.send(Uint8Array.from([1, 97, 0, 2, 0])); // a sync frame at address "a"
    assert.deepEqual(
      uws.sent.map((f) => ackAddress(f) ?? 'other'),
      ['b', 'other'],
    );
    a2.resolve();
    await tick();
    assert.equal(statusFrames(uws.sent).length, 1);
    a1.resolve();
    await until(() => statusFrames(uws.sent).length === 4, 'all released');
    assert.deepEqual(
      uws.sent.map((f) => ackAddress(f) ?? 'other'),
      ['b', 'other', 'a', 'a', 'a'],
    );
  });

  it('a failed commit is reported and never acknowledged, nor is what waited behind it', async () => {
    const uws = fakeUws();
    const failures: unknown[] = [];
    const socket = new UwsSocket(uws.ws, (_s, e) => failures.push(e));
    const c = deferred();
    socket.holdNextAck('a', c.promise);
    socket.send(status('a'));
    socket.send(status('a'));
    c.reject(new Error('commit failed'));
    await until(() => failures.length > 0, 'failure reported');
    await tick();
    assert.equal((failures[0] as Error).message, 'commit failed');
    assert.equal(statusFrames(uws.sent).length, 0);
  });

  it('nothing is sent once the socket is closed', async () => {
    const uws = fakeUws();
    const socket = new UwsSocket(uws.ws, () => undefined);
    const c = deferred();
    socket.holdNextAck('a', c.promise);
    socket.send(status('a'));
    socket.close(4000, 'bye');
    socket.markClosed();
    c.resolve();
    await tick();
    await tick();
    assert.equal(uws.sent.length, 0);
    assert.deepEqual(uws.closes, [{ code: 4000, reason: 'bye' }]);
  });
});
