/**
 * A stalled Redis must not hold requests: rate limiting falls back to this instance's
 * memory (and still limits), new documents open and edit with local fan-out, `/ready`
 * reports Redis as degraded but stays 200, and everything returns to Redis once it answers.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Redis } from 'ioredis';
import { RedisRateLimiter } from '../server/rate-limit/redis.js';
import { TEST_REDIS_URL } from './helpers/env.js';
import { acked, connect, paragraphText, readParagraph, synced } from './helpers/provider.js';
import { startServer, uniqueName } from './helpers/server.js';
import { startTcpProxy, targetOf } from './helpers/tcp-proxy.js';
import { eventually } from './helpers/wait.js';

/** A request that gives up after `ms` (so a hang fails the test instead of stalling it). */
async function timed(url: string, init: RequestInit, ms: number): Promise<{ status: number; body: any; elapsedMs: number }> {
  const t0 = performance.now();
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(ms) });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null, elapsedMs: performance.now() - t0 };
}

test('rate limiter: a stalled Redis falls back to memory within the command timeout, and returns to Redis', async (t) => {
  const proxy = await startTcpProxy(t, targetOf(TEST_REDIS_URL));
  const redis = new Redis(proxy.url(TEST_REDIS_URL), { commandTimeout: 300, maxRetriesPerRequest: 1 });
  redis.on('error', () => undefined);
  t.after(() => redis.disconnect());
  const limiter = new RedisRateLimiter(redis, `${uniqueName('rl')}:`);
  t.after(() => limiter.destroy());
  const rule = { perMinute: 1, burst: 2 };
  // Connected and answering first (a loaded machine may miss the 300 ms once while connecting).
  await eventually(
    async () => {
      await limiter.take('warm-up', rule);
      assert.equal(limiter.degraded, false);
    },
    { timeoutMs: 15_000, message: 'on Redis before the fault' },
  );
  assert.equal((await limiter.take('k', rule)).allowed, true);
  assert.equal(limiter.degraded, false);

  proxy.pause();
  const t0 = performance.now();
  const d = await limiter.take('k', rule);
  assert.ok(performance.now() - t0 < 5_000, `answered in ${performance.now() - t0} ms`);
  assert.equal(limiter.degraded, true);
  assert.equal(d.allowed, true);
  // Still limiting, in memory: the burst of 2 is spent after one more.
  assert.equal((await limiter.take('k', rule)).allowed, true);
  assert.equal((await limiter.take('k', rule)).allowed, false);

  proxy.resume();
  await eventually(
    async () => {
      await limiter.take('k', rule);
      assert.equal(limiter.degraded, false);
    },
    { timeoutMs: 15_000, message: 'back on Redis' },
  );
});

test('a stalled Redis: login and REST answer within seconds with in-process limits, new documents open, /ready says degraded', async (t) => {
  const proxy = await startTcpProxy(t, targetOf(TEST_REDIS_URL));
  const { url, api } = await startServer(t, {
    env: {
      REDIS_URL: proxy.url(TEST_REDIS_URL),
      REDIS_COMMAND_TIMEOUT_MS: '500',
      RATE_LIMIT_AUTH_PER_MINUTE: '1',
      RATE_LIMIT_AUTH_BURST: '4',
      READY_PROBE_INTERVAL_MS: '200',
      READY_PROBE_TIMEOUT_MS: '500',
    },
  });
  const password = 'correct horse battery';
  const s = await api.signup('Acme', undefined, password);
  const email = s.user.email;
  // Ready before the fault (on a loaded machine a probe may miss its 500 ms once: asked again).
  await eventually(
    async () => {
      const before = await timed(`${url}/ready`, {}, 10_000);
      assert.equal(before.status, 200, JSON.stringify(before.body));
      assert.equal(before.body.dependencies.redis.status, 'up');
    },
    { timeoutMs: 15_000, message: 'ready before the fault' },
  );

  proxy.pause();
  const login = () => timed(`${url}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password }) }, 10_000);
  const first = await login();
  assert.equal(first.status, 200, JSON.stringify(first.body));
  assert.ok(first.elapsedMs < 10_000, `login answered in ${first.elapsedMs} ms`);
  const token = first.body.accessToken as string;
  const list = await timed(`${url}/api/v1/documents`, { headers: { authorization: `Bearer ${token}` } }, 10_000);
  assert.equal(list.status, 200);
  // Limits still hold, in memory: the burst of 4 is spent after a few more logins.
  const statuses: number[] = [];
  for (let i = 0; i < 5; i++) statuses.push((await login()).status);
  assert.ok(statuses.includes(429), `in-process auth limit: ${statuses.join(',')}`);
  await eventually(
    async () => {
      const r = await timed(`${url}/ready`, {}, 5_000);
      assert.equal(r.status, 200);
      assert.equal(r.body.dependencies.redis.status, 'degraded');
      assert.equal(r.body.dependencies.postgres.status, 'up');
    },
    { timeoutMs: 10_000, message: '/ready: Redis degraded, still ready' },
  );

  // A new document opens and edits while Redis is stalled; peers on this instance see it.
  const create = await timed(`${url}/api/v1/documents`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: '{"title":"stalled"}' }, 10_000);
  assert.equal(create.status, 201);
  const docId = create.body.id as string;
  const writer = connect(t, url, docId, token);
  const reader = connect(t, url, docId, token);
  await Promise.all([synced(writer, 10_000), synced(reader, 10_000)]);
  paragraphText(writer.doc).insert(0, 'while redis stalls');
  await acked(writer, 10_000);
  await eventually(() => assert.equal(readParagraph(reader.doc), 'while redis stalls'), { message: 'local fan-out' });

  proxy.resume();
  await eventually(async () => assert.equal((await timed(`${url}/ready`, {}, 5_000)).body.dependencies.redis.status, 'up'), { timeoutMs: 15_000, message: 'Redis up again' });
  paragraphText(writer.doc).insert(0, '+');
  await acked(writer, 10_000);
  await eventually(() => assert.equal(readParagraph(reader.doc), '+while redis stalls'));
});
