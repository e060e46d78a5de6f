/** What route modules share: services, the rate limiter and the auth helper. */
import type { NotFoundWhat } from '../../contract/errors.js';
import type { Config } from '../../lib/config.js';
import type { Principal } from '../../core/tokens.js';
import { isApiKey, requireScope, verifyApiKey } from '../../core/api-keys.js';
import { notFound, tooManyRequests, unauthorized } from '../../lib/errors.js';
import type { HttpEdge, Req } from '../../lib/http/edge.js';
import type { RouteDoc } from '../http/openapi/route-doc.js';
import type { Metrics } from '../../lib/metrics.js';
import type { RateLimiter, RateRule } from '../rate-limit/rate-limiter.js';
import type { Services } from '../services.js';

export interface RouteContext {
  /** Routes carry their OpenAPI documentation (`edge.route(…, { doc })`). */
  edge: HttpEdge<RouteDoc>;
  svc: Services;
  config: Config;
  limiter: RateLimiter;
  metrics: Metrics;
}

export async function limit(ctx: RouteContext, key: string, rule: RateRule): Promise<void> {
  const d = await ctx.limiter.take(key, rule);
  if (!d.allowed) throw tooManyRequests(d.retryAfterSeconds);
}

/**
 * Verifies the bearer token — an access token, or an API key (checked against the database,
 * and refused on a route its scopes do not cover) — and applies the per-user rate limit.
 */
export async function authenticate(ctx: RouteContext, req: Req): Promise<Principal> {
  const h = req.headers['authorization'] ?? '';
  const m = /^Bearer ([A-Za-z0-9_\-.]{10,4096})$/.exec(h);
  if (!m?.[1]) throw unauthorized('Send an access token as "Authorization: Bearer <token>"');
  if (isApiKey(m[1])) {
    const principal = await verifyApiKey(ctx.svc.store.db, m[1], req.ip);
    await limit(ctx, `user:${principal.userId}`, ctx.config.rateLimits.user);
    requireScope(principal.apiKey.scopes, req.method, req.route);
    return principal;
  }
  const principal = await ctx.svc.tokens.verifyAccess(m[1]);
  await limit(ctx, `user:${principal.userId}`, ctx.config.rateLimits.user);
  return principal;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** A path id that is not a UUID names nothing: 404, the same as a missing resource. */
export function pathId(req: Req, name: string, what: NotFoundWhat): string {
  const v = (req.params[name] ?? '').toLowerCase();
  if (!UUID.test(v)) throw notFound(what);
  return v;
}

export const ip = (req: Req): string => req.ip;

/** Where a request comes from, as a session records it: the address and the browser. */
export const device = (req: Req): { ip: string; userAgent: string | null } => ({ ip: req.ip, userAgent: req.headers['user-agent'] ?? null });
