/**
 * `quire feed lag` and `quire feed replay`: lag reports unpublished outbox rows, consumer
 * backlogs and changes the search index has not caught up with; a replay (from a time or an
 * outbox row) reaches the consumers again — on NATS past JetStream's de-duplication
 * window — and on the in-process bus moves the relay's cursors back, never forward.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import pg from 'pg';

import { runCli } from '../server/cli/main.js';
import { TEST_DATABASE_URL, TEST_NATS_URL, TEST_SECRETS_KEY } from './helpers/env.js';
import { startServer, type TestServer } from './helpers/server.js';
import type { Session } from './helpers/api.js';
import { eventually } from './helpers/wait.js';

function io() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { out: (l: string) => out.push(l), err: (l: string) => err.push(l) } };
}

function cliEnv(server: TestServer, nats: boolean): Record<string, string> {
  return {
    DATABASE_URL: TEST_DATABASE_URL,
    DATABASE_SCHEMA: server.schema,
    SECRETS_KEY: TEST_SECRETS_KEY,
    DATA_DIR: server.config.dataDir,
    LOG_LEVEL: 'silent',
    ...(nats ? { NATS_URL: TEST_NATS_URL, NATS_STREAM: server.config.feed.stream, NATS_SUBJECT_PREFIX: server.config.feed.subjectPrefix } : {}),
  };
}

async function ownerDb(t: { after: (fn: () => Promise<void>) => void }): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await c.connect();
  t.after(() => c.end());
  return c;
}

const found = async (server: TestServer, s: Session) =>
  ((await server.api.get<{ hits: { documentId: string }[] }>('/api/v1/search?q=aardvark&mode=fulltext', s.accessToken)).body.hits ?? []).map((h) => h.documentId);

test('feed lag and replay on NATS: a replay reaches the consumers again, within the de-duplication window', async (t) => {
  const server = await startServer(t, { nats: true });
  const env = cliEnv(server, true);
  const db = await ownerDb(t);
  const before = new Date(Date.now() - 1000).toISOString();
  const owner = await server.api.signup('Feed');
  const made = await server.api.post<{ id: string }>('/api/v1/documents', { title: 'Aardvark notes', text: 'About the aardvark.' }, owner.accessToken);
  assert.equal(made.status, 201, made.text);
  const docId = made.body.id;
  await eventually(async () => assert.deepEqual(await found(server, owner), [docId], 'the document is found'), { timeoutMs: 90_000, intervalMs: 250 });

  await eventually(
    async () => {
      const l = io();
      assert.equal(await runCli(['feed', 'lag'], l.io, env), 0, `lag succeeds: ${l.err.join('\n')}`);
      const text = l.out.join('\n');
      assert.match(text, /relay changes: 0 rows not yet published/, `the relay is caught up: ${text}`);
      assert.match(text, /relay events: 0 rows not yet published/, `the relay is caught up: ${text}`);
      assert.match(text, /consumer indexer: 0 undelivered, 0 delivered and not yet acknowledged/, `the indexer has nothing left: ${text}`);
      assert.match(text, /consumer notifier: \d+ undelivered/, `the notifier is listed: ${text}`);
      assert.match(text, /search index: up to date/, `the index is up to date: ${text}`);
    },
    { timeoutMs: 60_000, intervalMs: 500, message: 'feed lag reports a feed that kept up' },
  );

  // The index loses the document (and its record of having indexed it).
  await db.query(`delete from "${server.schema}".search_documents`);
  await db.query(`delete from "${server.schema}".index_state`);
  assert.deepEqual(await found(server, owner), [], 'nothing is found once the index is wiped');
  const behind = io();
  assert.equal(await runCli(['feed', 'lag'], behind.io, env), 0, 'lag succeeds');
  assert.match(behind.out.join('\n'), /search index: 1 documents behind; the oldest change not indexed is \d+ s old/, `lag sees the index behind: ${behind.out.join('\n')}`);

  // Replayed from a time before the document: the events were published moments ago (inside
  // JetStream's two-minute de-duplication window), and still reach the indexer again.
  const replayed = io();
  assert.equal(await runCli(['feed', 'replay', `--from=${before}`], replayed.io, env), 0, `replay succeeds: ${replayed.err.join('\n')}`);
  assert.match(replayed.out.join('\n'), /replayed [1-9]\d* events to /, `it says how many events it sent: ${replayed.out.join('\n')}`);
  await eventually(async () => assert.deepEqual(await found(server, owner), [docId], 'the replay indexed the document again'), { timeoutMs: 90_000, intervalMs: 250 });

  // From an outbox row: that row's event and what follows.
  await db.query(`delete from "${server.schema}".search_documents`);
  await db.query(`delete from "${server.schema}".index_state`);
  const seq = (await db.query<{ seq: string }>(`select seq::text as seq from "${server.schema}".document_events where document_id = $1 and type = 'document.created'`, [docId])).rows[0]!.seq;
  const bySeq = io();
  assert.equal(await runCli(['feed', 'replay', `--from=${seq}`], bySeq.io, env), 0, `replay from a row succeeds: ${bySeq.err.join('\n')}`);
  await eventually(async () => assert.deepEqual(await found(server, owner), [docId], 'the replay from the row indexed the document again'), { timeoutMs: 90_000, intervalMs: 250 });

  const bad = io();
  assert.equal(await runCli(['feed', 'replay', '--from=yesterday'], bad.io, env), 2, 'a --from that is neither a time nor a row is a usage error');
  const missingFrom = io();
  assert.equal(await runCli(['feed', 'replay'], missingFrom.io, env), 2, '--from is required');
  const unknownRow = io();
  assert.equal(await runCli(['feed', 'replay', '--from=999999999'], unknownRow.io, env), 1, 'an unknown outbox row fails');
  assert.match(unknownRow.err.join('\n'), /no outbox row 999999999/, 'and says so');
  const future = io();
  assert.equal(await runCli(['feed', 'replay', `--from=${new Date(Date.now() + 3_600_000).toISOString()}`], future.io, env), 0, 'a point after the last row is not an error');
  assert.match(future.out.join('\n'), /nothing to replay/, 'it says there is nothing to replay');
});

test('feed replay on the in-process bus moves the relay cursors back, never forward', async (t) => {
  const server = await startServer(t);
  const env = cliEnv(server, false);
  const db = await ownerDb(t);
  const before = new Date(Date.now() - 1000).toISOString();
  const owner = await server.api.signup('Feed memory');
  const made = await server.api.post<{ id: string }>('/api/v1/documents', { title: 'Aardvark', text: 'Aardvark.' }, owner.accessToken);
  assert.equal(made.status, 201, made.text);
  await eventually(async () => assert.deepEqual(await found(server, owner), [made.body.id], 'the document is found'), { timeoutMs: 90_000, intervalMs: 250 });
  const eventTxid = (await db.query<{ txid: string }>(`select min(txid)::text as txid from "${server.schema}".document_events where created_at >= $1`, [before])).rows[0]!.txid;

  const lag = io();
  assert.equal(await runCli(['feed', 'lag'], lag.io, env), 0, 'lag succeeds');
  assert.match(lag.out.join('\n'), /consumers: in-process bus/, 'lag says where the in-process queues are');

  await server.quire.close();
  const replayed = io();
  assert.equal(await runCli(['feed', 'replay', `--from=${before}`], replayed.io, env), 0, `replay succeeds: ${replayed.err.join('\n')}`);
  assert.match(replayed.out.join('\n'), /cursors \(.*events.*\) moved back/, `the cursors moved back: ${replayed.out.join('\n')}`);
  const cursor = (await db.query<{ txid: string; seq: string }>(`select txid::text as txid, seq::text as seq from "${server.schema}".feed_cursors where name = 'events'`)).rows[0]!;
  assert.deepEqual(cursor, { txid: eventTxid, seq: '0' }, "the events cursor is just before the first event's transaction");

  const again = io();
  assert.equal(await runCli(['feed', 'replay', `--from=${new Date(Date.now() - 500).toISOString()}`], again.io, env), 0, 'a later point succeeds');
  const after = (await db.query<{ txid: string; seq: string }>(`select txid::text as txid, seq::text as seq from "${server.schema}".feed_cursors where name = 'events'`)).rows[0]!;
  assert.deepEqual(after, cursor, 'a replay never moves a cursor forward');
});
