/** Signed-in devices: the caller's own (`/api/v1/me/sessions`) and, for admins, a user's (`/api/v1/users/:id/sessions`). */
import { endMyOtherSessions, endMySession, endUserSessions, listMySessions, listUserSessions } from '../commands/sessions.js';
import { authenticate, pathId, type RouteContext } from './context.js';

export function sessionRoutes(ctx: RouteContext): void {
  const { edge, svc } = ctx;
  edge.route(
    'get',
    '/api/v1/me/sessions',
    async (req) => {
      const p = await authenticate(ctx, req);
      return { status: 200, json: await listMySessions(svc, p, req.ip) };
    },
    { doc: { tag: 'Sessions', summary: "The caller's signed-in devices", auth: 'bearer', status: 200, response: 'SessionList' } },
  );
  // Every session but the caller's.
  edge.route(
    'del',
    '/api/v1/me/sessions',
    async (req) => {
      const p = await authenticate(ctx, req);
      return { status: 200, json: await endMyOtherSessions(svc, p, req.ip) };
    },
    { doc: { tag: 'Sessions', summary: 'Sign out every other device', auth: 'bearer', status: 200, response: 'EndedSessions' } },
  );
  edge.route(
    'del',
    '/api/v1/me/sessions/:id',
    async (req) => {
      const p = await authenticate(ctx, req);
      await endMySession(svc, p, req.ip, pathId(req, 'id', 'session'));
      return { status: 204 };
    },
    { doc: { tag: 'Sessions', summary: 'Sign out one device', auth: 'bearer', params: { id: 'The session' }, status: 204 } },
  );
  edge.route(
    'get',
    '/api/v1/users/:id/sessions',
    async (req) => {
      const p = await authenticate(ctx, req);
      return { status: 200, json: await listUserSessions(svc, p, req.ip, pathId(req, 'id', 'user')) };
    },
    { doc: { tag: 'Sessions', summary: "A user's signed-in devices", description: 'Owners and admins.', auth: 'bearer', params: { id: 'The user' }, status: 200, response: 'SessionList' } },
  );
  edge.route(
    'del',
    '/api/v1/users/:id/sessions',
    async (req) => {
      const p = await authenticate(ctx, req);
      await endUserSessions(svc, p, req.ip, pathId(req, 'id', 'user'));
      return { status: 204 };
    },
    { doc: { tag: 'Sessions', summary: 'Sign a user out everywhere', description: 'Owners and admins.', auth: 'bearer', params: { id: 'The user' }, status: 204 } },
  );
}
