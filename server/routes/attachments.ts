/**
 * Files of documents over HTTP.
 *
 * - `POST /api/v1/uploads`, `HEAD|PATCH|DELETE /api/v1/uploads/:id`: resumable uploads
 *   (tus 1.0: creation, creation-with-upload, termination), served by `@tus/server` over the
 *   blob store (lib/storage/upload-store.ts). Metadata: `documentId`, `filename`,
 *   `filetype`. The upload id is the attachment id. Every request is authenticated; every
 *   piece re-checks write access to the document.
 * - `POST /api/v1/documents/:id/attachments?name=`: a small file in one request.
 * - `GET /api/v1/documents/:id/attachments`, `GET /api/v1/attachments/:id`: metadata.
 * - `GET|HEAD /api/v1/attachments/:id/content`: the bytes, by the document's read
 *   permission, with one byte range if asked, and headers that keep a file from acting as a
 *   page of ours: `Content-Disposition` (inline only for checked raster images),
 *   `X-Content-Type-Options: nosniff`, `Content-Security-Policy: default-src 'none'; sandbox`,
 *   `Cross-Origin-Resource-Policy: same-origin`.
 * - `GET|PUT /api/v1/workspace/storage`: usage and quota (setting it: admins).
 */
import crypto from 'node:crypto';
import { Server, type Upload } from '@tus/server';
import { z } from 'zod';
import type { Readable } from 'node:stream';
import type { Attachment } from '../../contract/api.js';
import type { Principal } from '../../core/tokens.js';
import { isAppError, AppError, badRequest } from '../../lib/errors.js';
import { errorBody, type Req, type Res } from '../../lib/http/edge.js';
import type { ByteRange } from '../../lib/storage/blob-store.js';
import { BlobUploadStore } from '../../lib/storage/upload-store.js';
import {
  abandonUpload,
  addAttachment,
  beginUpload,
  checkUpload,
  finishUpload,
  getAttachment,
  listAttachments,
  openAttachment,
  openPublicAttachment,
  setWorkspaceQuota,
  workspaceStorage,
} from '../commands/attachments.js';
import { readJson } from '../http/validate.js';
import { authenticate, limit, pathId, type RouteContext } from './context.js';
import { publicLinkNotFound } from '../commands/public-links.js';

const UPLOADS = '/api/v1/uploads';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** A tus hook's refusal: the status and our usual JSON error as its body. */
function tusError(e: unknown): { status_code: number; body: string } {
  if (isAppError(e)) return { status_code: e.status, body: JSON.stringify(errorBody(e.code, e.message, e.details)) };
  throw e;
}

/** tus answers its own refusals in plain text; ours are JSON with a stable code. */
function tusCode(status: number): Parameters<typeof errorBody>[0] {
  if (status === 404 || status === 410) return 'upload_not_found';
  if (status === 413) return 'file_too_large';
  if (status === 415) return 'unsupported_media_type';
  if (status === 412 || status === 400 || status === 409) return 'validation_failed';
  if (status >= 500) return 'internal_error';
  return 'validation_failed';
}

/** `bytes=a-b`, `bytes=a-`, `bytes=-n` against `size`: the range, null for the whole file, or 'unsatisfiable'. */
export function parseRange(header: string | undefined, size: number): ByteRange | null | 'unsatisfiable' {
  if (!header) return null;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return null;
  let start: number;
  let end: number;
  if (m[1] === '') {
    const n = Number(m[2]);
    if (n === 0) return 'unsatisfiable';
    start = Math.max(0, size - n);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  if (start >= size || start > end) return 'unsatisfiable';
  return { start, end };
}

/** `filename*` (RFC 6266/5987) with an ASCII fallback. */
function disposition(kind: 'inline' | 'attachment', name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]/g, '_').replace(/["\\]/g, '_');
  return `${kind}; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name)}`;
}

export function attachmentRoutes(ctx: RouteContext): void {
  const { edge, svc, config } = ctx;
  const store = new BlobUploadStore(svc.blobs);
  /** Who sent each request tus is handling (authenticated before tus sees it), and the upload it checked. */
  const callers = new WeakMap<Request, { principal: Principal; ip: string; upload?: Awaited<ReturnType<typeof checkUpload>> }>();
  const caller = (req: Request) => {
    const c = callers.get(req);
    if (!c) throw new AppError(401, 'unauthorized', 'Authentication required');
    return c;
  };
  const corsAllowed = (origin: string) => config.http.corsOrigins.includes(origin) || config.http.corsOrigins.includes('*');
  const tus = new Server({
    path: UPLOADS,
    datastore: store,
    relativeLocation: true,
    respectForwardedHeaders: false,
    maxSize: svc.files.maxUploadBytes,
    allowedOrigins: corsAllowed,
    exposedHeaders: ['x-request-id'],
    namingFunction: () => crypto.randomUUID(),
    onIncomingRequest: async (req, id) => {
      if (req.method === 'POST') return;
      const c = caller(req);
      try {
        c.upload = await checkUpload(svc, c.principal, c.ip, id);
      } catch (e) {
        // A finished upload answers HEAD with its full offset, so a client that lost the last answer sees it done.
        if (req.method === 'HEAD' && isAppError(e) && e.status === 409) return;
        throw tusError(e);
      }
    },
    onUploadCreate: async (req, upload: Upload) => {
      const { principal, ip } = caller(req);
      const meta = upload.metadata ?? {};
      try {
        const documentId = (meta.documentId ?? '').toLowerCase();
        if (!UUID.test(documentId)) throw badRequest('validation_failed', 'Upload-Metadata needs "documentId" (the document the file belongs to)');
        if (upload.size === undefined) throw badRequest('validation_failed', 'Send Upload-Length: the length of the file');
        await beginUpload(svc, principal, ip, { id: upload.id, documentId, name: meta.filename ?? meta.name ?? 'file', contentType: meta.filetype ?? meta.type ?? '', size: upload.size });
      } catch (e) {
        throw tusError(e);
      }
      return {};
    },
    onUploadFinish: async (req, upload: Upload) => {
      const { principal, ip, upload: checked } = caller(req);
      try {
        // Checked when this request came in (a PATCH); a creation that carried the whole file is checked here.
        const row = checked ?? (await checkUpload(svc, principal, ip, upload.id));
        const attachment = await finishUpload(svc, principal, row, (target) => store.assemble(upload.id, target));
        return { status_code: 200, headers: { 'Quire-Attachment-Id': attachment.id, 'Content-Type': 'application/json; charset=utf-8' }, body: JSON.stringify(attachment) };
      } catch (e) {
        throw tusError(e);
      }
    },
  });

  const viaTus = async (req: Req): Promise<Res> => {
    const principal = await authenticate(ctx, req);
    const headers = new Headers();
    for (const [k, v] of Object.entries(req.headers)) headers.set(k, v);
    const init: RequestInit & { duplex?: 'half' } = { method: req.method.toUpperCase(), headers };
    if (req.bodyStream) {
      init.body = req.bodyStream;
      init.duplex = 'half';
    }
    const request = new Request(`http://quire.local${req.path}`, init);
    callers.set(request, { principal, ip: req.ip });
    const response = await tus.handleWeb(request);
    if (req.method === 'delete' && response.status === 204) await abandonUpload(svc, principal, req.path.slice(UPLOADS.length + 1));
    const out: Record<string, string> = {};
    response.headers.forEach((v, k) => {
      // The edge writes its own CORS headers and length.
      if (!k.startsWith('access-control-') && k !== 'content-length' && k !== 'connection') out[k] = v;
    });
    const text = await response.text();
    if (response.status >= 400) {
      // Our hooks' refusals arrive as our JSON error; tus's own are plain text.
      const ours = text.startsWith('{"error":') ? (JSON.parse(text) as unknown) : null;
      return {
        status: response.status,
        json: ours ?? errorBody(tusCode(response.status), text.trim() || 'The upload was refused'),
        headers: { ...out, 'content-type': 'application/json; charset=utf-8' },
      };
    }
    if (req.method === 'head') return { status: response.status, headers: out, headOnlyLength: 0 };
    if (text === '') return { status: response.status, headers: out };
    if ((out['content-type'] ?? '').includes('json')) return { status: response.status, json: JSON.parse(text) as unknown, headers: out };
    return { status: response.status, text, headers: out };
  };
  // A piece may be as large as the file (tus-js-client sends the rest in one PATCH unless told otherwise).
  const piece = { streamBody: true, maxBodyBytes: svc.files.maxUploadBytes };
  edge.route('post', UPLOADS, viaTus, {
    ...piece,
    doc: {
      tag: 'Uploads',
      summary: 'Start a resumable upload (tus)',
      description:
        'tus 1.0 creation: send `Tus-Resumable: 1.0.0`, `Upload-Length` and `Upload-Metadata` with `documentId` (the document the file belongs to), `filename` and `filetype`, base64-encoded. The body may carry the first piece (creation-with-upload). Answers 201 with `Location: /api/v1/uploads/{id}`; the upload id is the attachment id. Needs write access to the document.',
      auth: 'bearer',
      rawBody: { contentType: 'application/offset+octet-stream', description: 'The first piece of the file (optional)' },
      bodyOptional: true,
      status: 201,
      responseHeaders: { location: 'The upload: /api/v1/uploads/{id}', 'upload-offset': 'Bytes received so far' },
    },
  });
  edge.route('patch', `${UPLOADS}/:id`, viaTus, {
    ...piece,
    doc: {
      tag: 'Uploads',
      summary: 'Send a piece of a resumable upload (tus)',
      description: 'tus 1.0: `Upload-Offset` says where the piece starts. The last piece finishes the upload: the answer is 200 with the Attachment as JSON and `Quire-Attachment-Id`.',
      auth: 'bearer',
      params: { id: 'The upload (and attachment) id' },
      rawBody: { contentType: 'application/offset+octet-stream' },
      status: 204,
      otherResponses: { 200: 'The last piece: the upload is finished, the body is the Attachment' },
      responseHeaders: { 'upload-offset': 'Bytes received so far' },
    },
  });
  edge.route('head', `${UPLOADS}/:id`, viaTus, {
    doc: {
      tag: 'Uploads',
      summary: 'Ask how much of an upload arrived (tus)',
      description: 'Answers `Upload-Offset` and `Upload-Length`; a finished upload answers its full length.',
      auth: 'bearer',
      params: { id: 'The upload (and attachment) id' },
      status: 200,
      responseHeaders: { 'upload-offset': 'Bytes received so far', 'upload-length': 'The length of the file' },
    },
  });
  edge.route('del', `${UPLOADS}/:id`, viaTus, {
    doc: { tag: 'Uploads', summary: 'Abandon an upload (tus termination)', auth: 'bearer', params: { id: 'The upload (and attachment) id' }, status: 204 },
  });

  edge.route(
    'post',
    '/api/v1/documents/:id/attachments',
    async (req) => {
      const p = await authenticate(ctx, req);
      const documentId = pathId(req, 'id', 'document');
      if (!req.body || req.body.length === 0) throw badRequest('empty_body', 'Send the file as the request body');
      const type = req.headers['content-type'];
      if (!type) throw new AppError(415, 'unsupported_media_type', "Send the file's type as Content-Type");
      const name = req.query.get('name') ?? 'file';
      return { status: 201, json: await addAttachment(svc, p, req.ip, { documentId, name, contentType: type, bytes: req.body }) };
    },
    {
      maxBodyBytes: Math.min(svc.files.maxUploadBytes, 32 * 1_048_576),
      doc: {
        tag: 'Attachments',
        summary: 'Attach a small file in one request',
        description: 'The file is the body, its type the Content-Type (at most 32 MB; larger files go through the resumable uploads). Needs write access.',
        auth: 'bearer',
        params: { id: 'The document' },
        queryParams: { name: 'The file name (default "file")' },
        rawBody: { contentType: '*/*', description: 'The file' },
        status: 201,
        response: 'Attachment',
      },
    },
  );
  edge.route(
    'get',
    '/api/v1/documents/:id/attachments',
    async (req) => {
      const p = await authenticate(ctx, req);
      return { status: 200, json: await listAttachments(svc, p, req.ip, { documentId: pathId(req, 'id', 'document') }) };
    },
    { doc: { tag: 'Attachments', summary: "List a document's files", auth: 'bearer', params: { id: 'The document' }, status: 200, response: 'AttachmentList' } },
  );
  edge.route(
    'get',
    '/api/v1/attachments/:id',
    async (req) => {
      const p = await authenticate(ctx, req);
      return { status: 200, json: await getAttachment(svc, p, req.ip, { id: pathId(req, 'id', 'attachment') }) };
    },
    { doc: { tag: 'Attachments', summary: "Get a file's metadata", auth: 'bearer', params: { id: 'The attachment' }, status: 200, response: 'Attachment' } },
  );

  /** Answers a download of `meta` (a range, HEAD, a revalidation) with the headers that keep a file inert. */
  const serve = async (req: Req, meta: Attachment, open: (range?: ByteRange) => Promise<{ body: Readable; size: number }>, extra: Record<string, string> = {}): Promise<Res> => {
    const range = parseRange(req.headers['range'], meta.size);
    const inline = meta.kind === 'image' && req.query.get('download') !== '1';
    const headers: Record<string, string> = {
      'content-type': meta.contentType,
      'content-disposition': disposition(inline ? 'inline' : 'attachment', meta.name),
      'content-security-policy': "default-src 'none'; sandbox",
      'cross-origin-resource-policy': 'same-origin',
      'accept-ranges': 'bytes',
      // The bytes of an attachment never change; who may read them does, so caches stay private.
      'cache-control': 'private, max-age=31536000, immutable',
      etag: `"${meta.id}"`,
      ...extra,
    };
    if (range === 'unsatisfiable')
      return { status: 416, json: errorBody('validation_failed', `The range is outside the file's ${meta.size} bytes`), headers: { 'content-range': `bytes */${meta.size}` } };
    if (req.headers['if-none-match'] === headers.etag) return { status: 304, headers };
    if (req.method === 'head') return { status: 200, headers, headOnlyLength: meta.size };
    const opened = await open(range ?? undefined);
    if (range) {
      headers['content-range'] = `bytes ${range.start}-${range.end}/${opened.size}`;
      return { status: 206, headers, stream: { body: opened.body, length: range.end - range.start + 1 } };
    }
    return { status: 200, headers, stream: { body: opened.body, length: opened.size } };
  };
  const content = async (req: Req): Promise<Res> => {
    const p = await authenticate(ctx, req);
    const found = await openAttachment(svc, p, req.ip, { id: pathId(req, 'id', 'attachment') });
    return serve(req, found.attachment, found.open);
  };
  // The files of a document a public link opens, for anyone holding the link (its images and cards on the public page).
  const publicContent = async (req: Req): Promise<Res> => {
    const extra = { 'cache-control': 'no-store', 'x-robots-tag': 'noindex', 'referrer-policy': 'no-referrer' };
    await limit(ctx, `public:${req.ip}`, config.rateLimits.publicLink);
    const token = req.params['token'] ?? '';
    if (token.length > 128) throw publicLinkNotFound();
    const found = await openPublicAttachment(svc, { token, id: pathId(req, 'id', 'attachment') });
    return serve(req, found.attachment, found.open, extra);
  };
  edge.route('get', '/api/v1/public/:token/attachments/:id', publicContent, {
    secretPath: true,
    doc: {
      tag: 'Public links',
      summary: 'Download a file of a publicly shared document',
      description: 'For anyone holding the link; answered like `GET /api/v1/attachments/{id}/content`, never cached.',
      auth: 'none',
      params: { token: { text: "The public link's token" }, id: 'The attachment' },
      queryParams: { download: '`1`: always as a download' },
      status: 200,
      response: { contentType: 'application/octet-stream', description: "The file's bytes, with its own Content-Type" },
      otherResponses: { 206: 'One byte range (Range: bytes=…)', 304: 'Not modified (If-None-Match)' },
    },
  });
  edge.route('head', '/api/v1/public/:token/attachments/:id', publicContent, {
    secretPath: true,
    doc: {
      tag: 'Public links',
      summary: 'The headers of a publicly shared file',
      auth: 'none',
      params: { token: { text: "The public link's token" }, id: 'The attachment' },
      status: 200,
    },
  });
  edge.route('get', '/api/v1/attachments/:id/content', content, {
    doc: {
      tag: 'Attachments',
      summary: "Download a file's bytes",
      description:
        "With the document's read permission. One byte range if asked (`Range: bytes=a-b`, 206). Raster images are inline unless `download=1`; everything else is an attachment download, with headers that keep it inert (`Content-Security-Policy: sandbox`, `nosniff`).",
      auth: 'bearer',
      params: { id: 'The attachment' },
      queryParams: { download: '`1`: always as a download' },
      status: 200,
      response: { contentType: 'application/octet-stream', description: "The file's bytes, with its own Content-Type" },
      otherResponses: { 206: 'One byte range', 304: 'Not modified (If-None-Match matched the ETag)' },
      responseHeaders: { etag: 'The attachment id (the bytes never change)', 'content-disposition': 'inline or attachment, with the file name', 'accept-ranges': 'bytes' },
    },
  });
  edge.route('head', '/api/v1/attachments/:id/content', content, {
    doc: { tag: 'Attachments', summary: "A file's headers (length, type) without its bytes", auth: 'bearer', params: { id: 'The attachment' }, status: 200 },
  });

  edge.route(
    'get',
    '/api/v1/workspace/storage',
    async (req) => {
      const p = await authenticate(ctx, req);
      return { status: 200, json: await workspaceStorage(svc, p) };
    },
    { doc: { tag: 'Attachments', summary: "The workspace's file storage: used and quota", auth: 'bearer', status: 200, response: 'WorkspaceStorage' } },
  );
  const Quota = z.strictObject({ quotaBytes: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).nullable() });
  edge.route(
    'put',
    '/api/v1/workspace/storage',
    async (req) => {
      const p = await authenticate(ctx, req);
      return { status: 200, json: await setWorkspaceQuota(svc, p, req.ip, readJson(req, Quota)) };
    },
    {
      doc: {
        tag: 'Attachments',
        summary: "Set the workspace's storage quota",
        description: 'Owners and admins; `null` for the server default.',
        auth: 'bearer',
        body: Quota,
        status: 200,
        response: 'WorkspaceStorage',
        example: { request: { quotaBytes: 10737418240 } },
      },
    },
  );
}
