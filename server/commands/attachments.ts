/**
 * Files of documents: starting, finishing and checking uploads, small uploads in one
 * request, listing, reading, and the workspace's storage use.
 *
 * Access follows the document: uploading needs write access, reading needs read access,
 * checked on every request (a revoked user's next download is refused). Quota: a
 * workspace's files (ready, and uploads in flight at their declared length) may take
 * `tenants.storage_quota_bytes` or the deployment's `WORKSPACE_STORAGE_QUOTA_BYTES`; the
 * check and the insert run under a lock on the tenant row, so two uploads racing for the
 * last bytes cannot both pass.
 */
import crypto from 'node:crypto';
import type { Readable } from 'node:stream';
import type { Attachment, AttachmentList, WorkspaceStorage } from '../../contract/api.js';
import { humanSize } from '../../contract/sizes.js';
import { loadActor, isTenantAdmin } from '../../core/actor.js';
import { requireLevel } from '../../core/access.js';
import { classify, cleanFileName, extractable, normaliseType } from '../../core/file-types.js';
import type { Principal } from '../../core/tokens.js';
import type { AttachmentsTable } from '../../db/schema.js';
import { sql } from 'kysely';
import { withTenant, type Tx } from '../../db/store.js';
import { AppError, forbidden, notFound } from '../../lib/errors.js';
import type { ByteRange } from '../../lib/storage/blob-store.js';
import type { Services } from '../services.js';
import { audit } from './audit.js';
import { feedEvent } from './feed.js';
import { publicLinkTarget } from './public-links.js';

type Row = Pick<AttachmentsTable, 'id' | 'document_id' | 'name' | 'content_type' | 'kind' | 'storage_key' | 'created_by'> & {
  extraction_status: 'none' | 'pending' | 'done' | 'failed';
  size: string | number;
  status: 'uploading' | 'ready';
  created_at: Date | string;
};
const COLUMNS = ['id', 'document_id', 'name', 'content_type', 'kind', 'size', 'status', 'created_at', 'created_by', 'storage_key', 'extraction_status'] as const;

/** Where an attachment's bytes live in the blob store. */
export const storageKeyOf = (tenantId: string, id: string) => `t/${tenantId}/a/${id}`;

export function present(r: Row): Attachment {
  return {
    id: r.id,
    documentId: r.document_id ?? '',
    name: r.name,
    contentType: r.content_type,
    kind: r.kind,
    size: Number(r.size),
    status: r.status,
    createdAt: new Date(r.created_at).toISOString(),
    createdBy: r.created_by,
    contentUrl: `/api/v1/attachments/${r.id}/content`,
    extraction: r.extraction_status,
  };
}

export const fileTooLarge = (limit: number) => new AppError(413, 'file_too_large', `A file may be at most ${humanSize(limit)}`, { limitBytes: limit });
const typeMismatch = (reason: string) => new AppError(415, 'content_type_mismatch', reason);

/** The workspace's quota and what its files take now. */
async function usage(svc: Services, tx: Tx, tenantId: string): Promise<{ used: number; quota: number }> {
  const t = await tx.selectFrom('tenants').select(['storage_quota_bytes', 'storage_used_bytes']).where('id', '=', tenantId).executeTakeFirstOrThrow();
  return { used: Number(t.storage_used_bytes), quota: t.storage_quota_bytes === null ? svc.files.workspaceQuotaBytes : Number(t.storage_quota_bytes) };
}

/**
 * Takes `size` bytes of the workspace's quota for a new attachment: one conditional update,
 * so two uploads racing for the last bytes cannot both pass (a trigger gives them back when
 * the attachment is removed).
 */
async function takeRoom(svc: Services, tx: Tx, tenantId: string, size: number): Promise<void> {
  const taken = await tx
    .updateTable('tenants')
    .set({ storage_used_bytes: sql`storage_used_bytes + ${size}` } as never)
    .where('id', '=', tenantId)
    .where(sql<boolean>`storage_used_bytes + ${size} <= coalesce(storage_quota_bytes, ${svc.files.workspaceQuotaBytes})`)
    .returning('id')
    .executeTakeFirst();
  if (!taken) {
    const { used, quota } = await usage(svc, tx, tenantId);
    throw new AppError(413, 'quota_exceeded', `This file (${humanSize(size)}) does not fit in the workspace's storage: ${humanSize(used)} of ${humanSize(quota)} are used`, {
      usedBytes: used,
      quotaBytes: quota,
      fileBytes: size,
    });
  }
}

export interface UploadStart {
  id: string;
  documentId: string;
  name: string;
  contentType: string;
  size: number;
}

/** Checks a new upload (write access, size, quota) and records it as `uploading`. */
export async function beginUpload(svc: Services, principal: Principal, ip: string | null, u: UploadStart): Promise<void> {
  if (u.size > svc.files.maxUploadBytes) throw fileTooLarge(svc.files.maxUploadBytes);
  await withTenant(svc.store.db, principal.tenantId, async (tx) => {
    const actor = await loadActor(tx, principal, ip);
    await requireLevel(tx, actor, u.documentId, 'write');
    await takeRoom(svc, tx, actor.tenantId, u.size);
    await tx
      .insertInto('attachments')
      .values({
        id: u.id,
        tenant_id: actor.tenantId,
        document_id: u.documentId,
        created_by: actor.userId,
        name: cleanFileName(u.name),
        content_type: normaliseType(u.contentType),
        kind: 'file',
        size: u.size,
        storage_key: storageKeyOf(actor.tenantId, u.id),
      })
      .execute();
  });
}

/** The caller's unfinished upload `id`, checked again on every piece: their own, and they may still write the document. */
export async function checkUpload(svc: Services, principal: Principal, ip: string | null, id: string): Promise<Row> {
  return withTenant(svc.store.db, principal.tenantId, async (tx) => {
    const row = await tx.selectFrom('attachments').select(COLUMNS).where('id', '=', id).executeTakeFirst();
    if (!row || row.created_by !== principal.userId || row.document_id === null) throw notFound('upload');
    if (row.status !== 'uploading') throw new AppError(409, 'validation_failed', 'This upload is already complete');
    await requireLevel(tx, await loadActor(tx, principal, ip), row.document_id, 'write');
    return row;
  });
}

/**
 * Makes a fully received upload an attachment: `store(target)` puts its bytes under the
 * attachment's key; a file whose bytes contradict its declared image type is removed and
 * refused (415).
 */
export async function finishUpload(svc: Services, principal: Principal, row: Row, store: (target: string) => Promise<number>): Promise<Attachment> {
  const size = await store(row.storage_key);
  const head = size === 0 ? null : await svc.blobs.get(row.storage_key, { start: 0, end: Math.min(size, 64) - 1 });
  const bytes: Buffer[] = [];
  if (head) for await (const c of head.body) bytes.push(Buffer.isBuffer(c) ? c : Buffer.from(c as Uint8Array));
  return settle(svc, principal, row, size, Buffer.concat(bytes));
}

async function settle(svc: Services, principal: Principal, row: Row, size: number, head: Uint8Array): Promise<Attachment> {
  const kind = classify(row.content_type, head);
  if (!kind.ok || size !== Number(row.size)) {
    await svc.blobs.delete([row.storage_key]);
    await withTenant(svc.store.db, principal.tenantId, (tx) => tx.deleteFrom('attachments').where('id', '=', row.id).execute());
    if (!kind.ok) throw typeMismatch(kind.reason);
    throw new AppError(400, 'upload_incomplete', `The upload stored ${size} of ${Number(row.size)} bytes`);
  }
  return withTenant(svc.store.db, principal.tenantId, async (tx) => {
    const done = await tx
      .updateTable('attachments')
      .set({
        status: 'ready',
        kind: kind.kind,
        content_type: kind.contentType,
        size,
        ready_at: new Date(),
        extraction_status: extractable(kind.contentType) ? 'pending' : 'none',
      })
      .where('id', '=', row.id)
      .returning(COLUMNS)
      .executeTakeFirst();
    // The document was purged while the last piece arrived: the collector removes the blob.
    if (!done || done.document_id === null) throw notFound('document');
    // The workers extract the text of the files that have some, and re-index the document.
    if (done.extraction_status === 'pending') await feedEvent(tx, principal.tenantId, done.document_id, 'document.attachment', done.id);
    return present(done);
  });
}

/** A file uploaded in one request (small files, imports, integrations). */
export async function addAttachment(svc: Services, principal: Principal, ip: string | null, file: { documentId: string; name: string; contentType: string; bytes: Uint8Array }): Promise<Attachment> {
  if (file.bytes.byteLength > svc.files.maxUploadBytes) throw fileTooLarge(svc.files.maxUploadBytes);
  const kind = classify(file.contentType, file.bytes.subarray(0, 64));
  if (!kind.ok) throw typeMismatch(kind.reason);
  const id = crypto.randomUUID();
  const row = await withTenant(svc.store.db, principal.tenantId, async (tx) => {
    const actor = await loadActor(tx, principal, ip);
    await requireLevel(tx, actor, file.documentId, 'write');
    await takeRoom(svc, tx, actor.tenantId, file.bytes.byteLength);
    return tx
      .insertInto('attachments')
      .values({
        id,
        tenant_id: actor.tenantId,
        document_id: file.documentId,
        created_by: actor.userId,
        name: cleanFileName(file.name),
        content_type: normaliseType(file.contentType),
        kind: 'file',
        size: file.bytes.byteLength,
        storage_key: storageKeyOf(actor.tenantId, id),
      })
      .returning(COLUMNS)
      .executeTakeFirstOrThrow();
  });
  try {
    await svc.blobs.put(row.storage_key, file.bytes, { contentType: kind.contentType });
  } catch (err) {
    await withTenant(svc.store.db, principal.tenantId, (tx) => tx.deleteFrom('attachments').where('id', '=', id).execute());
    throw err;
  }
  return settle(svc, principal, row, file.bytes.byteLength, file.bytes.subarray(0, 64));
}

/** Removes an unfinished upload of the caller (tus termination). */
export async function abandonUpload(svc: Services, principal: Principal, id: string): Promise<void> {
  await withTenant(svc.store.db, principal.tenantId, (tx) => tx.deleteFrom('attachments').where('id', '=', id).where('status', '=', 'uploading').execute());
}

export async function listAttachments(svc: Services, principal: Principal, ip: string | null, props: { documentId: string }): Promise<AttachmentList> {
  return withTenant(svc.store.db, principal.tenantId, async (tx) => {
    await requireLevel(tx, await loadActor(tx, principal, ip), props.documentId, 'read');
    const rows = await tx.selectFrom('attachments').select(COLUMNS).where('document_id', '=', props.documentId).where('status', '=', 'ready').orderBy('created_at', 'desc').orderBy('id').execute();
    return { attachments: rows.map(present) };
  });
}

/** A ready attachment the caller may read (its document readable): 404 otherwise, the same for missing and forbidden. */
async function readable(svc: Services, principal: Principal, ip: string | null, id: string): Promise<Row> {
  return withTenant(svc.store.db, principal.tenantId, async (tx) => {
    const row = await tx.selectFrom('attachments').select(COLUMNS).where('id', '=', id).where('status', '=', 'ready').executeTakeFirst();
    if (!row || row.document_id === null) throw notFound('attachment');
    try {
      await requireLevel(tx, await loadActor(tx, principal, ip), row.document_id, 'read');
    } catch (err) {
      if (err instanceof AppError && err.status === 404) throw notFound('attachment');
      throw err;
    }
    return row;
  });
}

export async function getAttachment(svc: Services, principal: Principal, ip: string | null, props: { id: string }): Promise<Attachment> {
  return present(await readable(svc, principal, ip, props.id));
}

/** An attachment the caller may read, and a way to read its bytes (or a range of them), for a download. */
export async function openAttachment(
  svc: Services,
  principal: Principal,
  ip: string | null,
  props: { id: string },
): Promise<{ attachment: Attachment; open: (range?: ByteRange) => Promise<{ body: Readable; size: number }> }> {
  const row = await readable(svc, principal, ip, props.id);
  return { attachment: present(row), open: opener(svc, row) };
}

function opener(svc: Services, row: Row): (range?: ByteRange) => Promise<{ body: Readable; size: number }> {
  return async (range) => {
    const got = await svc.blobs.get(row.storage_key, range);
    if (!got) {
      svc.log.error({ cat: 'files', attachmentId: row.id }, 'an attachment has no bytes in the blob store');
      throw notFound('attachment');
    }
    return got;
  };
}

/**
 * A file of the document a public link opens (its images and cards on the public page):
 * the same 404 for a file of another document as for one that does not exist.
 */
export async function openPublicAttachment(
  svc: Services,
  props: { token: string; id: string },
): Promise<{ attachment: Attachment; open: (range?: ByteRange) => Promise<{ body: Readable; size: number }> }> {
  const { tenantId, link } = await publicLinkTarget(svc, props.token);
  const row = await withTenant(svc.store.db, tenantId, (tx) =>
    tx.selectFrom('attachments').select(COLUMNS).where('id', '=', props.id).where('document_id', '=', link.id).where('status', '=', 'ready').executeTakeFirst(),
  );
  if (!row) throw notFound('attachment');
  return { attachment: present(row), open: opener(svc, row) };
}

/** An attachment's bytes for server code that has checked access to its document itself (export, extraction). */
export async function readAttachmentBytes(svc: Services, tenantId: string, id: string): Promise<{ attachment: Attachment; bytes: Buffer } | null> {
  const row = await withTenant(svc.store.db, tenantId, (tx) => tx.selectFrom('attachments').select(COLUMNS).where('id', '=', id).where('status', '=', 'ready').executeTakeFirst());
  if (!row) return null;
  const got = await svc.blobs.get(row.storage_key);
  if (!got) return null;
  const chunks: Buffer[] = [];
  for await (const c of got.body) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(c as Uint8Array));
  return { attachment: present(row), bytes: Buffer.concat(chunks) };
}

export async function workspaceStorage(svc: Services, principal: Principal): Promise<WorkspaceStorage> {
  return withTenant(svc.store.db, principal.tenantId, async (tx) => {
    const { used, quota } = await usage(svc, tx, principal.tenantId);
    return { usedBytes: used, quotaBytes: quota, maxFileBytes: svc.files.maxUploadBytes };
  });
}

/** Gives the workspace its own quota (`null`: the deployment's default again). Admins only. */
export async function setWorkspaceQuota(svc: Services, principal: Principal, ip: string | null, props: { quotaBytes: number | null }): Promise<WorkspaceStorage> {
  await withTenant(svc.store.db, principal.tenantId, async (tx) => {
    const actor = await loadActor(tx, principal, ip);
    if (!isTenantAdmin(actor.role)) throw forbidden('Only workspace admins change the storage quota');
    await tx.updateTable('tenants').set({ storage_quota_bytes: props.quotaBytes }).where('id', '=', actor.tenantId).execute();
    await audit(tx, {
      tenantId: actor.tenantId,
      actorId: actor.userId,
      action: 'workspace.storage_quota',
      targetType: 'workspace',
      targetId: actor.tenantId,
      ip,
      detail: { quotaBytes: props.quotaBytes },
    });
  });
  return workspaceStorage(svc, principal);
}
