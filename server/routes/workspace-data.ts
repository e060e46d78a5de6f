/**
 * The workspace's data as a whole: `POST /api/v1/workspace/export` (owners and admins: the
 * portable archive, streamed as a tar.gz download; docs/OPERATIONS.md describes it) and
 * `DELETE /api/v1/workspace` (an owner, with their password and the workspace's id:
 * everything deleted, for good). Both are rate limited per workspace beyond the per-user limit.
 */
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import type { DeleteWorkspaceRequest } from '../../contract/api.js';
import { PASSWORD_MAX_LENGTH } from '../auth/passwords.js';
import { deleteOwnWorkspace } from '../commands/workspace-delete.js';
import { exportOwnWorkspace } from '../commands/workspace-export.js';
import { readJson, type Accepts, type Expect } from '../http/validate.js';
import { authenticate, limit, type RouteContext } from './context.js';

const ExportBody = z.strictObject({});
const DeleteBody = z.strictObject({ confirm: z.string().trim().min(1).max(100), password: z.string().min(1).max(PASSWORD_MAX_LENGTH) });
// The body is the contract's type (contract/api.ts): a change on one side alone fails tsc.
type _Requests = [Expect<Accepts<typeof DeleteBody, DeleteWorkspaceRequest>>];
/** An export reads the whole workspace: a few an hour is plenty. */
const EXPORT_RATE = { perMinute: 1, burst: 3 };

const fileName = (name: string) =>
  `${
    name
      .replace(/[^A-Za-z0-9._-]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 60) || 'workspace'
  }-export.tar.gz`;

export function workspaceDataRoutes(ctx: RouteContext): void {
  const { edge, svc } = ctx;
  edge.route(
    'post',
    '/api/v1/workspace/export',
    async (req) => {
      const p = await authenticate(ctx, req);
      if (req.body && req.body.length > 0) readJson(req, ExportBody);
      await limit(ctx, `export:${p.tenantId}`, EXPORT_RATE);
      const out = await exportOwnWorkspace(svc, p, req.ip);
      const body = createReadStream(out.file);
      // The temporary archive goes once it was sent (or the client left).
      body.once('close', () => void fs.rm(path.dirname(out.file), { recursive: true, force: true }));
      return {
        status: 200,
        stream: { body, length: out.size },
        headers: {
          'content-type': 'application/gzip',
          'content-disposition': `attachment; filename="${fileName(out.name)}"`,
          'cache-control': 'private, no-store',
        },
      };
    },
    {
      doc: {
        tag: 'Workspace',
        summary: 'Export the whole workspace',
        description: 'Owners and admins: the portable archive (documents, files, comments, history, people) as a tar.gz download. A few an hour. The body, if any, is `{}`.',
        auth: 'bearer',
        body: ExportBody,
        bodyOptional: true,
        status: 200,
        response: { contentType: 'application/gzip', description: 'The archive (tar.gz)' },
      },
    },
  );
  edge.route(
    'del',
    '/api/v1/workspace',
    async (req) => {
      const p = await authenticate(ctx, req);
      const body = readJson(req, DeleteBody);
      await limit(ctx, `workspace-delete:${p.tenantId}`, ctx.config.rateLimits.loginAccount);
      await deleteOwnWorkspace(svc, p, req.ip, body);
      return { status: 204 };
    },
    {
      doc: {
        tag: 'Workspace',
        summary: 'Delete the workspace, for good',
        description: "An owner, with their password and the workspace's id in `confirm`. Everything is deleted.",
        auth: 'bearer',
        body: DeleteBody,
        status: 204,
        example: { request: { confirm: '7d0c1a2b-3e4f-4a5b-8c6d-9e0f1a2b3c4d', password: 'correct horse battery staple' } },
      },
    },
  );
}
