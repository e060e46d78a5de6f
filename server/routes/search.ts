/**
 * `GET /api/v1/search?q=&mode=fulltext|semantic|hybrid&limit=`,
 * `POST /api/v1/search/clicks`, `GET /api/v1/search/analytics?days=&limit=` (owners and admins).
 */
import { z } from 'zod';
import type { SearchAnalyticsQuery, SearchClickRequest, SearchQuery as SearchQueryParams } from '../../contract/api.js';
import { search } from '../commands/search.js';
import { recordClick, SEARCH_LOG_RETENTION_DAYS, searchAnalytics } from '../commands/search-analytics.js';
import { readJson, readQuery, type Accepts, type Expect } from '../http/validate.js';
import { authenticate, type RouteContext } from './context.js';

/** Longest accepted query, in characters. */
export const MAX_QUERY_CHARS = 500;
/** Most hits per search. @default 50 */
export const MAX_SEARCH_LIMIT = 50;
const SearchQuery = z.strictObject({
  q: z.string().trim().min(1).max(MAX_QUERY_CHARS),
  mode: z.enum(['fulltext', 'semantic', 'hybrid']).default('fulltext'),
  limit: z.coerce.number().int().min(1).max(MAX_SEARCH_LIMIT).default(10),
});
const Click = z.strictObject({
  searchId: z.uuid(),
  documentId: z.uuid(),
  /** 1-based rank of the opened hit in the answer. */
  position: z.number().int().min(1).max(MAX_SEARCH_LIMIT),
});
const AnalyticsQuery = z.strictObject({
  days: z.coerce.number().int().min(1).max(SEARCH_LOG_RETENTION_DAYS).default(30),
  limit: z.coerce.number().int().min(1).max(100).default(20),
});
// The body and query parameters are the contract's types (contract/api.ts): a change on one side alone fails tsc.
type _Requests = [Expect<Accepts<typeof SearchQuery, SearchQueryParams>>, Expect<Accepts<typeof Click, SearchClickRequest>>, Expect<Accepts<typeof AnalyticsQuery, SearchAnalyticsQuery>>];

export function searchRoutes(ctx: RouteContext): void {
  ctx.edge.route(
    'get',
    '/api/v1/search',
    async (req) => {
      const p = await authenticate(ctx, req);
      const q = readQuery(req, SearchQuery);
      return { status: 200, json: await search(ctx.svc, p, req.ip, q) };
    },
    {
      doc: {
        tag: 'Search',
        summary: 'Search the documents the caller can read',
        description: 'Full text (default), semantic (by meaning) or hybrid; hits with highlighted matches.',
        auth: 'bearer',
        query: SearchQuery,
        status: 200,
        response: 'SearchResult',
      },
    },
  );
  ctx.edge.route(
    'post',
    '/api/v1/search/clicks',
    async (req) => {
      const p = await authenticate(ctx, req);
      const body = readJson(req, Click);
      await recordClick(ctx.svc, p, req.ip, { ...body, documentId: body.documentId.toLowerCase(), searchId: body.searchId.toLowerCase() });
      return { status: 204 };
    },
    {
      doc: {
        tag: 'Search',
        summary: 'Record which hit of a search was opened',
        description: 'For search analytics.',
        auth: 'bearer',
        body: Click,
        status: 204,
        example: { request: { searchId: '9e8d7c6b-5a49-4382-9170-6f5e4d3c2b1a', documentId: '1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d', position: 1 } },
      },
    },
  );
  ctx.edge.route(
    'get',
    '/api/v1/search/analytics',
    async (req) => {
      const p = await authenticate(ctx, req);
      const q = readQuery(req, AnalyticsQuery);
      return { status: 200, json: await searchAnalytics(ctx.svc, p, req.ip, q) };
    },
    {
      doc: {
        tag: 'Search',
        summary: 'Search analytics: top queries, no-result queries, clicks',
        description: 'Owners and admins.',
        auth: 'bearer',
        query: AnalyticsQuery,
        status: 200,
        response: 'SearchAnalytics',
      },
    },
  );
}
