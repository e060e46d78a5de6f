/**
 * Token-bucket rate limiting. A rule refills `perMinute` tokens a minute up to `burst`;
 * each request takes one. Implementations: in memory (one instance) and Redis (shared by
 * every instance). Both pass the same conformance suite.
 */
export interface RateRule {
  perMinute: number;
  burst: number;
}

export interface RateDecision {
  allowed: boolean;
  /** Whole seconds until one token is available again (0 when allowed). */
  retryAfterSeconds: number;
  remaining: number;
}

export interface RateLimiter {
  take(key: string, rule: RateRule): Promise<RateDecision>;
  destroy(): Promise<void>;
}
