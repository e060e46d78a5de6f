/**
 * Token buckets in Redis, shared by every instance: one Lua script reads, refills, takes
 * and writes atomically, using the Redis server clock so instances need not agree on time.
 *
 * Degraded mode: rate limiting runs on every request, so a stalled or lost Redis must not
 * hold requests. When a call fails (the client's `commandTimeout` bounds it) the limiter
 * switches to in-process buckets — limits then hold per instance instead of across
 * instances — and pings Redis in the background, at most once a second, switching back on
 * the first answer. Each switch is logged once.
 */
import type { Redis } from 'ioredis';
import type { Logger } from '../../lib/log.js';
import { MemoryRateLimiter } from './memory.js';
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

/** How often a degraded limiter asks whether Redis answers again. */
const RECOVERY_PROBE_MS = 1_000;

export interface RedisRateLimiterOptions {
  /** Told of each switch between Redis and the in-process fallback. */
  log?: Logger;
  /** Clock of the fallback buckets (tests). */
  now?: () => number;
}

export class RedisRateLimiter implements RateLimiter {
  private readonly fallback: MemoryRateLimiter;
  private degradedSince: number | null = null;
  private lastProbe = 0;
  private probing = false;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly opts: RedisRateLimiterOptions = {},
  ) {
    redis.defineCommand('quireTakeToken', { numberOfKeys: 1, lua: SCRIPT });
    this.fallback = new MemoryRateLimiter(opts.now);
  }

  /** Whether decisions come from this instance's memory because Redis does not answer. */
  get degraded(): boolean {
    return this.degradedSince !== null;
  }

  async take(key: string, rule: RateRule): Promise<RateDecision> {
    if (this.degradedSince !== null) {
      this.probeRecovery();
      return this.fallback.take(key, rule);
    }
    try {
      return await this.takeFromRedis(key, rule);
    } catch (err) {
      this.enterDegraded(err);
      return this.fallback.take(key, rule);
    }
  }

  private enterDegraded(err: unknown): void {
    if (this.degradedSince !== null) return;
    this.degradedSince = Date.now();
    this.lastProbe = Date.now();
    this.opts.log?.warn({ cat: 'ratelimit', err: (err as Error)?.message ?? String(err) }, 'Redis does not answer: rate limits are kept in this instance until it does');
  }

  /** In the background: one PING at a time, at most once per RECOVERY_PROBE_MS. */
  private probeRecovery(): void {
    if (this.probing || Date.now() - this.lastProbe < RECOVERY_PROBE_MS) return;
    this.probing = true;
    this.lastProbe = Date.now();
    this.redis
      .ping()
      .then(
        () => {
          if (this.degradedSince === null) return;
          this.opts.log?.info({ cat: 'ratelimit', degradedMs: Date.now() - this.degradedSince }, 'Redis answers again: rate limits are shared across instances again');
          this.degradedSince = null;
        },
        (err: unknown) => this.opts.log?.debug({ cat: 'ratelimit', err: (err as Error)?.message }, 'Redis still does not answer'),
      )
      .finally(() => {
        this.probing = false;
      });
  }

  private async takeFromRedis(key: string, rule: RateRule): Promise<RateDecision> {
    const cmd = (this.redis as unknown as { quireTakeToken: (k: string, r: number, b: number) => Promise<[number, number, number]> }).quireTakeToken;
    const [allowed, remaining, waitMs] = await cmd.call(this.redis, `${this.prefix}rl:${key}`, rule.perMinute, rule.burst);
    return {
      allowed: allowed === 1,
      remaining,
      retryAfterSeconds: allowed === 1 ? 0 : Math.max(1, Math.ceil(waitMs / 1000)),
    };
  }

  async destroy(): Promise<void> {
    // The Redis connection is owned and closed by the process, not by the limiter.
    await this.fallback.destroy();
  }
}
