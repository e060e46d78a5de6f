/** In-process token buckets; idle buckets are swept so memory stays bounded. */
import type { RateDecision, RateLimiter, RateRule } from './rate-limiter.js';

interface Bucket {
  tokens: number;
  at: number;
}

export class MemoryRateLimiter implements RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(private readonly now: () => number = Date.now) {
    this.sweeper = setInterval(() => this.sweep(), 60_000);
    this.sweeper.unref();
  }

  async take(key: string, rule: RateRule): Promise<RateDecision> {
    const t = this.now();
    const ratePerMs = rule.perMinute / 60_000;
    const b = this.buckets.get(key) ?? { tokens: rule.burst, at: t };
    b.tokens = Math.min(rule.burst, b.tokens + (t - b.at) * ratePerMs);
    b.at = t;
    this.buckets.set(key, b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return { allowed: true, retryAfterSeconds: 0, remaining: Math.floor(b.tokens) };
    }
    return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - b.tokens) / ratePerMs / 1000)), remaining: 0 };
  }

  private sweep(): void {
    // A bucket idle for 10 minutes is full again under any rule: forget it.
    const cutoff = this.now() - 600_000;
    for (const [k, b] of this.buckets) if (b.at < cutoff) this.buckets.delete(k);
  }

  async destroy(): Promise<void> {
    clearInterval(this.sweeper);
    this.buckets.clear();
  }
}
