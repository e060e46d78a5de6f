/** Liveness, readiness, Prometheus metrics and the JWKS document. */
import type { DependencyMonitor } from '../dependencies.js';
import crypto from 'node:crypto';
import { forbidden, unauthorized } from '../../lib/errors.js';
import { errorBody, type Req } from '../../lib/http/edge.js';
import type { RouteContext } from './context.js';

/**
 * `/health` is liveness: the process runs and serves HTTP (restart it when this fails).
 * `/ready` is readiness: started, not shutting down, and every required dependency answers
 * (route traffic elsewhere while it fails). Its body names each dependency's state; an
 * optional one that is down (Redis) shows as `degraded` without making it 503.
 */
export function healthRoutes(ctx: RouteContext, state: { ready: () => boolean; dependencies?: DependencyMonitor }): void {
  const { edge, svc } = ctx;
  edge.route('get', '/health', () => ({ status: 200, json: { status: 'ok' } }));
  edge.route('get', '/ready', () => {
    if (!state.ready()) return { status: 503, json: errorBody('not_ready', 'Not serving yet') };
    const deps = state.dependencies;
    const dependencies = deps?.report() ?? {};
    if (deps && !deps.ready) {
      const failing = deps.failing;
      return {
        status: 503,
        json: errorBody('dependency_unavailable', `Not serving: ${failing.join(', ')} does not answer`, { failing, dependencies }),
      };
    }
    return { status: 200, json: { status: 'ready', dependencies } };
  });
  edge.route('get', '/metrics', async (req) => {
    metricsAllowed(req, ctx.config.http.metricsToken);
    return {
      status: 200,
      text: await ctx.metrics.registry.metrics(),
      headers: { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' },
    };
  });
  edge.route('get', '/.well-known/jwks.json', () => ({
    status: 200,
    json: svc.tokens.jwks(),
    headers: { 'cache-control': 'public, max-age=300' },
  }));
}

/**
 * `/metrics` tells how busy and how large the deployment is, so it is not public: with
 * `METRICS_TOKEN` set, a scraper sends it as a bearer token; without it, only clients on
 * this machine (loopback, e.g. a sidecar or `curl localhost`) may read it.
 */
function metricsAllowed(req: Req, token: string | undefined): void {
  if (token) {
    const sent = /^Bearer (.+)$/.exec(req.headers['authorization'] ?? '')?.[1] ?? '';
    const a = crypto.createHash('sha256').update(sent).digest();
    const b = crypto.createHash('sha256').update(token).digest();
    if (!crypto.timingSafeEqual(a, b)) throw unauthorized('Send the metrics token as "Authorization: Bearer <METRICS_TOKEN>"');
    return;
  }
  if (!isLoopback(req.ip)) throw forbidden('Metrics are served to this machine only; set METRICS_TOKEN to scrape from elsewhere', 'metrics_forbidden');
}

function isLoopback(ip: string): boolean {
  const a = ip.toLowerCase().replace(/^::ffff:/, '');
  return a === '::1' || a === '0000:0000:0000:0000:0000:0000:0000:0001' || /^127\./.test(a);
}
