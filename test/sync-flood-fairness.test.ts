/**
 * A frame flood from one socket does not hold back another workspace on the same
 * instance: the flooder's frames are processed in turns between everyone else's, and its
 * megabytes commit in a lane of their own, while all of its own updates are still stored.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import pg from 'pg';
import * as Y from 'yjs';
import { TEST_DATABASE_URL } from './helpers/env.js';
import { acked, connect, paragraphText, synced } from './helpers/provider.js';
import { authenticatedSocket, frameType, updateFrame, type RawSocket } from './helpers/raw-socket.js';
import { startServer } from './helpers/server.js';
import { eventually } from './helpers/wait.js';

/** Budgets high enough that the flood is never closed: these tests look at the order of work. */
const GENEROUS = {
  SYNC_SOCKET_BURST_BYTES: String(256 * 1_048_576),
  SYNC_TENANT_BURST_BYTES: String(256 * 1_048_576),
  SYNC_TENANT_WORK_BURST_MS: '600000',
};

/** `n` updates of one client typing a character each: tiny frames, thousands per socket read. */
function typing(n: number): Uint8Array[] {
  const d = new Y.Doc();
  const out: Uint8Array[] = [];
  d.on('update', (u: Uint8Array) => out.push(u));
  const text = d.getText('flood');
  for (let i = 0; i < n; i++) text.insert(i, 'x');
  return out;
}

/** A valid update inserting `n` characters, from its own Yjs client. */
function bulk(n: number, client: number): Uint8Array {
  const d = new Y.Doc();
  d.clientID = client;
  d.getText('flood').insert(0, 'x'.repeat(n));
  return Y.encodeStateAsUpdate(d);
}

/** Acknowledgements (SyncStatus frames) a raw socket received. */
const acks = (s: RawSocket) => s.frames.filter((f) => frameType(f).type === 8).length;

test('frames one socket pipelined are processed in turns: another workspace’s update is not queued behind them', async (t) => {
  const { api, url, quire } = await startServer(t, { env: GENEROUS });
  const attacker = await api.signup();
  const victim = await api.signup();
  const aDoc = await api.createDocument(attacker, 'Flood');
  const vDoc = await api.createDocument(victim, 'Calm');
  const flood = await authenticatedSocket(url, aDoc.id, attacker.accessToken);
  const calm = await authenticatedSocket(url, vDoc.id, victim.accessToken);
  t.after(() => {
    flood.ws.close();
    calm.ws.close();
  });
  // The order in which the server applies updates to the two documents.
  const order: string[] = [];
  const hp = quire.sync!.hocuspocus;
  await eventually(() => assert.ok(hp.documents.get(aDoc.id) && hp.documents.get(vDoc.id), 'documents loaded'));
  hp.documents.get(aDoc.id)!.on('update', () => order.push('flood'));
  hp.documents.get(vDoc.id)!.on('update', () => order.push('calm'));

  const FRAMES = 3_000;
  for (const u of typing(FRAMES)) flood.send(updateFrame(aDoc.id, u));
  // Once the server has begun on the flood, the other workspace sends one update.
  await eventually(() => assert.ok(order.length > 0, 'flood begun'));
  calm.send(updateFrame(vDoc.id, bulk(10, 99)));
  await eventually(() => assert.equal(order.length, FRAMES + 1), { timeoutMs: 60_000 });
  const before = order.indexOf('calm');
  assert.ok(before < FRAMES / 10, `the other workspace's update was applied after ${before} of the flood's ${FRAMES} frames`);
  // The flood is served too: every frame applied and acknowledged.
  await eventually(() => assert.equal(acks(flood), FRAMES), { timeoutMs: 60_000 });
});

test('a document’s megabytes commit in a lane of their own: another workspace is acknowledged while they wait', async (t) => {
  const { api, url, quire, schema } = await startServer(t, { env: GENEROUS });
  const attacker = await api.signup();
  const victim = await api.signup();
  const aDoc = await api.createDocument(attacker, 'Flood');
  const vDoc = await api.createDocument(victim, 'Calm');
  const flood = await authenticatedSocket(url, aDoc.id, attacker.accessToken);
  t.after(() => flood.ws.close());
  const calm = connect(t, url, vDoc.id, victim.accessToken);
  await synced(calm);

  // Holding the flood document's row makes its appends (a foreign key to that row) wait in
  // Postgres, deterministically, for as long as the lock is held.
  const locker = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await locker.connect();
  t.after(() => locker.end());
  await locker.query('begin');
  await locker.query(`select 1 from "${schema}".documents where id = $1 for update`, [aDoc.id]);
  const lockerPid = (await locker.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid;
  const waiting = async () => (await locker.query<{ n: number }>('select count(*)::int as n from pg_stat_activity where $1 = any(pg_blocking_pids(pid))', [lockerPid])).rows[0]!.n;

  const FRAMES = 5;
  try {
    for (let i = 0; i < FRAMES; i++) flood.send(updateFrame(aDoc.id, bulk(200_000, 10_000 + i)));
    // The flood's commit is in flight, waiting for the lock.
    await eventually(async () => assert.ok((await waiting()) > 0, 'a commit waits for the lock'));

    paragraphText(calm.doc).insert(0, 'typing during a flood');
    await acked(calm, 10_000);
    assert.equal(acks(flood), 0, 'the flood is still waiting for its commit');
    assert.equal((await api.get(`/api/v1/documents/${vDoc.id}/content`, victim.accessToken)).text, 'typing during a flood');
  } finally {
    // Released before the server shuts down (its shutdown waits for every commit).
    await locker.query('commit');
  }
  // Once the lock is gone, the flood is stored and acknowledged in full.
  await eventually(() => assert.equal(acks(flood), FRAMES), { timeoutMs: 30_000 });
  const stored = await quire.sync!.documents.load(attacker.user.tenantId, aDoc.id);
  assert.equal(stored.updates.length, FRAMES);
});
