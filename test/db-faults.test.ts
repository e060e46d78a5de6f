/**
 * Losing Postgres: connections terminated by the server (`pg_terminate_backend`, what a
 * failover or a pooler restart does) and TCP resets must not end the process; acks are
 * refused for what did not commit, nothing acked is lost, and the server reconnects on its
 * own. A stalled Postgres answers REST with 503 within the query timeout and takes the
 * instance out of readiness until it answers again.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import pg from 'pg';
import { TEST_DATABASE_URL } from './helpers/env.js';
import { freePort, ready, spawnQuire } from './helpers/process.js';
import { acked, connect, paragraphText, synced } from './helpers/provider.js';
import { dropSchema, startServer, uniqueName, UNLIMITED_RATE_LIMITS } from './helpers/server.js';
import { startTcpProxy, targetOf } from './helpers/tcp-proxy.js';
import { eventually } from './helpers/wait.js';

/** A request that gives up after `ms` (so a hang fails the test instead of stalling it). */
async function timedGet(url: string, token: string | undefined, ms: number): Promise<{ status: number; body: any; elapsedMs: number }> {
  const t0 = performance.now();
  const res = await fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {}, signal: AbortSignal.timeout(ms) });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null, elapsedMs: performance.now() - t0 };
}

test('terminated backends and TCP resets: the process stays up, acks wait for commits, it reconnects on its own', async (t) => {
  const schema = uniqueName('dbf');
  const appName = `quire_${schema}`;
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'quire-dbf-'));
  t.after(async () => {
    await dropSchema('postgres', schema);
    await fs.rm(dataDir, { recursive: true, force: true });
  });
  const proxy = await startTcpProxy(t, targetOf(TEST_DATABASE_URL));
  const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await admin.connect();
  t.after(() => admin.end());
  const env = {
    ...UNLIMITED_RATE_LIMITS,
    DATABASE_URL: proxy.url(TEST_DATABASE_URL),
    DATABASE_SCHEMA: schema,
    DATABASE_APPLICATION_NAME: appName,
    // Short bounds, so a stall outlasts the group commit's retries within the test.
    DATABASE_CONNECT_TIMEOUT_MS: '1000',
    DATABASE_QUERY_TIMEOUT_MS: '1000',
    DATA_DIR: dataDir,
    LOG_LEVEL: 'error',
    WEB_APP: 'false',
    SEMANTIC_SEARCH: 'false',
  };
  const port = await freePort();
  let server = spawnQuire(env, port);
  t.after(() => server.kill());
  await ready(server);
  const s = await server.api.signup();
  const doc = await server.api.createDocument(s, 'faults');

  const c = connect(t, server.url, doc.id, s.accessToken);
  await synced(c);
  const text = paragraphText(c.doc);
  const ackedItems: number[] = [];
  let written = 0;
  let stop = false;
  const exited = () => server.child.exitCode !== null || server.child.signalCode !== null;
  const writer = (async () => {
    while (!stop && !exited()) {
      const i = written++;
      const closesBefore = c.closes.length;
      text.insert(text.length, `[${i}]`);
      const ok = await new Promise<boolean>((resolve) => {
        const check = () => {
          if (!c.provider.hasUnsyncedChanges) return resolve(true);
          if (c.closes.length > closesBefore) return resolve(false);
          setTimeout(check, 2);
        };
        check();
      });
      if (ok) ackedItems.push(i);
      else await synced(c, 30_000).catch(() => undefined); // refused: the provider reconnects and resends
    }
  })();
  const statuses = new Map<string, number>();
  const reader = (async () => {
    while (!stop && !exited()) {
      const r = await timedGet(`${server.url}/api/v1/documents`, s.accessToken, 30_000).catch((e: Error) => ({ status: 0, body: { error: { code: e.message } } }));
      const key = r.status === 200 ? '200' : `${r.status} ${r.body?.error?.code}`;
      statuses.set(key, (statuses.get(key) ?? 0) + 1);
    }
  })();

  const progress = async (what: string) => {
    const before = ackedItems.length;
    await eventually(() => exited() || assert.ok(ackedItems.length >= before + 10, `${ackedItems.length - before} acks`), { timeoutMs: 30_000, message: `acks resume after ${what}` });
    assert.ok(!exited(), `the process exited after ${what}:\n${server.output().slice(-2000)}`);
  };
  await progress('start');
  let terminated = 0;
  for (let round = 0; round < 6; round++) {
    if (round % 2 === 0) {
      const r = await admin.query<{ n: string }>('select count(pg_terminate_backend(pid))::text as n from pg_stat_activity where application_name = $1 and pid <> pg_backend_pid()', [appName]);
      assert.ok(Number(r.rows[0]!.n) > 0, 'the server has connections named by DATABASE_APPLICATION_NAME');
      terminated += Number(r.rows[0]!.n);
    } else {
      assert.ok(proxy.open > 0, 'proxy.open > 0');
      proxy.reset();
    }
    await progress(round % 2 === 0 ? 'pg_terminate_backend' : 'a TCP reset');
  }
  // A stall longer than the commit's retries: the ack is refused (1011), the provider
  // reconnects and resends once the database answers again.
  const refusedBefore = c.closes.filter((e) => e.code === 1011).length;
  proxy.pause();
  await eventually(() => assert.ok(c.closes.filter((e) => e.code === 1011).length > refusedBefore || exited(), 'c.closes.filter((e) => e.code === 1011).length > refusedBefore || exited()'), {
    timeoutMs: 30_000,
    message: 'a commit that cannot happen is refused with 1011',
  });
  assert.ok(c.provider.hasUnsyncedChanges, 'the refused update is still pending on the client');
  proxy.resume();
  assert.ok(!exited(), `the process exited during a stall:\n${server.output().slice(-2000)}`);
  await progress('a stall');
  stop = true;
  await Promise.all([writer, reader]);
  assert.equal(server.child.exitCode, null, `the process exited:\n${server.output()}`);
  await acked(c, 30_000);
  const persistFailed = c.closes.filter((e) => e.code === 1011).length;

  // REST answered either 200 or 503 database_unavailable, and answers 200 again.
  for (const key of statuses.keys()) assert.ok(key === '200' || key === '503 database_unavailable', `unexpected REST answer ${key}`);
  // A pooled connection the stall broke may fail one more request before the pool drops it.
  await eventually(async () => assert.equal((await timedGet(`${server.url}/api/v1/documents`, s.accessToken, 10_000)).status, 200), { timeoutMs: 15_000 });
  await eventually(async () => assert.equal((await timedGet(`${server.url}/ready`, undefined, 10_000)).status, 200), { timeoutMs: 15_000 });
  c.destroy();

  // Everything acknowledged is in the database: read it back from a fresh process.
  assert.equal(await server.stop(), 0, server.output());
  server = spawnQuire({ ...env, DATABASE_URL: TEST_DATABASE_URL }, port);
  await ready(server);
  const stored = (await server.api.get(`/api/v1/documents/${doc.id}/content`, s.accessToken)).text as string;
  const missing = ackedItems.filter((n) => !stored.includes(`[${n}]`));
  assert.deepEqual(missing, [], 'acknowledged updates missing');
  // The provider resent what was refused: every update written is there.
  const lost = Array.from({ length: written }, (_, i) => i).filter((n) => !stored.includes(`[${n}]`));
  assert.deepEqual(lost, [], 'updates never stored');
  t.diagnostic(`${ackedItems.length} acks, ${terminated} backends terminated, 3 resets and a stall, ${persistFailed} sockets closed with 1011, REST: ${JSON.stringify(Object.fromEntries(statuses))}`);
});

test('a stalled Postgres: REST answers 503 within the timeout, /ready goes 503 and back, /health stays 200', async (t) => {
  const uncaught: unknown[] = [];
  const onUncaught = (e: unknown) => uncaught.push(e);
  process.on('uncaughtException', onUncaught);
  t.after(() => process.off('uncaughtException', onUncaught));
  const proxy = await startTcpProxy(t, targetOf(TEST_DATABASE_URL));
  const { url, api } = await startServer(t, {
    env: {
      DATABASE_URL: proxy.url(TEST_DATABASE_URL),
      DATABASE_CONNECT_TIMEOUT_MS: '1000',
      DATABASE_STATEMENT_TIMEOUT_MS: '1500',
      DATABASE_QUERY_TIMEOUT_MS: '2000',
      READY_PROBE_INTERVAL_MS: '200',
      READY_PROBE_TIMEOUT_MS: '500',
    },
  });
  const s = await api.signup();
  const doc = await api.createDocument(s, 'stall');
  assert.equal((await timedGet(`${url}/api/v1/documents/${doc.id}`, s.accessToken, 10_000)).status, 200);
  // Ready before the fault (on a loaded machine a probe may miss its 500 ms once: asked again).
  await eventually(
    async () => {
      const before = await timedGet(`${url}/ready`, undefined, 10_000);
      assert.equal(before.status, 200, JSON.stringify(before.body));
      assert.equal(before.body.dependencies.postgres.status, 'up');
    },
    { timeoutMs: 15_000, message: 'ready before the fault' },
  );

  proxy.pause();
  const read = await timedGet(`${url}/api/v1/documents/${doc.id}`, s.accessToken, 15_000);
  assert.equal(read.status, 503, JSON.stringify(read.body));
  assert.equal(read.body.error.code, 'database_unavailable');
  assert.ok(read.elapsedMs < 10_000, `answered in ${read.elapsedMs} ms`);
  const list = await timedGet(`${url}/api/v1/documents`, s.accessToken, 15_000);
  assert.equal(list.status, 503);
  await eventually(
    async () => {
      const r = await timedGet(`${url}/ready`, undefined, 5_000);
      assert.equal(r.status, 503);
      assert.equal(r.body.error.code, 'dependency_unavailable');
      assert.deepEqual(r.body.error.details.failing, ['postgres']);
    },
    { timeoutMs: 10_000, message: '/ready reports Postgres' },
  );
  assert.equal((await timedGet(`${url}/health`, undefined, 5_000)).status, 200);

  proxy.resume();
  await eventually(async () => assert.equal((await timedGet(`${url}/ready`, undefined, 5_000)).status, 200), { timeoutMs: 15_000, message: '/ready again' });
  await eventually(async () => assert.equal((await timedGet(`${url}/api/v1/documents/${doc.id}`, s.accessToken, 10_000)).status, 200), {
    timeoutMs: 15_000,
    message: 'REST again',
  });
  assert.deepEqual(uncaught, []);
});
