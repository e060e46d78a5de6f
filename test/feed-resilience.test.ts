/**
 * The change feed loses nothing: NATS stopped while documents are edited and restarted,
 * a poison event dead-lettered while others flow, a worker killed mid-stream. Uses a
 * private nats-server so stopping it affects no other test.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { connect as natsConnect } from '@nats-io/transport-node';
import { sql } from 'kysely';
import { TEST_DATABASE_URL, TEST_QDRANT_URL } from './helpers/env.js';
import { freePort, ready, spawnQuire } from './helpers/process.js';
import { startServer } from './helpers/server.js';
import { eventually } from './helpers/wait.js';

async function privateNats(t: TestContext): Promise<{ url: string; start: () => Promise<void>; stop: () => Promise<void> }> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'quire-nats-'));
  const port = await freePort();
  let proc: ChildProcess | null = null;
  const url = `nats://127.0.0.1:${port}`;
  const start = async () => {
    proc = spawn('/usr/sbin/nats-server', ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', dir], { stdio: 'ignore' });
    await eventually(async () => {
      const nc = await natsConnect({ servers: url, reconnect: false });
      await nc.close();
    });
  };
  const stop = async () => {
    const p = proc;
    if (!p || p.exitCode !== null) return;
    const exited = new Promise((r) => p.once('exit', r));
    p.kill('SIGKILL');
    await exited;
  };
  t.after(async () => {
    await stop();
    await fs.rm(dir, { recursive: true, force: true });
  });
  await start();
  return { url, start, stop };
}

const searchCount = async (api: any, token: string, q: string) => {
  const r = await api.get(`/api/v1/search?q=${q}&limit=50`, token);
  if (r.status !== 200) throw new Error(`search ${r.status}: ${r.text}`);
  return r.body.hits.length as number;
};

test('NATS down while documents are written: after it returns, everything is indexed once; a poison event is dead-lettered', async (t) => {
  const nats = await privateNats(t);
  const { api, quire } = await startServer(t, { env: { NATS_URL: nats.url, NATS_STREAM: 'QT_RESILIENCE', NATS_SUBJECT_PREFIX: 'resilience' } });
  const s = await api.signup();
  for (let i = 0; i < 3; i++) await api.post('/api/v1/documents', { title: `before ${i}`, text: `walrus number ${i}` }, s.accessToken);
  await eventually(async () => assert.equal(await searchCount(api, s.accessToken, 'walrus'), 3), { timeoutMs: 30_000 });

  await nats.stop();
  for (let i = 3; i < 8; i++) await api.post('/api/v1/documents', { title: `during ${i}`, text: `walrus number ${i}` }, s.accessToken);
  assert.equal(await searchCount(api, s.accessToken, 'walrus'), 3, 'nothing new is indexed while the bus is down');

  await nats.start();
  await eventually(async () => assert.equal(await searchCount(api, s.accessToken, 'walrus'), 8), { timeoutMs: 60_000 });
  const rows = await sql<{ n: string }>`select count(*) as n from search_documents`.execute(quire.store.owner);
  assert.equal(Number(rows.rows[0]!.n), 8, 'each document indexed once');

  // A poison event (undecodable) is dead-lettered; later events still flow.
  const nc = await natsConnect({ servers: nats.url });
  const { jetstream } = await import('@nats-io/jetstream');
  await jetstream(nc).publish(`resilience.${s.user.tenantId}.document.changed`, new TextEncoder().encode('{not json'), { msgID: 'poison-1' });
  await nc.close();
  await api.post('/api/v1/documents', { title: 'after poison', text: 'walrus number 8' }, s.accessToken);
  await eventually(async () => assert.equal(await searchCount(api, s.accessToken, 'walrus'), 9), { timeoutMs: 30_000 });
  const dead = await quire.bus!.deadLetters('indexer');
  assert.equal(dead.length, 1);
  assert.match(dead[0]!.reason, /undecodable/);
});

test('a worker killed mid-stream: its replacement indexes every document, with no duplicate vectors', async (t) => {
  const nats = await privateNats(t);
  const schema = `kill_${Date.now().toString(36)}`;
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'quire-kill-'));
  // The API instance runs in-process (no worker role); workers run as child processes.
  const collection = `qc_${schema}`;
  t.after(() => fetch(`${TEST_QDRANT_URL}/collections/${collection}`, { method: 'DELETE' }).then(() => undefined));
  const semantic = { SEMANTIC_SEARCH: 'true', QDRANT_URL: TEST_QDRANT_URL, QDRANT_COLLECTION: collection };
  const web = await startServer(t, { env: { NATS_URL: nats.url, NATS_STREAM: 'QT_KILL', NATS_SUBJECT_PREFIX: 'kill', DATA_DIR: dataDir, ...semantic }, roles: ['api', 'sync'], schemaName: schema });
  const s = await web.api.signup();
  const env = {
    DATABASE_URL: TEST_DATABASE_URL,
    DATABASE_SCHEMA: web.schema,
    DATA_DIR: dataDir,
    NATS_URL: nats.url,
    NATS_STREAM: 'QT_KILL',
    NATS_SUBJECT_PREFIX: 'kill',
    LOG_LEVEL: 'warn',
    ...semantic,
  };
  const w1 = spawnQuire(env, await freePort(), ['--roles=worker']);
  t.after(() => w1.kill());
  await ready(w1);
  const N = 30;
  const writes = Array.from({ length: N }, (_, i) => web.api.post('/api/v1/documents', { title: `doc ${i}`, text: `narwhal ${i}` }, s.accessToken));
  await eventually(async () => assert.ok((await searchCount(web.api, s.accessToken, 'narwhal')) > 0, "(await searchCount(web.api, s.accessToken, 'narwhal')) > 0"), { timeoutMs: 30_000 });
  await w1.kill();
  await Promise.all(writes);
  const w2 = spawnQuire(env, await freePort(), ['--roles=worker']);
  t.after(() => w2.kill());
  await ready(w2);
  await eventually(async () => assert.equal(await searchCount(web.api, s.accessToken, 'narwhal'), N), { timeoutMs: 90_000 });
  // Every document has exactly its one chunk vector: redelivered events overwrote, never duplicated.
  await eventually(
    async () => {
      const r = await fetch(`${TEST_QDRANT_URL}/collections/${collection}/points/count`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ exact: true }),
      });
      assert.equal((await r.json()).result.count, N);
    },
    { timeoutMs: 60_000 },
  );
  // Stop the worker before teardown drops the schema it writes to.
  await w2.kill();
});
