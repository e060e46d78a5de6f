/**
 * Durable before ack: a client sends updates one at a time and waits for each ack; the
 * server (a child process) is SIGKILLed at a random moment; after a restart every acked
 * update is there. Also: SIGTERM flushes.
 *
 * The kill moments come from a seed, printed with the result and in a failure:
 * `CRASH_SEED=<seed> node --import tsx --test test/sync-durability.test.ts` replays the same
 * moments (the server's state at each moment still depends on the machine's timing).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { TEST_DATABASE_URL } from './helpers/env.js';
import { freePort, ready, spawnQuire } from './helpers/process.js';
import { connect, paragraphText, synced } from './helpers/provider.js';
import { dropSchema, uniqueName } from './helpers/server.js';
import { createRng } from '../ml-workers/classifier/train.js';

const SEED = Number(process.env.CRASH_SEED ?? Math.floor(Math.random() * 2 ** 31));

async function setup(t: TestContext) {
  const schema = uniqueName('crash');
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'quire-crash-'));
  t.after(async () => {
    await dropSchema('postgres', schema);
    await fs.rm(dataDir, { recursive: true, force: true });
  });
  const env = { DATABASE_URL: TEST_DATABASE_URL, DATABASE_SCHEMA: schema, DATA_DIR: dataDir, LOG_LEVEL: 'warn' };
  return { env, port: await freePort() };
}

test('SIGKILL at a random moment loses no acknowledged update', async (t) => {
  const { env, port } = await setup(t);
  let server = spawnQuire(env, port);
  t.after(() => server.kill());
  await ready(server);
  const s = await server.api.signup();
  const doc = await server.api.createDocument(s, 'crash');
  const acked: number[] = [];
  const random = createRng(SEED);
  t.diagnostic(`CRASH_SEED=${SEED}`);
  for (let round = 0; round < 3; round++) {
    const c = connect(null, server.url, doc.id, s.accessToken, { reconnect: false });
    await synced(c);
    const killAfterMs = 150 + Math.floor(random() * 600);
    const killAt = Date.now() + killAfterMs;
    let i = acked.length ? Math.max(...acked) + 1 : 0;
    const text = paragraphText(c.doc);
    let killed = false;
    for (;;) {
      if (!killed && Date.now() >= killAt) {
        killed = true;
        void server.kill();
      }
      text.insert(text.length, `[${i}]`);
      const ok = await new Promise<boolean>((resolve) => {
        const check = () => {
          if (!c.provider.hasUnsyncedChanges) return resolve(true);
          if (c.closes.length > 0 || c.socket.status === 'disconnected') return resolve(false);
          setTimeout(check, 1);
        };
        check();
      });
      if (!ok) break;
      acked.push(i++);
    }
    c.destroy();
    server = spawnQuire(env, port);
    await ready(server);
    const stored = (await server.api.get(`/api/v1/documents/${doc.id}/content`, s.accessToken)).text as string;
    const missing = acked.filter((n) => !stored.includes(`[${n}]`));
    assert.deepEqual(missing, [], `round ${round} (CRASH_SEED=${SEED}, kill after ${killAfterMs} ms): acked updates missing after SIGKILL`);
  }
  assert.ok(acked.length > 20, `enough updates were acknowledged to mean something (${acked.length})`);
  t.diagnostic(`${acked.length} acknowledged updates survived 3 SIGKILLs`);
});

test('SIGTERM flushes queued appends before exit', async (t) => {
  const { env, port } = await setup(t);
  const server = spawnQuire(env, port);
  t.after(() => server.kill());
  await ready(server);
  const s = await server.api.signup();
  const doc = await server.api.createDocument(s, 'term');
  const c = connect(null, server.url, doc.id, s.accessToken, { reconnect: false });
  await synced(c);
  const text = paragraphText(c.doc);
  const N = 200;
  for (let i = 0; i < N; i++) text.insert(text.length, `<${i}>`);
  // Stop while updates are still in flight, once some have been acknowledged.
  await new Promise<void>((resolve) => {
    const check = () => (c.provider.unsyncedChanges < N ? resolve() : setTimeout(check, 1));
    check();
  });
  const stopping = server.stop();
  const ackedCount = N - c.provider.unsyncedChanges;
  const code = await stopping;
  assert.equal(code, 0, server.output());
  c.destroy();
  const again = spawnQuire(env, port);
  t.after(() => again.kill());
  await ready(again);
  const stored = (await again.api.get(`/api/v1/documents/${doc.id}/content`, s.accessToken)).text as string;
  const missing = Array.from({ length: ackedCount }, (_, i) => i).filter((i) => !stored.includes(`<${i}>`));
  assert.deepEqual(missing, []);
});
