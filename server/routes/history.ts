/** `/api/v1/documents/:id/versions*` (list, save, read, compare), version restore, `…/since-seen`, `/api/v1/trash`. */
import { z } from 'zod';
import {
  MAX_VERSION_NAME_CHARS,
  VERSIONS_MAX_LIMIT,
  type CreateVersionRequest,
  type ListVersionsQuery,
  type ProseMirrorJson,
  type RestoreVersionResponse,
  type TrashList,
  type SinceSeen,
  type VersionContentQuery,
  type VersionDiff,
  type VersionDiffQuery,
  type VersionPage,
} from '../../contract/api.js';
import { diffVersion, sinceSeen } from '../commands/compare.js';
import { createVersion, getVersionContent, listTrash, listVersions, restoreVersion } from '../commands/history.js';
import { restoreDocument } from '../commands/documents.js';
import { readJson, readQuery, type Accepts, type Expect } from '../http/validate.js';
import { authenticate, pathId, type RouteContext } from './context.js';

const ListQuery = z.strictObject({
  cursor: z.string().min(1).max(200).optional(),
  limit: z.coerce.number().int().min(1).max(VERSIONS_MAX_LIMIT).optional(),
});
const CreateVersion = z.strictObject({ name: z.string().trim().min(1).max(MAX_VERSION_NAME_CHARS) });
const ContentQuery = z.strictObject({ format: z.enum(['text', 'json', 'yjs']).default('text') });
const DiffQuery = z.strictObject({
  against: z.union([z.literal('current'), z.uuid().transform((v) => v.toLowerCase())], { error: 'against must be a version id or "current"' }).default('current'),
});
/** `{versionId}` restores a version; `{}` (or no body) undoes a delete. */
export const RestoreBody = z.strictObject({
  versionId: z
    .uuid()
    .transform((v) => v.toLowerCase())
    .optional(),
});
type _Requests = [
  Expect<Accepts<typeof ListQuery, ListVersionsQuery>>,
  Expect<Accepts<typeof CreateVersion, CreateVersionRequest>>,
  Expect<Accepts<typeof ContentQuery, VersionContentQuery>>,
  Expect<Accepts<typeof DiffQuery, VersionDiffQuery>>,
];

export function historyRoutes(ctx: RouteContext): void {
  const { edge, svc } = ctx;
  edge.route('get', '/api/v1/documents/:id/versions', async (req) => {
    const p = await authenticate(ctx, req);
    const id = pathId(req, 'id', 'document');
    const q = readQuery(req, ListQuery);
    return { status: 200, json: (await listVersions(svc, p, req.ip, { id, ...q })) satisfies VersionPage };
  });
  edge.route('post', '/api/v1/documents/:id/versions', async (req) => {
    const p = await authenticate(ctx, req);
    const id = pathId(req, 'id', 'document');
    const body = readJson(req, CreateVersion);
    return { status: 201, json: await createVersion(svc, p, req.ip, { id, name: body.name }) };
  });
  edge.route('get', '/api/v1/documents/:id/versions/:versionId/content', async (req) => {
    const p = await authenticate(ctx, req);
    const id = pathId(req, 'id', 'document');
    const versionId = pathId(req, 'versionId', 'version');
    const { format } = readQuery(req, ContentQuery);
    const out = await getVersionContent(svc, p, req.ip, { id, versionId, format });
    if ('text' in out) return { status: 200, text: out.text };
    if ('json' in out) return { status: 200, json: out.json satisfies ProseMirrorJson };
    return { status: 200, bytes: out.yjs, headers: { 'content-type': 'application/octet-stream' } };
  });
  edge.route('get', '/api/v1/documents/:id/versions/:versionId/diff', async (req) => {
    const p = await authenticate(ctx, req);
    const id = pathId(req, 'id', 'document');
    const versionId = pathId(req, 'versionId', 'version');
    const { against } = readQuery(req, DiffQuery);
    return { status: 200, json: (await diffVersion(svc, p, req.ip, { id, versionId, against })) satisfies VersionDiff };
  });
  edge.route('get', '/api/v1/documents/:id/since-seen', async (req) => {
    const p = await authenticate(ctx, req);
    const id = pathId(req, 'id', 'document');
    return { status: 200, json: (await sinceSeen(svc, p, req.ip, { id })) satisfies SinceSeen };
  });
  edge.route('post', '/api/v1/documents/:id/restore', async (req) => {
    const p = await authenticate(ctx, req);
    const id = pathId(req, 'id', 'document');
    const body = req.body && req.body.length > 0 ? readJson(req, RestoreBody) : {};
    if (body.versionId === undefined) return { status: 200, json: await restoreDocument(svc, p, req.ip, { id }) };
    return { status: 200, json: { version: await restoreVersion(svc, p, req.ip, { id, versionId: body.versionId }) } satisfies RestoreVersionResponse };
  });
  edge.route('post', '/api/v1/documents/:id/undelete', async (req) => {
    const p = await authenticate(ctx, req);
    return { status: 200, json: await restoreDocument(svc, p, req.ip, { id: pathId(req, 'id', 'document') }) };
  });
  edge.route('get', '/api/v1/trash', async (req) => {
    const p = await authenticate(ctx, req);
    return { status: 200, json: (await listTrash(svc, p, req.ip)) satisfies TrashList };
  });
}
