/** Signed-in devices: the caller's own (`/api/v1/me/sessions`) and, for admins, a user's (`/api/v1/users/:id/sessions`). */
import { endMyOtherSessions, endMySession, endUserSessions, listMySessions, listUserSessions } from '../commands/sessions.js';
import { authenticate, pathId, type RouteContext } from './context.js';

export function sessionRoutes(ctx: RouteContext): void {
  const { edge, svc } = ctx;
  edge.route('get', '/api/v1/me/sessions', async (req) => {
    const p = await authenticate(ctx, req);
    return { status: 200, json: await listMySessions(svc, p, req.ip) };
  });
  // Every session but the caller's.
  edge.route('del', '/api/v1/me/sessions', async (req) => {
    const p = await authenticate(ctx, req);
    return { status: 200, json: await endMyOtherSessions(svc, p, req.ip) };
  });
  edge.route('del', '/api/v1/me/sessions/:id', async (req) => {
    const p = await authenticate(ctx, req);
    await endMySession(svc, p, req.ip, pathId(req, 'id', 'session'));
    return { status: 204 };
  });
  edge.route('get', '/api/v1/users/:id/sessions', async (req) => {
    const p = await authenticate(ctx, req);
    return { status: 200, json: await listUserSessions(svc, p, req.ip, pathId(req, 'id', 'user')) };
  });
  edge.route('del', '/api/v1/users/:id/sessions', async (req) => {
    const p = await authenticate(ctx, req);
    await endUserSessions(svc, p, req.ip, pathId(req, 'id', 'user'));
    return { status: 204 };
  });
}
