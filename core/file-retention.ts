/**
 * The file collector, run by the worker's retention job: removes the bytes nobody can reach
 * any more, and never the bytes of a file that the document or any of its versions shows.
 *
 * - A file whose document was purged is removed.
 * - An upload that never finished within `UPLOAD_EXPIRY_HOURS` is removed with its pieces.
 * - A ready file is looked at about once a day (`recheckMs`): if neither the document's
 *   current content nor any of its versions refers to it, it is marked unreferenced; once it
 *   has stayed unreferenced for `orphanDays` (at least the history retention, so a file
 *   leaves only after the last version showing it has expired), it is removed. A reference
 *   found again (an undo, a restored version) clears the mark. The current content is read
 *   once more just before a removal.
 *
 * Removing a file's bytes comes before removing its row, so a failure leaves a row to try
 * again rather than bytes nobody knows about. A removed file's document gets a
 * `document.attachment` event, so the index forgets its text.
 */
import { sql } from 'kysely';
import { withTenant, type AppDb } from '../db/store.js';
import type { Logger } from '../lib/log.js';
import type { BlobStore } from '../lib/storage/blob-store.js';
import { attachmentRefs } from './attachment-refs.js';
import type { DocumentStore } from './document-store.js';
import type { VersionStore } from './history.js';

const DAY_MS = 86_400_000;

export interface CollectFilesOptions {
  now: Date;
  /** A file no version or content refers to for this many days is removed. */
  orphanDays: number;
  /** Unfinished uploads older than this are removed. */
  uploadExpiryHours: number;
  /** How long a looked-at file waits before it is looked at again. @default 1 day */
  recheckMs?: number;
  /** Files looked at in one run. @default 200 */
  limit?: number;
  shouldStop?: () => boolean;
  log: Logger;
}

export interface CollectFilesRun {
  /** Files whose bytes were removed. */
  removed: string[];
  /** Files looked at and kept (referenced, or not unreferenced for long enough). */
  kept: number;
  more: boolean;
}

interface Due {
  tenant_id: string;
  attachment_id: string;
  document_id: string | null;
  status: 'uploading' | 'ready';
}

async function referencedIn(docs: DocumentStore, versions: VersionStore, tenantId: string, documentId: string, withVersions: boolean): Promise<Set<string>> {
  const refs = new Set<string>();
  const { doc } = await docs.loadInto(tenantId, documentId);
  attachmentRefs(doc, refs);
  doc.destroy();
  if (!withVersions) return refs;
  let before: number | undefined;
  for (;;) {
    const page = await versions.list(tenantId, documentId, { beforeSeq: before, limit: 50 });
    for (const v of page) {
      const read = await versions.read(tenantId, documentId, v.id);
      if (!read) continue;
      attachmentRefs(read.doc, refs);
      read.doc.destroy();
    }
    if (page.length < 50) return refs;
    before = page[page.length - 1]!.seq;
  }
}

export async function collectFiles(db: AppDb, blobs: BlobStore, docs: DocumentStore, versions: VersionStore, opts: CollectFilesOptions): Promise<CollectFilesRun> {
  const limit = opts.limit ?? 200;
  const now = opts.now.getTime();
  const checkedBefore = new Date(now - (opts.recheckMs ?? DAY_MS));
  const staleUploads = new Date(now - opts.uploadExpiryHours * 3_600_000);
  const orphanCutoff = new Date(now - opts.orphanDays * DAY_MS);
  const due = (
    await sql<Due>`select tenant_id, attachment_id, document_id, status from quire_attachments_due(${checkedBefore.toISOString()}::timestamptz, ${staleUploads.toISOString()}::timestamptz, ${limit}::int)`.execute(
      db,
    )
  ).rows;
  const run: CollectFilesRun = { removed: [], kept: 0, more: due.length === limit };

  const remove = async (tenantId: string, id: string, documentId: string | null) => {
    const row = await withTenant(db, tenantId, (tx) => tx.selectFrom('attachments').select('storage_key').where('id', '=', id).executeTakeFirst());
    if (!row) return;
    const pieces: string[] = [];
    for await (const b of blobs.list(`uploads/${id}/`)) pieces.push(b.key);
    await blobs.delete([row.storage_key, ...pieces]);
    await withTenant(db, tenantId, async (tx) => {
      await tx.deleteFrom('attachments').where('id', '=', id).execute();
      if (documentId) {
        const live = await tx.selectFrom('documents').select('id').where('id', '=', documentId).executeTakeFirst();
        if (live) await tx.insertInto('document_events').values({ tenant_id: tenantId, document_id: documentId, type: 'document.attachment', subject_id: id }).execute();
      }
    });
    run.removed.push(id);
  };

  // Purged documents' files and abandoned uploads go at once.
  for (const d of due) {
    if (opts.shouldStop?.()) return { ...run, more: true };
    if (d.document_id === null || d.status === 'uploading') await remove(d.tenant_id, d.attachment_id, d.document_id);
  }

  // Ready files, a document at a time.
  const byDocument = new Map<string, Due[]>();
  for (const d of due) {
    if (d.document_id === null || d.status !== 'ready') continue;
    const key = `${d.tenant_id}/${d.document_id}`;
    byDocument.set(key, [...(byDocument.get(key) ?? []), d]);
  }
  for (const files of byDocument.values()) {
    if (opts.shouldStop?.()) return { ...run, more: true };
    const { tenant_id: tenantId, document_id: documentId } = files[0]!;
    try {
      const refs = await referencedIn(docs, versions, tenantId, documentId!, true);
      const rows = await withTenant(db, tenantId, (tx) =>
        tx
          .selectFrom('attachments')
          .select(['id', 'unreferenced_since'])
          .where(
            'id',
            'in',
            files.map((f) => f.attachment_id),
          )
          .execute(),
      );
      const expired = rows.filter((r) => !refs.has(r.id) && r.unreferenced_since !== null && new Date(r.unreferenced_since) < orphanCutoff).map((r) => r.id);
      // The content is read again just before removing: a file put back meanwhile stays.
      const again = expired.length > 0 ? await referencedIn(docs, versions, tenantId, documentId!, false) : new Set<string>();
      for (const id of expired.filter((id) => !again.has(id))) await remove(tenantId, id, documentId);
      await withTenant(db, tenantId, async (tx) => {
        for (const r of rows) {
          if (run.removed.includes(r.id)) continue;
          const referenced = refs.has(r.id) || again.has(r.id);
          await tx
            .updateTable('attachments')
            .set({ checked_at: opts.now, unreferenced_since: referenced ? null : (r.unreferenced_since ?? opts.now) })
            .where('id', '=', r.id)
            .execute();
          run.kept++;
        }
      });
    } catch (err) {
      opts.log.warn({ cat: 'worker', documentId, err: err instanceof Error ? err.message : String(err) }, 'could not check the files of a document; tried again after the recheck period');
      // Looked at, so a document that cannot be read does not hold up the others.
      await withTenant(db, tenantId, (tx) =>
        tx
          .updateTable('attachments')
          .set({ checked_at: opts.now })
          .where(
            'id',
            'in',
            files.map((f) => f.attachment_id),
          )
          .execute(),
      ).catch(() => undefined);
    }
  }
  return run;
}
