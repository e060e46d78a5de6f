/** `/api/v1/api-keys`: people's keys for integrations (made while signed in; a key cannot manage keys). */
import { z } from 'zod';
import type { CreateApiKeyRequest } from '../../contract/api.js';
import { createApiKey, listApiKeys, revokeApiKey } from '../commands/api-keys.js';
import { readJson, type Accepts, type Expect } from '../http/validate.js';
import { authenticate, pathId, type RouteContext } from './context.js';

const Scope = z.enum(['read', 'write', 'search', 'admin']);
const CreateKey = z.strictObject({
  name: z
    .string()
    .trim()
    .min(1)
    .max(100)
    .regex(/^[^\p{Cc}]*$/u, { message: 'must not contain control characters' }),
  scopes: z.array(Scope).min(1).max(4),
  expiresInDays: z.number().int().min(1).max(365).optional(),
});
type _Bodies = [Expect<Accepts<typeof CreateKey, CreateApiKeyRequest>>];

export function apiKeyRoutes(ctx: RouteContext): void {
  const { edge, svc } = ctx;
  edge.route(
    'post',
    '/api/v1/api-keys',
    async (req) => {
      const p = await authenticate(ctx, req);
      return { status: 201, json: await createApiKey(svc, p, req.ip, readJson(req, CreateKey)) };
    },
    {
      doc: {
        tag: 'API keys',
        summary: 'Create an API key',
        description:
          'A key for an integration, acting as the caller with the scopes given (`read`, `write`, `search`, `admin`). The secret is shown once, in this answer. Signed in with an access token: a key cannot make keys.',
        auth: 'bearer',
        body: CreateKey,
        status: 201,
        response: 'CreatedApiKey',
        example: { request: { name: 'CI export', scopes: ['read'], expiresInDays: 90 } },
      },
    },
  );
  edge.route(
    'get',
    '/api/v1/api-keys',
    async (req) => {
      const p = await authenticate(ctx, req);
      return { status: 200, json: await listApiKeys(svc, p, req.ip, { all: req.query.get('all') === 'true' }) };
    },
    {
      doc: {
        tag: 'API keys',
        summary: "List the caller's API keys",
        description: 'Without their secrets. Owners and admins may pass `all=true` for every key in the workspace.',
        auth: 'bearer',
        queryParams: { all: '`true`: every key of the workspace (owners and admins)' },
        status: 200,
        response: 'ApiKeyList',
      },
    },
  );
  edge.route(
    'del',
    '/api/v1/api-keys/:id',
    async (req) => {
      const p = await authenticate(ctx, req);
      await revokeApiKey(svc, p, req.ip, pathId(req, 'id', 'api_key'));
      return { status: 204 };
    },
    { doc: { tag: 'API keys', summary: 'Revoke an API key', description: 'It stops working at once.', auth: 'bearer', status: 204 } },
  );
}
