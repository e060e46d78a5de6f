import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { MemoryRateLimiter } from '../server/rate-limit/memory.js';
import { RedisRateLimiter } from '../server/rate-limit/redis.js';
import type { RateLimiter } from '../server/rate-limit/rate-limiter.js';
import { TEST_REDIS_URL } from './helpers/env.js';
import { startServer, uniqueName } from './helpers/server.js';
import { eventually } from './helpers/wait.js';

const implementations: Record<string, () => Promise<{ limiter: RateLimiter; close: () => Promise<void> }>> = {
  memory: async () => {
    const limiter = new MemoryRateLimiter();
    return { limiter, close: () => limiter.destroy() };
  },
  redis: async () => {
    const redis = new Redis(TEST_REDIS_URL);
    const limiter = new RedisRateLimiter(redis, `${uniqueName('rl')}:`);
    return { limiter, close: async () => void (await redis.quit()) };
  },
};

for (const [name, make] of Object.entries(implementations)) {
  describe(`rate limiter conformance: ${name}`, () => {
    test('allows the burst, then refuses with a retry-after', async () => {
      const { limiter, close } = await make();
      try {
        const rule = { perMinute: 6, burst: 3 };
        const decisions = [];
        for (let i = 0; i < 4; i++) decisions.push(await limiter.take('k', rule));
        assert.deepEqual(
          decisions.map((d) => d.allowed),
          [true, true, true, false],
        );
        assert.equal(decisions[2]!.remaining, 0);
        assert.ok(decisions[3]!.retryAfterSeconds >= 1 && decisions[3]!.retryAfterSeconds <= 10, `retry ${decisions[3]!.retryAfterSeconds}`);
        // Keys are independent.
        assert.equal((await limiter.take('other', rule)).allowed, true);
      } finally {
        await close();
      }
    });
    test('refills over time', async () => {
      const { limiter, close } = await make();
      try {
        const rule = { perMinute: 60_000, burst: 1 }; // one token per millisecond
        assert.equal((await limiter.take('r', rule)).allowed, true);
        // The bucket is empty now; a token comes back with time (a refused take costs nothing).
        await eventually(async () => assert.equal((await limiter.take('r', rule)).allowed, true, 'a token refilled'), { timeoutMs: 5_000, intervalMs: 5, message: 'the bucket refills' });
      } finally {
        await close();
      }
    });
  });
}

test('HTTP: the auth limit answers 429 with Retry-After, per IP, on Redis shared by instances', async (t) => {
  const env = { RATE_LIMIT_AUTH_PER_MINUTE: '1', RATE_LIMIT_AUTH_BURST: '3' };
  const one = await startServer(t, { redis: true, env });
  // A second instance sharing the same Redis prefix shares the buckets.
  const two = await startServer(t, { redis: true, env: { ...env, REDIS_PREFIX: one.config.redis.prefix } });
  const body = { email: 'nobody@example.test', password: 'wrong password here' };
  const statuses = [];
  for (const api of [one.api, one.api, two.api, two.api]) statuses.push((await api.post('/api/v1/auth/login', body)).status);
  assert.deepEqual(statuses, [401, 401, 401, 429]);
  const r = await one.api.post('/api/v1/auth/login', body);
  assert.equal(r.status, 429);
  assert.equal(r.body.error.code, 'rate_limited');
  assert.ok(Number(r.headers.get('retry-after')) >= 1, "Number(r.headers.get('retry-after')) >= 1");
  // Health probes are never limited.
  assert.equal((await one.api.get('/health')).status, 200);
});

test('HTTP: the per-user limit applies to authenticated calls (in-memory limiter)', async (t) => {
  const { api } = await startServer(t, { env: { RATE_LIMIT_USER_PER_MINUTE: '1', RATE_LIMIT_USER_BURST: '2' } });
  const s = await api.signup();
  const statuses = [];
  for (let i = 0; i < 3; i++) statuses.push((await api.get('/api/v1/documents', s.accessToken)).status);
  assert.deepEqual(statuses, [200, 200, 429]);
  // Another user is unaffected.
  const other = await api.signup('Other');
  assert.equal((await api.get('/api/v1/documents', other.accessToken)).status, 200);
});
