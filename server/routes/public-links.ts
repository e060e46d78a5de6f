/**
 * Public links: `/api/v1/documents/:id/public-link` (create or replace, read, revoke; signed
 * in) and `GET /api/v1/public/:token`, the one document route that needs no token at all:
 * rate-limited per address, answered `no-store` and `noindex` whatever the outcome, and
 * logged by its pattern (the path holds the secret).
 */
import type { PublicLinkState } from '../../contract/api.js';
import { AppError, isAppError } from '../../lib/errors.js';
import { createPublicLink, getPublicLinkState, publicLinkNotFound, readPublicDocument, revokePublicLink } from '../commands/public-links.js';
import { authenticate, limit, pathId, type RouteContext } from './context.js';

/** Every answer of the public read: never cached (a revoked link must stop at once), never indexed. */
const PUBLIC_HEADERS = { 'cache-control': 'no-store', 'x-robots-tag': 'noindex', 'referrer-policy': 'no-referrer' };
/** Longer than any token this server issues (`qpl_` + tenant id + `_` + 43 characters): not looked at. */
const MAX_TOKEN_CHARS = 128;

export function publicLinkRoutes(ctx: RouteContext): void {
  const { edge, svc } = ctx;
  edge.route(
    'post',
    '/api/v1/documents/:id/public-link',
    async (req) => {
      const p = await authenticate(ctx, req);
      return { status: 201, json: await createPublicLink(svc, p, req.ip, { id: pathId(req, 'id', 'document') }) };
    },
    {
      doc: {
        tag: 'Public links',
        summary: 'Share a document by a public link',
        description: 'Read-only, for anyone with the link; admin access to the document, and the workspace must allow public links.',
        auth: 'bearer',
        params: { id: 'The document' },
        status: 201,
        response: 'PublicLink',
      },
    },
  );
  edge.route(
    'get',
    '/api/v1/documents/:id/public-link',
    async (req) => {
      const p = await authenticate(ctx, req);
      return { status: 200, json: (await getPublicLinkState(svc, p, req.ip, { id: pathId(req, 'id', 'document') })) satisfies PublicLinkState };
    },
    { doc: { tag: 'Public links', summary: "A document's public link, if any", auth: 'bearer', params: { id: 'The document' }, status: 200, response: 'PublicLinkState' } },
  );
  edge.route(
    'del',
    '/api/v1/documents/:id/public-link',
    async (req) => {
      const p = await authenticate(ctx, req);
      await revokePublicLink(svc, p, req.ip, { id: pathId(req, 'id', 'document') });
      return { status: 204 };
    },
    { doc: { tag: 'Public links', summary: 'Turn the public link off', auth: 'bearer', params: { id: 'The document' }, status: 204 } },
  );
  edge.route(
    'get',
    '/api/v1/public/:token',
    async (req) => {
      try {
        await limit(ctx, `public:${req.ip}`, ctx.config.rateLimits.publicLink);
        const token = req.params['token'] ?? '';
        if (token.length > MAX_TOKEN_CHARS) throw publicLinkNotFound();
        return { status: 200, json: await readPublicDocument(svc, { token }), headers: PUBLIC_HEADERS };
      } catch (e) {
        if (!isAppError(e)) throw e;
        throw new AppError(e.status, e.code, e.message, e.details, { ...e.headers, ...PUBLIC_HEADERS });
      }
    },
    {
      secretPath: true,
      doc: {
        tag: 'Public links',
        summary: 'Read a publicly shared document',
        description: 'No sign-in: the token is the authority. Never cached or indexed.',
        auth: 'none',
        params: { token: { text: "The public link's token" } },
        status: 200,
        response: 'PublicDocument',
      },
    },
  );
}
