/**
 * Token buckets in Redis, shared by every instance: one Lua script reads, refills, takes
 * and writes atomically, using the Redis server clock so instances need not agree on time.
 */
import type { Redis } from 'ioredis';
import type { RateDecision, RateLimiter, RateRule } from './rate-limiter.js';

const SCRIPT = `
local key = KEYS[1]
local rate = tonumber(ARGV[1]) / 60000
local burst = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local b = redis.call('HMGET', key, 'tokens', 'at')
local tokens = tonumber(b[1]) or burst
local at = tonumber(b[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
local allowed = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
end
redis.call('HSET', key, 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', key, math.ceil(burst / rate) + 1000)
local wait = 0
if allowed == 0 then wait = math.ceil((1 - tokens) / rate) end
return { allowed, math.floor(tokens), wait }
`;

export class RedisRateLimiter implements RateLimiter {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {
    redis.defineCommand('quireTakeToken', { numberOfKeys: 1, lua: SCRIPT });
  }

  async take(key: string, rule: RateRule): Promise<RateDecision> {
    const cmd = (this.redis as unknown as { quireTakeToken: (k: string, r: number, b: number) => Promise<[number, number, number]> })
      .quireTakeToken;
    const [allowed, remaining, waitMs] = await cmd.call(this.redis, `${this.prefix}rl:${key}`, rule.perMinute, rule.burst);
    return {
      allowed: allowed === 1,
      remaining,
      retryAfterSeconds: allowed === 1 ? 0 : Math.max(1, Math.ceil(waitMs / 1000)),
    };
  }

  async destroy(): Promise<void> {
    // The Redis connection is owned and closed by the process, not by the limiter.
  }
}
