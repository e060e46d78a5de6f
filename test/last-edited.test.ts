/**
 * Last edited: `updatedAt` (and the list's `recent` order) follows content edits — over the
 * sync socket and through `PUT …/content` — within the documented bound, with one write to
 * the document row per run however many updates a burst had (counted by a trigger on
 * `documents`), the edit's own time (not the time a worker got to it), never backwards
 * (outbox rows read again, renames), on both profiles, with several instances and with the
 * worker down, killed and restarted.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { sql, type Kysely } from 'kysely';
import { DocumentStore } from '../core/document-store.js';
import { LastEdited } from '../ml-workers/last-edited.js';
import { TEST_DATABASE_URL, TEST_NATS_URL } from './helpers/env.js';
import { freePort, ready, spawnQuire } from './helpers/process.js';
import { acked, connect, paragraphText, synced } from './helpers/provider.js';
import { DIALECTS, startServer, type TestServer } from './helpers/server.js';
import type { ApiClient, Session } from './helpers/api.js';
import { eventually } from './helpers/wait.js';

/** The documented bound: one interval (LAST_EDITED_INTERVAL_MS, 2 s) plus the run; the rest is margin for a loaded machine. */
const INTERVAL_MS = 2_000;
const BOUND_MS = INTERVAL_MS + 2_000;

const updatedAt = async (api: ApiClient, s: Session, id: string): Promise<string> => {
  const r = await api.get(`/api/v1/documents/${id}`, s.accessToken);
  assert.equal(r.status, 200, r.text);
  return r.body.updatedAt as string;
};

const recent = async (api: ApiClient, s: Session): Promise<string[]> => ((await api.get('/api/v1/documents?sort=recent&limit=200', s.accessToken)).body.documents as { id: string }[]).map((d) => d.id);

/** Waits until the document's `updatedAt` is at or past `since` (ms); answers it and how long that took from `from`. */
async function advanced(api: ApiClient, s: Session, id: string, since: number, from: number): Promise<{ at: number; lagMs: number }> {
  return eventually(
    async () => {
      const at = Date.parse(await updatedAt(api, s, id));
      // Stored to the microsecond, shown to the millisecond (truncated).
      assert.ok(at >= since - 1, `updatedAt ${new Date(at).toISOString()} not yet at the edit (${new Date(since).toISOString()})`);
      return { at, lagMs: Date.now() - from };
    },
    { timeoutMs: BOUND_MS, intervalMs: 20, message: `updatedAt within ${BOUND_MS} ms` },
  );
}

/** Counts every write to a `documents` row of the schema (a trigger the test installs). */
async function countWrites(owner: Kysely<unknown>, schema: string): Promise<(documentId?: string) => Promise<number>> {
  const s = sql.id(schema);
  await sql`create table ${s}.test_document_writes (document_id uuid not null, at timestamptz not null default clock_timestamp())`.execute(owner);
  await sql`
    create function ${s}.test_count_document_write() returns trigger language plpgsql security definer
      set search_path = ${s}, pg_temp
      as $$ begin insert into test_document_writes (document_id) values (new.id); return null; end $$`.execute(owner);
  await sql`create trigger test_document_writes after update on ${s}.documents for each row execute function ${s}.test_count_document_write()`.execute(owner);
  return async (documentId) => {
    const r = await sql<{ n: string }>`select count(*)::text as n from ${s}.test_document_writes where ${documentId ? sql`document_id = ${documentId}` : sql`true`}`.execute(owner);
    return Number(r.rows[0]!.n);
  };
}

/** Types `n` characters, one update each, each acknowledged before the next (a burst of typing). */
async function typeBurst(c: ReturnType<typeof connect>, n: number): Promise<{ firstStart: number; lastStart: number; ackedAt: number }> {
  const text = paragraphText(c.doc);
  const firstStart = Date.now();
  let lastStart = firstStart;
  for (let i = 0; i < n; i++) {
    lastStart = Date.now();
    text.insert(text.length, 'x');
    await acked(c);
  }
  return { firstStart, lastStart, ackedAt: Date.now() };
}

async function counter(server: TestServer, name: string): Promise<number> {
  const m = server.quire.metrics.registry.getSingleMetric(name);
  return m ? ((await m.get()).values[0]?.value ?? 0) : 0;
}

/** Re-reads the outbox from the start (as after a lost commit) with a run of its own; answers what it read and wrote. */
async function replayFromStart(server: TestServer): Promise<{ read: number; written: number }> {
  const replay = new LastEdited({ db: server.quire.store.db, log: server.quire.log });
  return eventually(async () => {
    await sql`update feed_cursors set txid = '0'::xid8, seq = 0 where name like 'last-edited:%'`.execute(server.quire.store.owner);
    const run = await replay.runOnce();
    assert.ok(run && run.read > 0, 'the replay ran and read the outbox again');
    return run;
  });
}

for (const dialect of DIALECTS) {
  test(`edits over the socket and PUT content move updatedAt and the recent order, a write per run (not per update), never backwards (${dialect})`, async (t) => {
    const server = await startServer(t, { dialect, nats: dialect === 'postgres' });
    const { api, url, quire } = server;
    const writes = await countWrites(quire.store.owner, server.schema);
    const s = await api.signup();
    const a = await api.createDocument(s, 'A');
    const b = await api.createDocument(s, 'B');
    const c = await api.createDocument(s, 'C');
    assert.deepEqual(await recent(api, s), [c.id, b.id, a.id], 'not edited yet: the order of creation');
    const created = { a: await updatedAt(api, s, a.id), b: await updatedAt(api, s, b.id) };

    // A burst of typing over the socket: N updates, each committed and acknowledged.
    const N = 25;
    const appendsBefore = await counter(server, 'quire_sync_updates_total');
    const client = connect(t, url, a.id, s.accessToken);
    await synced(client);
    const runsBefore = await counter(server, 'quire_last_edited_runs_total');
    const burst = await typeBurst(client, N);
    const seen = await advanced(api, s, a.id, burst.lastStart, burst.ackedAt);
    assert.ok(seen.at <= burst.ackedAt, 'the time of the last edit, not of the run that wrote it');
    t.diagnostic(`socket: ${N} updates over ${burst.ackedAt - burst.firstStart} ms, updatedAt followed ${seen.lagMs} ms after the last ack`);
    assert.ok((await counter(server, 'quire_sync_updates_total')) - appendsBefore >= N, 'every keystroke was its own append');
    assert.deepEqual(await recent(api, s), [a.id, c.id, b.id], 'the last edited document first');

    // The document row was written at most once per run that saw part of the burst, not per
    // update: once or twice for a burst shorter than the interval.
    const burstWrites = await writes(a.id);
    const runs = (await counter(server, 'quire_last_edited_runs_total')) - runsBefore;
    t.diagnostic(`socket burst: ${burstWrites} write(s) to the document row for ${N} updates, ${runs} run(s) meanwhile`);
    assert.ok(burstWrites >= 1 && burstWrites <= runs, `${burstWrites} writes in ${runs} runs`);
    if (burst.ackedAt - burst.firstStart < INTERVAL_MS) assert.ok(burstWrites <= 2, `${burstWrites} writes for a burst of ${N}`);

    // PUT content (a server-side write; its document unloads and may be compacted at once).
    const putStart = Date.now();
    assert.equal((await api.put(`/api/v1/documents/${b.id}/content`, { text: 'written over REST', mode: 'append' }, s.accessToken)).status, 204);
    const putDone = Date.now();
    const putSeen = await advanced(api, s, b.id, putStart, putDone);
    assert.ok(putSeen.at <= putDone, 'putSeen.at <= putDone');
    assert.notEqual(await updatedAt(api, s, b.id), created.b);
    t.diagnostic(`PUT content: updatedAt followed ${putSeen.lagMs} ms after the answer`);
    assert.deepEqual(await recent(api, s), [b.id, a.id, c.id]);
    assert.equal(await writes(b.id), 1, 'one write for one PUT');
    assert.equal(await writes(c.id), 0, 'an untouched document is not written');
    assert.equal(await counter(server, 'quire_last_edited_writes_total'), await writes(), 'the metric counts the writes');

    // Not edits: a permission change, and a document.changed without an edit's time (relabelling).
    const member = await api.addUser(s, 'member');
    assert.equal((await api.put(`/api/v1/documents/${c.id}/permissions`, { userId: member.user.id, level: 'read' }, s.accessToken)).status, 200);
    const relabel = await sql<{ txid: string }>`
      insert into document_events (tenant_id, document_id, type) values (${s.user.tenantId}, ${c.id}, 'document.changed') returning txid::text as txid`.execute(quire.store.owner);
    await eventually(async () => {
      const r = await sql<{ past: boolean }>`select txid > ${relabel.rows[0]!.txid}::xid8 as past from feed_cursors where name = 'last-edited:events'`.execute(quire.store.owner);
      assert.ok(r.rows[0]?.past, 'a run read past the event');
    });
    assert.equal(await writes(c.id), 0, 'sharing and relabelling are not edits');

    // Renamed after the edits: the rename's time stands.
    assert.equal((await api.patch(`/api/v1/documents/${a.id}`, { title: 'A, renamed' }, s.accessToken)).status, 200);
    const renamed = await updatedAt(api, s, a.id);
    assert.ok(Date.parse(renamed) >= seen.at, 'Date.parse(renamed) >= seen.at');

    // The outbox read again from its start (every log row and compaction event) moves nothing back.
    const before = { a: renamed, b: await updatedAt(api, s, b.id), c: await updatedAt(api, s, c.id) };
    const writesBefore = await writes();
    const replay = await replayFromStart(server);
    assert.equal(replay.written, 0, 'nothing written on a replay');
    assert.deepEqual({ a: await updatedAt(api, s, a.id), b: await updatedAt(api, s, b.id), c: await updatedAt(api, s, c.id) }, before);
    assert.equal(await writes(), writesBefore);
    assert.notEqual(before.a, created.a);
  });
}

test('paging the recent order while documents are edited: an edited document moves to the front, nothing repeats, the walk ends', async (t) => {
  const server = await startServer(t);
  const { api } = server;
  const s = await api.signup();
  const docs: string[] = [];
  for (let i = 0; i < 6; i++) docs.push((await api.createDocument(s, `doc ${i}`)).id);
  // Newest first: 5 4 | 3 2 | 1 0
  const page = async (cursor: string | null) => {
    const r = await api.get(`/api/v1/documents?sort=recent&limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, s.accessToken);
    assert.equal(r.status, 200, r.text);
    return { ids: (r.body.documents as { id: string }[]).map((d) => d.id), next: r.body.nextCursor as string | null };
  };
  const edit = async (id: string) => {
    const start = Date.now();
    assert.equal((await api.put(`/api/v1/documents/${id}/content`, { text: 'edited', mode: 'append' }, s.accessToken)).status, 204);
    await advanced(api, s, id, start, Date.now());
  };
  const first = await page(null);
  assert.deepEqual(first.ids, [docs[5], docs[4]]);
  // Between pages: one not reached yet and one already shown are edited.
  await edit(docs[1]!);
  await edit(docs[4]!);
  const seen = [...first.ids];
  let cursor = first.next;
  let pages = 1;
  while (cursor) {
    const p = await page(cursor);
    seen.push(...p.ids);
    cursor = p.next;
    assert.ok(++pages < 10, 'the walk ends');
  }
  assert.equal(new Set(seen).size, seen.length, 'nothing is listed twice');
  assert.deepEqual(seen, [docs[5], docs[4], docs[3], docs[2], docs[0]], 'the document edited ahead of the cursor moved behind it: not on the later pages');
  assert.deepEqual((await page(null)).ids, [docs[4], docs[1]], 'a fresh first page has both edits, the last first');
});

test('several instances with the worker role: one at a time advances a burst, once per run, edits on either instance follow', async (t) => {
  const one = await startServer(t, { nats: true });
  const two = await startServer(t, { nats: true, schema: one.schema });
  const writes = await countWrites(one.quire.store.owner, one.schema);
  const s = await one.api.signup();
  const a = await one.api.createDocument(s, 'On one');
  const b = await one.api.createDocument(s, 'On two');
  const ca = connect(t, one.url, a.id, s.accessToken);
  const cb = connect(t, two.url, b.id, s.accessToken);
  await Promise.all([synced(ca), synced(cb)]);
  const runs = async () => (await counter(one, 'quire_last_edited_runs_total')) + (await counter(two, 'quire_last_edited_runs_total'));
  const runsBefore = await runs();
  const [ba, bb] = await Promise.all([typeBurst(ca, 20), typeBurst(cb, 20)]);
  await advanced(one.api, s, a.id, ba.lastStart, ba.ackedAt);
  await advanced(two.api, s, b.id, bb.lastStart, bb.ackedAt);
  assert.deepEqual((await recent(one.api, s)).slice(0, 2).sort(), [a.id, b.id].sort());
  const wa = await writes(a.id);
  const wb = await writes(b.id);
  const runsDuring = (await runs()) - runsBefore;
  t.diagnostic(`two instances: ${wa} and ${wb} write(s) for bursts of 20 over ${Math.max(ba.ackedAt - ba.firstStart, bb.ackedAt - bb.firstStart)} ms, ${runsDuring} run(s) meanwhile`);
  assert.ok(wa >= 1 && wb >= 1 && wa <= runsDuring && wb <= runsDuring, `${wa}, ${wb} writes in ${runsDuring} runs`);
  const metric = (await counter(one, 'quire_last_edited_writes_total')) + (await counter(two, 'quire_last_edited_writes_total'));
  assert.equal(metric, wa + wb, 'each write made once, by one of the instances');
});

async function workerEnv(t: TestContext, web: TestServer): Promise<Record<string, string>> {
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'quire-last-edited-'));
  t.after(() => fs.rm(dataDir, { recursive: true, force: true }));
  return {
    DATABASE_URL: TEST_DATABASE_URL,
    DATABASE_SCHEMA: web.schema,
    DATA_DIR: dataDir,
    NATS_URL: TEST_NATS_URL,
    NATS_STREAM: web.config.feed.stream,
    NATS_SUBJECT_PREFIX: web.config.feed.subjectPrefix,
    SEMANTIC_SEARCH: 'false',
    LOG_LEVEL: 'warn',
  };
}

test('with the worker down, edits (even compacted) advance updatedAt to their own time when a worker starts; killed and restarted, none is lost', async (t) => {
  // The API and sync roles in-process, no worker; workers are child processes.
  const web = await startServer(t, { nats: true, roles: ['api', 'sync'] });
  const { api, quire } = web;
  const s = await api.signup();
  const doc = await api.createDocument(s, 'Edited while no worker runs');
  const created = await updatedAt(api, s, doc.id);

  const before = Date.now();
  assert.equal((await api.put(`/api/v1/documents/${doc.id}/content`, { text: 'first edit', mode: 'append' }, s.accessToken)).status, 204);
  const after = Date.now();
  // Its log row folded into the snapshot before anything read it: the compaction's event carries its time.
  await new DocumentStore(quire.store.db).compactAll(s.user.tenantId, doc.id);
  await eventually(async () => {
    const r = await sql<{ n: string }>`select count(*)::text as n from document_updates where document_id = ${doc.id}`.execute(quire.store.owner);
    assert.equal(r.rows[0]!.n, '0');
  });
  assert.equal(await updatedAt(api, s, doc.id), created, 'nothing advances it without a worker');

  const env = await workerEnv(t, web);
  const w1 = spawnQuire(env, await freePort(), ['--roles=worker']);
  t.after(() => w1.kill());
  const w1Started = Date.now();
  await ready(w1);
  const first = await eventually(
    async () => {
      const at = Date.parse(await updatedAt(api, s, doc.id));
      assert.ok(at >= before - 1, 'advanced');
      return at;
    },
    { timeoutMs: 30_000 },
  );
  assert.ok(first <= after && first < w1Started, 'the edit’s own time, not the time the worker read it');

  // Killed; an edit over the socket meanwhile; a new worker picks it up.
  await w1.kill();
  const c = connect(t, web.url, doc.id, s.accessToken);
  await synced(c);
  const burst = await typeBurst(c, 5);
  const w2 = spawnQuire(env, await freePort(), ['--roles=worker']);
  t.after(() => w2.kill());
  await ready(w2);
  await eventually(
    async () => {
      const at = Date.parse(await updatedAt(api, s, doc.id));
      assert.ok(at >= burst.lastStart - 1 && at <= burst.ackedAt, `updatedAt ${new Date(at).toISOString()}`);
    },
    { timeoutMs: 30_000 },
  );
  await w2.kill();
});

test('embedded: stopped right after an edit, the advance arrives after the restart', async (t) => {
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'quire-last-edited-embedded-'));
  t.after(() => fs.rm(dataDir, { recursive: true, force: true }));
  const port = await freePort();
  const first = spawnQuire({ DATA_DIR: dataDir, SEMANTIC_SEARCH: 'false', WEB_APP: 'false', LOG_LEVEL: 'warn' }, port);
  t.after(() => first.kill());
  await ready(first);
  const s = await first.api.signup();
  const doc = await first.api.createDocument(s, 'Embedded');
  const c = connect(null, first.url, doc.id, s.accessToken, { reconnect: false });
  await synced(c);
  const burst = await typeBurst(c, 5);
  c.destroy();
  assert.equal(await first.stop(), 0, first.output());

  const second = spawnQuire({ DATA_DIR: dataDir, SEMANTIC_SEARCH: 'false', WEB_APP: 'false', LOG_LEVEL: 'warn' }, port);
  t.after(() => second.kill());
  await ready(second);
  await eventually(
    async () => {
      const at = Date.parse(await updatedAt(second.api, s, doc.id));
      assert.ok(at >= burst.lastStart - 1 && at <= burst.ackedAt, `updatedAt ${new Date(at).toISOString()}`);
    },
    { timeoutMs: 15_000 },
  );
  assert.equal(await second.stop(), 0);
});
