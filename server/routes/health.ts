/** Liveness, readiness, Prometheus metrics and the JWKS document. */
import type { RouteContext } from './context.js';

export function healthRoutes(ctx: RouteContext, state: { ready: () => boolean }): void {
  const { edge, svc } = ctx;
  edge.route('get', '/health', () => ({ status: 200, json: { status: 'ok' } }));
  edge.route('get', '/ready', () =>
    state.ready() ? { status: 200, json: { status: 'ready' } } : { status: 503, json: { error: { code: 'not_ready', message: 'Not serving yet' } } },
  );
  edge.route('get', '/metrics', async () => ({
    status: 200,
    text: await ctx.metrics.registry.metrics(),
    headers: { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' },
  }));
  edge.route('get', '/.well-known/jwks.json', () => ({
    status: 200,
    json: svc.tokens.jwks(),
    headers: { 'cache-control': 'public, max-age=300' },
  }));
}
