/**
 * Attachments in search. The indexer, before it indexes a document, extracts the text of
 * its attachments still 'pending' (bytes from the blob store, parsed in the extraction
 * process) and stores it on the attachment row ('done', or 'failed' with a short reason);
 * it then indexes the document's own text followed by the text of its extracted
 * attachments, each under its file name, so a search for a phrase of a PDF finds the
 * document it is attached to, by the document's permissions.
 *
 * Limits of what is indexed per document (the stored text of each file keeps up to
 * EXTRACT_MAX_CHARS): {@link FULLTEXT_ATTACHMENT_MAX_CHARS} characters of attachment text
 * in the full-text index, {@link SEMANTIC_ATTACHMENT_MAX_CHUNKS} passages in the vector
 * index. An attachment whose row is gone (or whose document was purged) leaves the
 * indexes at its document's next indexing.
 */
import { withTenant, type AppDb, type Tx } from '../../db/store.js';
import { readAll, type BlobStore } from '../../lib/storage/blob-store.js';
import type { Logger } from '../../lib/log.js';
import type { Extractor } from './extractor.js';
import { ExtractionError } from './formats.js';

/**
 * Characters of attachment text indexed for full-text search per document, over all its
 * attachments in upload order. Postgres refuses a tsvector over 1 MB, and its snippets
 * re-read the text at query time (about 35 ms per hit at 500,000 characters, 150 ms at
 * 2 MB), so the index takes the beginning of large files. @default 500,000
 */
export const FULLTEXT_ATTACHMENT_MAX_CHARS = 500_000;
/**
 * Passages (about 120 words each) of attachment text embedded per document for meaning
 * search: about the first 8 pages of its files. The sentence encoder takes 70–160 ms a
 * passage on one core and answers search queries too, so a large file is found by
 * meaning through its beginning (and by its words through the first
 * {@link FULLTEXT_ATTACHMENT_MAX_CHARS} characters). @default 32
 */
export const SEMANTIC_ATTACHMENT_MAX_CHUNKS = 32;
/** Characters of a failure reason stored on the attachment. */
const MAX_ERROR_CHARS = 200;

/** An attachment waiting for its text. */
export interface PendingAttachment {
  id: string;
  name: string;
  contentType: string;
  storageKey: string;
}

/** An attachment's extracted text, as the indexer adds it to its document. */
export interface AttachmentText {
  id: string;
  name: string;
  text: string;
}

/** The document's ready attachments whose text waits to be extracted. */
export async function pendingAttachments(tx: Tx, documentId: string): Promise<PendingAttachment[]> {
  const rows = await tx
    .selectFrom('attachments')
    .select(['id', 'name', 'content_type', 'storage_key'])
    .where('document_id', '=', documentId)
    .where('status', '=', 'ready')
    .where('extraction_status', '=', 'pending')
    .orderBy('created_at')
    .orderBy('id')
    .execute();
  return rows.map((r) => ({ id: r.id, name: r.name, contentType: r.content_type, storageKey: r.storage_key }));
}

/**
 * The extracted text of the document's attachments, in upload order, within
 * `maxChars` characters in all (later attachments get what earlier ones left).
 */
export async function attachmentTexts(tx: Tx, documentId: string, maxChars = FULLTEXT_ATTACHMENT_MAX_CHARS): Promise<AttachmentText[]> {
  const rows = await tx
    .selectFrom('attachments')
    .select((eb) => ['id', 'name', eb.fn<string>('substr', ['extracted_text', eb.val(1), eb.val(maxChars)]).as('text')])
    .where('document_id', '=', documentId)
    .where('status', '=', 'ready')
    .where('extraction_status', '=', 'done')
    .orderBy('created_at')
    .orderBy('id')
    .execute();
  const out: AttachmentText[] = [];
  let left = maxChars;
  for (const r of rows) {
    if (left <= 0) break;
    const text = (r.text ?? '').slice(0, left);
    left -= text.length;
    if (text.trim()) out.push({ id: r.id, name: r.name, text });
  }
  return out;
}

/** The text full-text search indexes for a document: its own text, then each attachment's name and text. */
export function withAttachmentText(text: string, attachments: AttachmentText[]): string {
  if (attachments.length === 0) return text;
  return [text, ...attachments.map((a) => `${a.name}\n${a.text}`)].join('\n\n');
}

/**
 * Extracts and stores the text of `pending` (one after another). A file that cannot be
 * read ends 'failed' with the reason; a blob store that does not answer throws (the event
 * is delivered again). A row another worker settled meanwhile is left as it is.
 */
export async function extractPending(opts: { db: AppDb; blobs: BlobStore; extractor: Extractor; log: Logger; tenantId: string }, pending: PendingAttachment[]): Promise<void> {
  for (const a of pending) {
    const started = performance.now();
    const bytes = await readAll(opts.blobs, a.storageKey);
    let outcome: { extraction_status: 'done'; extracted_text: string; extraction_error: null } | { extraction_status: 'failed'; extracted_text: null; extraction_error: string };
    if (!bytes) {
      outcome = { extraction_status: 'failed', extracted_text: null, extraction_error: 'the file is missing from storage' };
    } else {
      try {
        const got = await opts.extractor.extract(bytes, a.contentType);
        outcome = { extraction_status: 'done', extracted_text: got.text, extraction_error: null };
        opts.log.debug(
          { cat: 'worker', attachment: a.id, bytes: bytes.byteLength, chars: got.text.length, pages: got.pages, truncated: got.truncated, ms: Math.round(performance.now() - started) },
          'attachment text extracted',
        );
      } catch (e) {
        if (!(e instanceof ExtractionError)) throw e;
        outcome = { extraction_status: 'failed', extracted_text: null, extraction_error: e.message.slice(0, MAX_ERROR_CHARS) };
        opts.log.info({ cat: 'worker', attachment: a.id, contentType: a.contentType, reason: e.message }, 'attachment text not extracted');
      }
    }
    await withTenant(opts.db, opts.tenantId, (tx) =>
      tx
        .updateTable('attachments')
        .set({ ...outcome, extracted_at: new Date() })
        .where('id', '=', a.id)
        .where('extraction_status', '=', 'pending')
        .execute(),
    );
  }
}

/** Splits a block of more than `maxWords` words into pieces of `maxWords` (a file's paragraph may be a whole page). */
function splitLong(block: string, maxWords: number): string[] {
  const words = block.trim().split(/\s+/);
  if (words.length <= maxWords) return [block];
  const out: string[] = [];
  for (let i = 0; i < words.length; i += maxWords) out.push(words.slice(i, i + maxWords).join(' '));
  return out;
}

/**
 * The passages of the attachments for meaning search: each file's name and lines,
 * chunked like a document (chunkBlocks), at most `maxChunks` in all.
 */
export function attachmentChunks(attachments: AttachmentText[], chunk: (blocks: string[]) => string[], maxChunks = SEMANTIC_ATTACHMENT_MAX_CHUNKS, maxWords = 120): string[] {
  const out: string[] = [];
  for (const a of attachments) {
    if (out.length >= maxChunks) break;
    const blocks = [a.name, ...a.text.split('\n').flatMap((line) => splitLong(line, maxWords))];
    out.push(...chunk(blocks).slice(0, maxChunks - out.length));
  }
  return out;
}
