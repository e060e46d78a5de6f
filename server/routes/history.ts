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
  edge.route(
    'get',
    '/api/v1/documents/:id/versions',
    async (req) => {
      const p = await authenticate(ctx, req);
      const id = pathId(req, 'id', 'document');
      const q = readQuery(req, ListQuery);
      return { status: 200, json: (await listVersions(svc, p, req.ip, { id, ...q })) satisfies VersionPage };
    },
    {
      doc: {
        tag: 'History',
        summary: "List a document's versions",
        description: 'Named and automatic versions, newest first, a page at a time.',
        auth: 'bearer',
        params: { id: 'The document' },
        query: ListQuery,
        status: 200,
        response: 'VersionPage',
      },
    },
  );
  edge.route(
    'post',
    '/api/v1/documents/:id/versions',
    async (req) => {
      const p = await authenticate(ctx, req);
      const id = pathId(req, 'id', 'document');
      const body = readJson(req, CreateVersion);
      return { status: 201, json: await createVersion(svc, p, req.ip, { id, name: body.name }) };
    },
    {
      doc: {
        tag: 'History',
        summary: 'Save a named version',
        auth: 'bearer',
        params: { id: 'The document' },
        body: CreateVersion,
        status: 201,
        response: 'Version',
        example: { request: { name: 'Sent to legal' } },
      },
    },
  );
  edge.route(
    'get',
    '/api/v1/documents/:id/versions/:versionId/content',
    async (req) => {
      const p = await authenticate(ctx, req);
      const id = pathId(req, 'id', 'document');
      const versionId = pathId(req, 'versionId', 'version');
      const { format } = readQuery(req, ContentQuery);
      const out = await getVersionContent(svc, p, req.ip, { id, versionId, format });
      if ('text' in out) return { status: 200, text: out.text };
      if ('json' in out) return { status: 200, json: out.json satisfies ProseMirrorJson };
      return { status: 200, bytes: out.yjs, headers: { 'content-type': 'application/octet-stream' } };
    },
    {
      doc: {
        tag: 'History',
        summary: "Read a version's content",
        auth: 'bearer',
        params: { id: 'The document', versionId: 'The version' },
        query: ContentQuery,
        status: 200,
        response: [
          { contentType: 'text/plain', description: 'format=text: the text' },
          { contentType: 'application/json', schema: 'ProseMirrorJson', description: 'format=json: a ProseMirror document' },
          { contentType: 'application/octet-stream', description: 'format=yjs: the Yjs state as one update' },
        ],
      },
    },
  );
  edge.route(
    'get',
    '/api/v1/documents/:id/versions/:versionId/diff',
    async (req) => {
      const p = await authenticate(ctx, req);
      const id = pathId(req, 'id', 'document');
      const versionId = pathId(req, 'versionId', 'version');
      const { against } = readQuery(req, DiffQuery);
      return { status: 200, json: (await diffVersion(svc, p, req.ip, { id, versionId, against })) satisfies VersionDiff };
    },
    {
      doc: {
        tag: 'History',
        summary: 'Compare a version with another or with now',
        auth: 'bearer',
        params: { id: 'The document', versionId: 'The version' },
        query: DiffQuery,
        status: 200,
        response: 'VersionDiff',
      },
    },
  );
  edge.route(
    'get',
    '/api/v1/documents/:id/since-seen',
    async (req) => {
      const p = await authenticate(ctx, req);
      const id = pathId(req, 'id', 'document');
      return { status: 200, json: (await sinceSeen(svc, p, req.ip, { id })) satisfies SinceSeen };
    },
    { doc: { tag: 'History', summary: 'What changed since the caller last looked', auth: 'bearer', params: { id: 'The document' }, status: 200, response: 'SinceSeen' } },
  );
  edge.route(
    'post',
    '/api/v1/documents/:id/restore',
    async (req) => {
      const p = await authenticate(ctx, req);
      const id = pathId(req, 'id', 'document');
      const body = req.body && req.body.length > 0 ? readJson(req, RestoreBody) : {};
      if (body.versionId === undefined) return { status: 200, json: await restoreDocument(svc, p, req.ip, { id }) };
      return { status: 200, json: { version: await restoreVersion(svc, p, req.ip, { id, versionId: body.versionId }) } satisfies RestoreVersionResponse };
    },
    {
      doc: {
        tag: 'History',
        summary: 'Restore a version (or undo a delete)',
        description: '`{versionId}` makes that version the current content (answers `RestoreVersionResponse`); `{}` or no body takes the document out of the trash (answers `DocumentMeta`).',
        auth: 'bearer',
        params: { id: 'The document' },
        body: RestoreBody,
        bodyOptional: true,
        status: 200,
        response: { contentType: 'application/json', schema: ['RestoreVersionResponse', 'DocumentMeta'] },
        example: { request: { versionId: '5a1f0e3c-6b2d-4c7e-8f9a-0b1c2d3e4f50' } },
      },
    },
  );
  edge.route(
    'post',
    '/api/v1/documents/:id/undelete',
    async (req) => {
      const p = await authenticate(ctx, req);
      return { status: 200, json: await restoreDocument(svc, p, req.ip, { id: pathId(req, 'id', 'document') }) };
    },
    { doc: { tag: 'History', summary: 'Take a document out of the trash', auth: 'bearer', params: { id: 'The document' }, status: 200, response: 'DocumentMeta' } },
  );
  edge.route(
    'get',
    '/api/v1/trash',
    async (req) => {
      const p = await authenticate(ctx, req);
      return { status: 200, json: (await listTrash(svc, p, req.ip)) satisfies TrashList };
    },
    { doc: { tag: 'History', summary: "List the caller's deleted documents", auth: 'bearer', status: 200, response: 'TrashList' } },
  );
}
