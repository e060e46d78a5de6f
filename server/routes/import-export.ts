/**
 * `POST /api/v1/documents/import` (a Markdown, HTML or Word file as the raw body, at most
 * 20 MB: a new document) and `GET /api/v1/documents/:id/export?format=` (the document as a
 * Markdown, HTML, Word or PDF download).
 */
import { z } from 'zod';
import { MAX_TITLE_CHARS } from '../../contract/api.js';
import { EXPORT_FORMATS, IMPORT_FORMATS, importFormatOfName, importFormatOfType, type ImportFormat } from '../../core/convert/index.js';
import { AppError, badRequest } from '../../lib/errors.js';
import { exportDocument, importDocument, MAX_IMPORT_BYTES } from '../commands/import-export.js';
import { readQuery } from '../http/validate.js';
import { authenticate, pathId, type RouteContext } from './context.js';

const ImportQuery = z.strictObject({
  format: z.string().trim().toLowerCase().max(40).optional(),
  title: z.string().trim().min(1).max(MAX_TITLE_CHARS).optional(),
  name: z.string().trim().min(1).max(255).optional(),
  collectionId: z
    .uuid()
    .transform((v) => v.toLowerCase())
    .optional(),
});
const ExportQuery = z.strictObject({ format: z.enum(EXPORT_FORMATS) });

const FORMAT_ALIASES: Record<string, ImportFormat> = { md: 'markdown', markdown: 'markdown', html: 'html', htm: 'html', docx: 'docx', word: 'docx' };

/** The import's format: `?format=`, else the Content-Type, else the file name's extension; 415 when none names one Quire reads. */
function importFormat(format: string | undefined, contentType: string | undefined, name: string | undefined): ImportFormat {
  const unsupported = (what: string) => new AppError(415, 'unsupported_media_type', `${what}; Quire imports ${IMPORT_FORMATS.join(', ')} (.md, .html, .docx)`);
  if (format !== undefined) {
    const f = FORMAT_ALIASES[format];
    if (!f) throw unsupported(`"${format}" is not a format Quire imports`);
    return f;
  }
  const f = importFormatOfType(contentType) ?? importFormatOfName(name);
  if (!f) throw unsupported('Say the format with ?format=, the Content-Type or ?name= with the file name');
  return f;
}

export function importExportRoutes(ctx: RouteContext): void {
  const { edge, svc } = ctx;
  edge.route(
    'post',
    '/api/v1/documents/import',
    async (req) => {
      const p = await authenticate(ctx, req);
      const q = readQuery(req, ImportQuery);
      const format = importFormat(q.format, req.headers['content-type'], q.name);
      const body = req.body;
      if (!body || body.length === 0) throw badRequest('import_failed', 'Send the file as the request body');
      const meta = await importDocument(svc, p, req.ip, {
        format,
        bytes: new Uint8Array(body.buffer, body.byteOffset, body.byteLength),
        ...(q.title ? { title: q.title } : {}),
        ...(q.name ? { name: q.name } : {}),
        ...(q.collectionId ? { collectionId: q.collectionId } : {}),
      });
      return { status: 201, json: meta };
    },
    {
      maxBodyBytes: MAX_IMPORT_BYTES,
      doc: {
        tag: 'Import and export',
        summary: 'Import a Markdown, HTML or Word file as a new document',
        description: 'The file is the body (at most 20 MB). Its format comes from `format`, else the Content-Type, else the extension of `name`.',
        auth: 'bearer',
        query: ImportQuery,
        rawBody: [{ contentType: 'text/markdown' }, { contentType: 'text/html' }, { contentType: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document' }],
        status: 201,
        response: 'DocumentMeta',
      },
    },
  );
  edge.route(
    'get',
    '/api/v1/documents/:id/export',
    async (req) => {
      const p = await authenticate(ctx, req);
      const id = pathId(req, 'id', 'document');
      const { format } = readQuery(req, ExportQuery);
      const out = await exportDocument(svc, p, req.ip, { id, format });
      return {
        status: 200,
        bytes: out.bytes,
        headers: {
          'content-type': out.contentType,
          'content-disposition': out.disposition,
          'cache-control': 'private, no-store',
          // A page opened from the download runs nothing and loads nothing but images.
          ...(format === 'html' ? { 'content-security-policy': "default-src 'none'; img-src data: https:; style-src 'unsafe-inline'; sandbox" } : {}),
        },
      };
    },
    {
      doc: {
        tag: 'Import and export',
        summary: 'Export a document as Markdown, HTML, Word or PDF',
        description: 'A download (`Content-Disposition: attachment`).',
        auth: 'bearer',
        params: { id: 'The document' },
        query: ExportQuery,
        status: 200,
        response: [
          { contentType: 'text/markdown' },
          { contentType: 'text/html' },
          { contentType: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document' },
          { contentType: 'application/pdf' },
        ],
      },
    },
  );
}
