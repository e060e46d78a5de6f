/** `/api/v1/workspace`: the caller's workspace — its name and settings (read by everyone in it, changed by owners and admins). */
import { z } from 'zod';
import type { UpdateWorkspaceRequest } from '../../contract/api.js';
import { getWorkspace, updateWorkspace } from '../commands/workspace.js';
import { readJson, type Accepts, type Expect } from '../http/validate.js';
import { authenticate, type RouteContext } from './context.js';

const PatchWorkspace = z
  .strictObject({ name: z.string().trim().min(1).max(120).optional(), publicLinksEnabled: z.boolean().optional() })
  .refine((b) => b.name !== undefined || b.publicLinksEnabled !== undefined, { message: 'send at least one of "name" or "publicLinksEnabled"' });
// The body is the contract's type (contract/api.ts): a change on one side alone fails tsc.
type _Requests = [Expect<Accepts<typeof PatchWorkspace, UpdateWorkspaceRequest>>];

export function workspaceRoutes(ctx: RouteContext): void {
  const { edge, svc } = ctx;
  edge.route(
    'get',
    '/api/v1/workspace',
    async (req) => {
      const p = await authenticate(ctx, req);
      return { status: 200, json: await getWorkspace(svc, p, req.ip) };
    },
    { doc: { tag: 'Workspace', summary: "The caller's workspace", auth: 'bearer', status: 200, response: 'Workspace' } },
  );
  edge.route(
    'patch',
    '/api/v1/workspace',
    async (req) => {
      const p = await authenticate(ctx, req);
      const body = readJson(req, PatchWorkspace);
      return { status: 200, json: await updateWorkspace(svc, p, req.ip, body) };
    },
    {
      doc: {
        tag: 'Workspace',
        summary: 'Rename the workspace or change its settings',
        description: 'Owners and admins.',
        auth: 'bearer',
        body: PatchWorkspace,
        status: 200,
        response: 'Workspace',
        example: { request: { name: 'Acme Inc.', publicLinksEnabled: false } },
      },
    },
  );
}
