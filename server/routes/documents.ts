/** `/api/v1/documents*`: create, list, get, change, soft delete, duplicate, stars and views, permissions (restore and undelete: routes/history.ts). */
import { z } from 'zod';
import type {
  CreateDocumentRequest,
  DocumentContentQuery,
  DuplicateDocumentRequest,
  ListDocumentsQuery,
  PermissionList,
  ProseMirrorJson,
  PutContentRequest,
  SetPermissionRequest,
  SetPermissionResponse,
  UpdateDocumentRequest,
} from '../../contract/api.js';
import { createDocument, deleteDocument, duplicateDocument, getDocument, listDocuments, LIST_MAX_LIMIT, recordView, setStar, updateDocument } from '../commands/documents.js';
import { listPermissions, setPermission } from '../commands/permissions.js';
import { getContent, putContent } from '../commands/content.js';
import { getClassification } from '../commands/classification.js';
import { badRequest } from '../../lib/errors.js';
import { MAX_TITLE_CHARS } from '../../contract/api.js';
import { readJson, readQuery, type Accepts, type Expect } from '../http/validate.js';
import { ProseMirrorNode, validateProseMirror } from '../../core/content.js';
import { authenticate, pathId, type RouteContext } from './context.js';

const Title = z.string().trim().min(1).max(MAX_TITLE_CHARS);
/** Largest text accepted at creation or in a content write, in characters. */
export const MAX_TEXT_CHARS = 1_000_000;
/** A collection named in a body: a UUID in any case, or null for the top level. */
const CollectionRef = z
  .uuid()
  .transform((v) => v.toLowerCase())
  .nullable();
const Kind = z.enum(['document', 'template']);
const LinkAccessLevel = z.enum(['none', 'read', 'comment', 'write']);
const CreateDocument = z.strictObject({ title: Title, text: z.string().max(MAX_TEXT_CHARS).optional(), collectionId: CollectionRef.optional() });
const ContentQuery = z.strictObject({ format: z.enum(['text', 'json', 'yjs']).default('text') });
const PutContent = z
  .strictObject({
    text: z.string().max(MAX_TEXT_CHARS).optional(),
    json: ProseMirrorNode.optional(),
    mode: z.enum(['replace', 'append']).default('replace'),
  })
  .refine((b) => (b.text === undefined) !== (b.json === undefined), { message: 'send exactly one of "text" or "json"' });
const PatchDocument = z
  .strictObject({ title: Title.optional(), collectionId: CollectionRef.optional(), kind: Kind.optional(), linkAccess: LinkAccessLevel.optional() })
  .refine((b) => b.title !== undefined || b.collectionId !== undefined || b.kind !== undefined || b.linkAccess !== undefined, {
    message: 'send at least one of "title", "collectionId", "kind" or "linkAccess"',
  });
const DuplicateDocument = z.strictObject({ title: Title.optional(), collectionId: CollectionRef.optional(), kind: Kind.optional() });
const Flag = z.enum(['true', 'false']).transform((v) => v === 'true');
const ListQuery = z
  .strictObject({
    // A title-ordered cursor carries the last title (up to 500 characters, lower-cased, encoded).
    cursor: z.string().min(1).max(4096).optional(),
    limit: z.coerce.number().int().min(1).max(LIST_MAX_LIMIT).optional(),
    sort: z.enum(['recent', 'title', 'created']).optional(),
    collectionId: z
      .union([z.literal('root'), z.uuid()])
      .transform((v) => v.toLowerCase())
      .optional(),
    starred: Flag.optional(),
    recent: Flag.optional(),
    q: z.string().trim().min(1).max(500).optional(),
    kind: Kind.optional(),
  })
  .refine((q) => !(q.recent && q.sort), { message: '"recent=true" lists by the last view: leave out "sort"' });
const SetPermission = z.strictObject({ userId: z.uuid().transform((v) => v.toLowerCase()), level: z.enum(['read', 'comment', 'write', 'admin', 'none']) });
// Bodies and query parameters are the contract's types (contract/api.ts): a change on one side alone fails tsc.
type _Requests = [
  Expect<Accepts<typeof CreateDocument, CreateDocumentRequest>>,
  Expect<Accepts<typeof PatchDocument, UpdateDocumentRequest>>,
  Expect<Accepts<typeof DuplicateDocument, DuplicateDocumentRequest>>,
  Expect<Accepts<typeof PutContent, PutContentRequest>>,
  Expect<Accepts<typeof SetPermission, SetPermissionRequest>>,
  Expect<Accepts<typeof ListQuery, ListDocumentsQuery>>,
  Expect<Accepts<typeof ContentQuery, DocumentContentQuery>>,
];

export function documentRoutes(ctx: RouteContext): void {
  const { edge, svc } = ctx;
  edge.route(
    'post',
    '/api/v1/documents',
    async (req) => {
      const p = await authenticate(ctx, req);
      const body = readJson(req, CreateDocument);
      return { status: 201, json: await createDocument(svc, p, req.ip, body) };
    },
    {
      doc: {
        tag: 'Documents',
        summary: 'Create a document',
        description: 'With a title, optionally initial plain text and a collection. Guests cannot create.',
        auth: 'bearer',
        body: CreateDocument,
        status: 201,
        response: 'DocumentMeta',
        example: { request: { title: 'Meeting notes', text: 'Agenda\n\n1. Budget', collectionId: null } },
      },
    },
  );
  edge.route(
    'get',
    '/api/v1/documents',
    async (req) => {
      const p = await authenticate(ctx, req);
      const q = readQuery(req, ListQuery);
      return { status: 200, json: await listDocuments(svc, p, req.ip, q) };
    },
    {
      doc: {
        tag: 'Documents',
        summary: 'List the documents the caller can read',
        description: 'A page at a time (`cursor` from the previous page), sorted, filtered by collection, stars, recent views, a title search or kind.',
        auth: 'bearer',
        query: ListQuery,
        status: 200,
        response: 'DocumentPage',
      },
    },
  );
  edge.route(
    'get',
    '/api/v1/documents/:id',
    async (req) => {
      const p = await authenticate(ctx, req);
      return { status: 200, json: await getDocument(svc, p, req.ip, { id: pathId(req, 'id', 'document') }) };
    },
    { doc: { tag: 'Documents', summary: "Get a document's metadata", auth: 'bearer', params: { id: 'The document' }, status: 200, response: 'DocumentMeta' } },
  );
  edge.route(
    'patch',
    '/api/v1/documents/:id',
    async (req) => {
      const p = await authenticate(ctx, req);
      const id = pathId(req, 'id', 'document');
      const body = readJson(req, PatchDocument);
      return { status: 200, json: await updateDocument(svc, p, req.ip, { id, ...body }) };
    },
    {
      doc: {
        tag: 'Documents',
        summary: 'Rename, move or change a document',
        description: 'Its title, collection, kind (document or template) or link access.',
        auth: 'bearer',
        params: { id: 'The document' },
        body: PatchDocument,
        status: 200,
        response: 'DocumentMeta',
        example: { request: { title: 'Meeting notes (final)', linkAccess: 'comment' } },
      },
    },
  );
  edge.route(
    'del',
    '/api/v1/documents/:id',
    async (req) => {
      const p = await authenticate(ctx, req);
      await deleteDocument(svc, p, req.ip, { id: pathId(req, 'id', 'document') });
      return { status: 204 };
    },
    {
      doc: {
        tag: 'Documents',
        summary: 'Move a document to the trash',
        description: 'Restore it with `POST /api/v1/documents/{id}/undelete`.',
        auth: 'bearer',
        params: { id: 'The document' },
        status: 204,
      },
    },
  );
  edge.route(
    'post',
    '/api/v1/documents/:id/duplicate',
    async (req) => {
      const p = await authenticate(ctx, req);
      const id = pathId(req, 'id', 'document');
      // Every field has a default: no body at all is the same as `{}`.
      const body = req.body && req.body.length > 0 ? readJson(req, DuplicateDocument) : {};
      return { status: 201, json: await duplicateDocument(svc, p, req.ip, { id, ...body }) };
    },
    {
      doc: {
        tag: 'Documents',
        summary: 'Duplicate a document',
        description: 'A copy of its content (a template becomes a document unless `kind` says otherwise). No body is the same as `{}`.',
        auth: 'bearer',
        params: { id: 'The document' },
        body: DuplicateDocument,
        bodyOptional: true,
        status: 201,
        response: 'DocumentMeta',
        example: { request: { title: 'Meeting notes (copy)' } },
      },
    },
  );
  edge.route(
    'put',
    '/api/v1/documents/:id/star',
    async (req) => {
      const p = await authenticate(ctx, req);
      await setStar(svc, p, req.ip, { id: pathId(req, 'id', 'document'), starred: true });
      return { status: 204 };
    },
    { doc: { tag: 'Documents', summary: 'Star a document', auth: 'bearer', params: { id: 'The document' }, status: 204 } },
  );
  edge.route(
    'del',
    '/api/v1/documents/:id/star',
    async (req) => {
      const p = await authenticate(ctx, req);
      await setStar(svc, p, req.ip, { id: pathId(req, 'id', 'document'), starred: false });
      return { status: 204 };
    },
    { doc: { tag: 'Documents', summary: 'Unstar a document', auth: 'bearer', params: { id: 'The document' }, status: 204 } },
  );
  edge.route(
    'post',
    '/api/v1/documents/:id/views',
    async (req) => {
      const p = await authenticate(ctx, req);
      await recordView(svc, p, req.ip, { id: pathId(req, 'id', 'document') });
      return { status: 204 };
    },
    { doc: { tag: 'Documents', summary: 'Record that the caller opened a document', description: 'For the recently viewed list.', auth: 'bearer', params: { id: 'The document' }, status: 204 } },
  );
  edge.route(
    'get',
    '/api/v1/documents/:id/content',
    async (req) => {
      const p = await authenticate(ctx, req);
      const id = pathId(req, 'id', 'document');
      const { format } = readQuery(req, ContentQuery);
      const out = await getContent(svc, p, req.ip, { id, format });
      if ('text' in out) return { status: 200, text: out.text };
      if ('json' in out) return { status: 200, json: out.json satisfies ProseMirrorJson };
      return { status: 200, bytes: out.yjs, headers: { 'content-type': 'application/octet-stream' } };
    },
    {
      doc: {
        tag: 'Content',
        summary: "Read a document's content",
        description: 'As plain text (default), ProseMirror JSON or the Yjs state (`format=yjs`: a Yjs update, apply it with `Y.applyUpdate`).',
        auth: 'bearer',
        params: { id: 'The document' },
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
    'put',
    '/api/v1/documents/:id/content',
    async (req) => {
      const p = await authenticate(ctx, req);
      const id = pathId(req, 'id', 'document');
      const body = readJson(req, PutContent);
      if (body.json) {
        const problem = validateProseMirror(body.json);
        if (problem) throw badRequest('invalid_document', `The ProseMirror document is not valid: ${problem}`);
      }
      const input = body.json ? { json: body.json } : { text: body.text ?? '' };
      await putContent(svc, p, req.ip, { id, input, mode: body.mode });
      return { status: 204 };
    },
    {
      doc: {
        tag: 'Content',
        summary: "Replace or append to a document's content",
        description: 'Plain text or a ProseMirror document (exactly one), merged into the live document as one edit that open editors see at once. Needs write access.',
        auth: 'bearer',
        params: { id: 'The document' },
        body: PutContent,
        status: 204,
        example: { request: { text: 'Action items: send the budget.', mode: 'append' } },
      },
    },
  );
  edge.route(
    'get',
    '/api/v1/documents/:id/classification',
    async (req) => {
      const p = await authenticate(ctx, req);
      return { status: 200, json: await getClassification(svc, p, req.ip, { id: pathId(req, 'id', 'document') }) };
    },
    { doc: { tag: 'Machine learning', summary: "A document's predicted label", auth: 'bearer', params: { id: 'The document' }, status: 200, response: 'ClassificationAnswer' } },
  );
  edge.route(
    'get',
    '/api/v1/documents/:id/permissions',
    async (req) => {
      const p = await authenticate(ctx, req);
      return { status: 200, json: { permissions: await listPermissions(svc, p, req.ip, { id: pathId(req, 'id', 'document') }) } satisfies PermissionList };
    },
    { doc: { tag: 'Sharing', summary: 'List who has access to a document', auth: 'bearer', params: { id: 'The document' }, status: 200, response: 'PermissionList' } },
  );
  edge.route(
    'put',
    '/api/v1/documents/:id/permissions',
    async (req) => {
      const p = await authenticate(ctx, req);
      const id = pathId(req, 'id', 'document');
      const body = readJson(req, SetPermission);
      const view = await setPermission(svc, p, req.ip, { id, userId: body.userId, level: body.level });
      return { status: 200, json: (view ?? { userId: body.userId, level: 'none' }) satisfies SetPermissionResponse };
    },
    {
      doc: {
        tag: 'Sharing',
        summary: "Set or remove a person's access to a document",
        description: 'Needs admin access to the document; `none` removes the grant.',
        auth: 'bearer',
        params: { id: 'The document' },
        body: SetPermission,
        status: 200,
        response: 'SetPermissionResponse',
        example: { request: { userId: '0b6f3c5e-2d7a-4f4e-9a51-6f1f2b0d9c11', level: 'write' }, response: { userId: '0b6f3c5e-2d7a-4f4e-9a51-6f1f2b0d9c11', level: 'none' } },
      },
    },
  );
}
