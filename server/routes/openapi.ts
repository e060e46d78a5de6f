/**
 * `GET /api/v1/openapi.json`: the OpenAPI 3.1 document of the REST API, public and
 * cacheable. Built once, on the first request, from the routes registered on the edge with
 * their `doc` (server/http/openapi/); revalidated by its ETag.
 */
import crypto from 'node:crypto';
import { buildOpenApi, OPENAPI_PATH } from '../http/openapi/document.js';
import type { RouteContext } from './context.js';

export function openApiRoutes(ctx: RouteContext): void {
  const { edge } = ctx;
  let built: { text: string; etag: string } | null = null;
  edge.route(
    'get',
    OPENAPI_PATH,
    (req) => {
      built ??= (() => {
        const text = JSON.stringify(buildOpenApi(edge.routes(), { version: '1.0.0' }));
        return { text, etag: `"${crypto.createHash('sha256').update(text).digest('base64url').slice(0, 27)}"` };
      })();
      const headers = { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'public, max-age=300', etag: built.etag };
      if (req.headers['if-none-match'] === built.etag) return { status: 304, headers };
      return { status: 200, text: built.text, headers };
    },
    {
      doc: {
        tag: 'Meta',
        summary: 'Get this OpenAPI document',
        description: 'The OpenAPI 3.1 description of every /api/v1 operation, generated from the schemas the server validates with. Public; cache it (it changes only with a new server version).',
        auth: 'none',
        status: 200,
        response: { contentType: 'application/json', description: 'An OpenAPI 3.1 document' },
        otherResponses: { 304: 'Not modified (If-None-Match matched the ETag)' },
        responseHeaders: { etag: 'Changes when the document does', 'cache-control': '`public, max-age=300`' },
      },
    },
  );
}
