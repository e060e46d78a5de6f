/** `GET /api/v1/search?q=&mode=fulltext|semantic|hybrid&limit=` */
import { z } from 'zod';
import { search } from '../commands/search.js';
import { readQuery } from '../http/validate.js';
import { authenticate, type RouteContext } from './context.js';

/** Longest accepted query, in characters. */
export const MAX_QUERY_CHARS = 500;
const SearchQuery = z.strictObject({
  q: z.string().trim().min(1).max(MAX_QUERY_CHARS),
  mode: z.enum(['fulltext', 'semantic', 'hybrid']).default('fulltext'),
  limit: z.coerce.number().int().min(1).max(50).default(10),
});

export function searchRoutes(ctx: RouteContext): void {
  ctx.edge.route('get', '/api/v1/search', async (req) => {
    const p = await authenticate(ctx, req);
    const q = readQuery(req, SearchQuery);
    return { status: 200, json: await search(ctx.svc, p, req.ip, q) };
  });
}
