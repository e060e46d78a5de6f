/**
 * Import a Markdown, HTML or Word file as a new document, and export a document as Markdown,
 * HTML, Word or PDF. Converting is core/convert/'s work; here are the rights, the document's
 * creation and content write, its images as attachments, and the audit log.
 */
import { MAX_TITLE_CHARS, type DocumentMeta } from '../../contract/api.js';
import { ATTACHMENT_SRC_PREFIX, attachmentIdOfSrc } from '../../contract/document-schema.js';
import { withTenant } from '../../db/store.js';
import { requireLevel } from '../../core/access.js';
import { loadActor } from '../../core/actor.js';
import { ContentTooDeepError, toProseMirrorJSON, validateProseMirror, type PMNode } from '../../core/content.js';
import { ConvertError, type ExportFormat, type ImportFormat } from '../../core/convert/index.js';
import { exportInThread, importInThread } from '../../core/convert/thread.js';
import type { Principal } from '../../core/tokens.js';
import { AppError, badRequest, isAppError, notFound } from '../../lib/errors.js';
import type { Services } from '../services.js';
import { addAttachment, readAttachmentBytes } from './attachments.js';
import { audit } from './audit.js';
import { busyOr, contentService } from './content.js';
import { createDocument, deleteDocument } from './documents.js';

/** Largest file an import reads (the request body limit of `POST /api/v1/documents/import`). */
export const MAX_IMPORT_BYTES = 20 * 1024 * 1024;
/** Most images one import stores as attachments. */
export const MAX_IMPORT_IMAGES = 200;

const importFailed = (message: string) => badRequest('import_failed', message);

function titleFrom(explicit: string | undefined, found: string | null, fileName: string | undefined): string {
  const fromName = fileName
    ?.replace(/^.*[\\/]/, '')
    .replace(/\.[A-Za-z0-9]{1,8}$/, '')
    .trim();
  const title = (explicit?.trim() || found?.trim() || fromName || 'Imported document').replace(/\s+/g, ' ');
  return [...title].slice(0, MAX_TITLE_CHARS).join('');
}

function rewriteImages(n: PMNode, ids: Map<string, string>): PMNode {
  if (n.type === 'image') {
    const id = attachmentIdOfSrc(n.attrs?.src);
    const real = id ? ids.get(id) : undefined;
    if (real) return { ...n, attrs: { ...n.attrs, src: `${ATTACHMENT_SRC_PREFIX}${real}` } };
  }
  return n.content ? { ...n, content: n.content.map((c) => rewriteImages(c, ids)) } : n;
}

/**
 * Creates a document from a file: converts it first (a file that does not convert creates
 * nothing), then creates the document (the same rights as creating one: guests cannot),
 * stores its embedded images as the document's attachments and writes the content. When a
 * step after the creation fails, the document goes to the trash and the error is answered.
 */
export async function importDocument(
  svc: Services,
  principal: Principal,
  ip: string | null,
  props: { format: ImportFormat; bytes: Uint8Array; title?: string; name?: string; collectionId?: string },
): Promise<DocumentMeta> {
  const content = contentService(svc);
  await withTenant(svc.store.db, principal.tenantId, async (tx) => {
    const actor = await loadActor(tx, principal, ip);
    if (actor.role === 'guest') throw badRequest('guest_cannot_create', 'Guests cannot create documents');
  });
  // Converted in the conversion thread; images come back under stand-in ids until the document exists to hold them.
  let converted: Awaited<ReturnType<typeof importInThread>>;
  try {
    converted = await importInThread(props.format, props.bytes);
  } catch (e) {
    if (e instanceof ConvertError) throw importFailed(e.message);
    svc.log.warn({ err: e, format: props.format, bytes: props.bytes.byteLength }, 'import could not convert the file');
    throw importFailed(`The ${props.format} file could not be read`);
  }
  if (converted.images.length > MAX_IMPORT_IMAGES) throw importFailed(`The file has more than ${MAX_IMPORT_IMAGES} images`);
  const problem = validateProseMirror(converted.doc);
  if (problem) throw importFailed(`The file's structure cannot be a document: ${problem}`);
  const meta = await createDocument(svc, principal, ip, { title: titleFrom(props.title, converted.title, props.name), ...(props.collectionId ? { collectionId: props.collectionId } : {}) });
  try {
    const ids = new Map<string, string>();
    for (const img of converted.images) {
      const att = await addAttachment(svc, principal, ip, { documentId: meta.id, name: img.name, contentType: img.contentType, bytes: img.bytes });
      ids.set(img.id, att.id);
    }
    const doc = rewriteImages(converted.doc, ids);
    await content.write({ tenantId: principal.tenantId, userId: principal.userId }, meta.id, { json: doc }, 'replace').catch((e: unknown) => {
      throw busyOr(e);
    });
    await withTenant(svc.store.db, principal.tenantId, (tx) =>
      audit(tx, {
        tenantId: principal.tenantId,
        actorId: principal.userId,
        action: 'document.import',
        targetType: 'document',
        targetId: meta.id,
        ip,
        detail: { format: props.format, bytes: props.bytes.byteLength, images: converted.images.length },
      }),
    );
  } catch (e) {
    await deleteDocument(svc, principal, ip, { id: meta.id }).catch(() => undefined);
    throw e;
  }
  return meta;
}

/** A file name for `title` with `extension`: the title's letters, digits and safe marks. */
export function exportFileName(title: string, extension: string): { ascii: string; utf8: string } {
  const base =
    [...title]
      .map((c) => (c.charCodeAt(0) < 0x20 || c === '\u007f' || '/\\:*?"<>|'.includes(c) ? ' ' : c))
      .join('')
      .replace(/\s+/g, ' ')
      .trim()
      .slice(0, 120)
      .replace(/[\uD800-\uDBFF]$/, '') || 'document';
  const ascii = base.replace(/[^\x20-\x7e]/g, '_').replace(/[%;,]/g, '_');
  return { ascii: `${ascii}.${extension}`, utf8: `${base}.${extension}` };
}

/** `attachment; filename="…"; filename*=UTF-8''…` for a download named `title`. */
export function contentDisposition(title: string, extension: string): string {
  const name = exportFileName(title, extension);
  // RFC 5987: `'`, `(`, `)` and `*` are not attr-chars either.
  const encoded = encodeURIComponent(name.utf8).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `attachment; filename="${name.ascii}"; filename*=UTF-8''${encoded}`;
}

/**
 * A document as a file: needs read permission (a document the caller cannot read is 404,
 * as everywhere). Images are embedded from the document's attachments, or from an
 * attachment of another document the caller can read (a copied image); any other image is
 * left out. Every export is recorded in the audit log (`document.export`).
 */
export async function exportDocument(
  svc: Services,
  principal: Principal,
  ip: string | null,
  props: { id: string; format: ExportFormat },
): Promise<{ bytes: Uint8Array; contentType: string; fileName: string; disposition: string }> {
  const content = contentService(svc);
  const title = await withTenant(svc.store.db, principal.tenantId, async (tx) => {
    const actor = await loadActor(tx, principal, ip);
    await requireLevel(tx, actor, props.id, 'read');
    const row = await tx.selectFrom('documents').select('title').where('id', '=', props.id).executeTakeFirst();
    if (!row) throw notFound('document');
    return row.title;
  });
  let json: PMNode;
  try {
    json = await content.read(principal.tenantId, props.id, (doc) => toProseMirrorJSON(doc));
  } catch (e) {
    if (e instanceof ContentTooDeepError) throw new AppError(422, e.code, e.message);
    throw busyOr(e);
  }
  const readable = new Map<string, boolean>([[props.id, true]]);
  const canRead = async (documentId: string): Promise<boolean> => {
    const known = readable.get(documentId);
    if (known !== undefined) return known;
    const ok = await withTenant(svc.store.db, principal.tenantId, async (tx) => requireLevel(tx, await loadActor(tx, principal, ip), documentId, 'read')).then(
      () => true,
      () => false,
    );
    readable.set(documentId, ok);
    return ok;
  };
  let out: { bytes: Uint8Array; contentType: string; extension: string };
  try {
    out = await exportInThread(props.format, json, title, {
      loadImage: async (attachmentId) => {
        const found = await readAttachmentBytes(svc, principal.tenantId, attachmentId);
        if (!found || !(await canRead(found.attachment.documentId))) return null;
        return { bytes: new Uint8Array(found.bytes), contentType: found.attachment.contentType };
      },
    });
  } catch (e) {
    if (isAppError(e)) throw e;
    svc.log.error({ err: e, documentId: props.id, format: props.format }, 'export failed');
    if (e instanceof ConvertError) throw new AppError(422, 'export_failed', `The document could not be written as ${props.format}: ${e.message}`);
    throw new AppError(500, 'export_failed', `The document could not be written as ${props.format}`);
  }
  await withTenant(svc.store.db, principal.tenantId, (tx) =>
    audit(tx, {
      tenantId: principal.tenantId,
      actorId: principal.userId,
      action: 'document.export',
      targetType: 'document',
      targetId: props.id,
      ip,
      detail: { format: props.format, bytes: out.bytes.byteLength },
    }),
  );
  const name = exportFileName(title, out.extension);
  return { bytes: out.bytes, contentType: out.contentType, fileName: name.utf8, disposition: contentDisposition(title, out.extension) };
}
