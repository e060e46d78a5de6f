/**
 * The indexing worker: for each feed event, read the document's current title, text and
 * readers and bring the full-text index (and, when configured, the vector index) up to
 * date. Idempotent: each index records the feed horizon it last indexed at, and an event
 * whose transaction is below it is already covered. Unchanged content is not re-sent.
 * A document is indexed with the text of its attachments: those still waiting for
 * extraction are extracted first (ml-workers/extract/attachments.ts).
 *
 * Tracing on: every write to an index is a span (`index.upsert`, `index.remove`,
 * `vectors.replace`, `vectors.remove`) under the consumer's span for the event.
 */
import crypto from 'node:crypto';
import { sql } from 'kysely';

import { withTenant, type AppDb } from '../db/store.js';
import { extractText } from '../core/content.js';
import type { DocumentStore } from '../core/document-store.js';
import type { Logger } from '../lib/log.js';
import { inSpan, SpanKind } from '../lib/tracing.js';
import type { FeedEvent } from '../contract/feed.js';
import { MEMBER_READER, type FullTextIndex } from './search/fulltext.js';
import { chunkBlocks, type ChunkVector, type VectorIndex } from './search/vectors.js';
import type { Embedder } from './embeddings/embedder.js';
import type { ClassifierModel } from './classifier/model.js';
import { labelDocument } from './classifier/document-labels.js';
import { ModelCache } from './classifier/model-cache.js';
import type { BlobStore } from '../lib/storage/blob-store.js';
import { Extractor } from './extract/extractor.js';
import { attachmentChunks, attachmentTexts, extractPending, pendingAttachments, withAttachmentText, type AttachmentText } from './extract/attachments.js';

export interface SemanticOptions {
  embedder: Embedder;
  vectors: VectorIndex;
  /** The default document classifier (labels stored per document version). */
  classifier?: { model: ClassifierModel; name: string };
}

export interface IndexerOptions {
  db: AppDb;
  store: DocumentStore;
  fulltext: FullTextIndex;
  log: Logger;
  semantic?: SemanticOptions;
  /** Where attachments' bytes are read for text extraction. Without it, attachments waiting for extraction keep waiting. */
  blobs?: BlobStore;
  /** Extracts attachments' text. @default an {@link Extractor} of the indexer's own (stopped by {@link Indexer.close}) */
  extractor?: Extractor;
}

/** Attachment passages embedded per request to the sentence encoder. @default 16 */
export const ATTACHMENT_EMBED_BATCH = 16;

const sha256 = (s: string) => crypto.createHash('sha256').update(s).digest('hex');

/** L2-normalised mean of vectors (a document's embedding from its chunks). */
export function meanVector(vectors: Float32Array[]): Float32Array | null {
  const first = vectors[0];
  if (!first) return null;
  const out = new Float32Array(first.length);
  for (const v of vectors) for (let i = 0; i < v.length; i++) out[i]! += v[i]!;
  let norm = 0;
  for (const x of out) norm += x * x;
  norm = Math.sqrt(norm) || 1;
  for (let i = 0; i < out.length; i++) out[i]! /= norm;
  return out;
}

export class Indexer {
  /** Per-document queue: events for one document are handled one after another. */
  private readonly queues = new Map<string, Promise<unknown>>();
  /** Parsed workspace classifier models, for document labels. */
  private readonly models = new ModelCache();
  private ownExtractor: Extractor | null = null;

  constructor(private readonly opts: IndexerOptions) {}

  /** Stops the extraction process the indexer started (handlers in flight should have finished). */
  async close(): Promise<void> {
    await this.ownExtractor?.close();
    this.ownExtractor = null;
  }

  private extractor(): Extractor {
    if (this.opts.extractor) return this.opts.extractor;
    this.ownExtractor ??= new Extractor();
    return this.ownExtractor;
  }

  /**
   * Handles one event. Events about the same document are serialised in this process so
   * an older view never overwrites a newer one (the horizon check then skips the older).
   */
  async handle(ev: FeedEvent): Promise<'indexed' | 'removed' | 'unchanged' | 'skipped'> {
    const prev = this.queues.get(ev.documentId) ?? Promise.resolve();
    const run = prev.catch(() => undefined).then(() => this.handleNow(ev, false, 0));
    this.queues.set(ev.documentId, run);
    try {
      const outcome = await run;
      this.opts.log.debug({ cat: 'worker', doc: ev.documentId, event: ev.type, outcome }, 'index run');
      return outcome;
    } finally {
      if (this.queues.get(ev.documentId) === run) this.queues.delete(ev.documentId);
    }
  }

  /**
   * Indexes a document again from its current state, whatever its indexes say they hold
   * (`quire search reindex`): the horizon and content-hash checks are skipped, so a wiped or
   * rebuilt index gets every document back. A deleted document is removed.
   */
  async reindex(tenantId: string, documentId: string): Promise<'indexed' | 'removed' | 'unchanged' | 'skipped'> {
    const ev: FeedEvent = { type: 'document.changed', tenantId, documentId, txid: '0', seq: '0', at: new Date().toISOString() };
    const prev = this.queues.get(documentId) ?? Promise.resolve();
    const run = prev.catch(() => undefined).then(() => this.handleNow(ev, true, 0));
    this.queues.set(documentId, run);
    try {
      return await run;
    } finally {
      if (this.queues.get(documentId) === run) this.queues.delete(documentId);
    }
  }

  private async handleNow(ev: FeedEvent, force: boolean, attempt: number, extracted = false): Promise<'indexed' | 'removed' | 'unchanged' | 'skipped'> {
    const { db, store, fulltext } = this.opts;
    const indexName = `fulltext:${fulltext.name}`;
    const snapshot = await withTenant(db, ev.tenantId, async (tx) => {
      const horizon = (await sql<{ h: string }>`select pg_snapshot_xmin(pg_current_snapshot())::text as h`.execute(tx)).rows[0]!.h;
      const doc = await tx.selectFrom('documents').select(['title', 'deleted_at', 'kind']).where('id', '=', ev.documentId).executeTakeFirst();
      const grants = await tx.selectFrom('document_permissions').select('user_id').where('document_id', '=', ev.documentId).orderBy('user_id').execute();
      // A template is read by every member who is not a guest (core/access.ts).
      const readers = [...grants.map((r) => r.user_id), ...(doc?.kind === 'template' ? [MEMBER_READER] : [])];
      // The workspace's label models are part of what was indexed: a new version relabels.
      const labelModels = await tx.selectFrom('classifiers').select(['id', 'updated_at']).where('active', '=', true).where('model', 'is not', null).orderBy('id').execute();
      const state = await tx
        .selectFrom('index_state')
        .select([sql<string>`horizon::text`.as('horizon'), 'content_hash'])
        .where('document_id', '=', ev.documentId)
        .where('index_name', '=', indexName)
        .executeTakeFirst();
      const covered = state ? (await sql<{ c: boolean }>`select ${ev.txid}::xid8 < ${state.horizon}::xid8 as c`.execute(tx)).rows[0]!.c : false;
      const live = doc && !doc.deleted_at;
      const pending = live && this.opts.blobs && !extracted ? await pendingAttachments(tx, ev.documentId) : [];
      const attachments = live ? await attachmentTexts(tx, ev.documentId) : [];
      return { horizon, doc, readers, labelModels: labelModels.map((m) => `${m.id}@${m.updated_at.toISOString()}`), state, covered, pending, attachments };
    });
    if (snapshot.pending.length > 0) {
      // Whatever the event, a document's waiting attachments are extracted before it is
      // indexed; then it is indexed from a fresh view that holds their text.
      await extractPending({ db, blobs: this.opts.blobs!, extractor: this.extractor(), log: this.opts.log, tenantId: ev.tenantId }, snapshot.pending);
      return this.handleNow(ev, true, attempt, true);
    }
    if (snapshot.covered && !force) return 'skipped';
    const indexSpan = (op: string, engine: string) => ({
      kind: SpanKind.CLIENT,
      attributes: () => ({ 'quire.index.engine': engine, 'quire.index.operation': op, 'quire.document_id': ev.documentId }),
    });
    if (!snapshot.doc || snapshot.doc.deleted_at) {
      await inSpan('index.remove', indexSpan('remove', fulltext.name), () => fulltext.remove(ev.tenantId, ev.documentId));
      const vectors = this.opts.semantic?.vectors;
      if (vectors) await inSpan('vectors.remove', indexSpan('remove', 'vectors'), () => vectors.remove(ev.tenantId, ev.documentId));
      if (snapshot.doc) {
        await withTenant(db, ev.tenantId, (tx) => tx.deleteFrom('index_state').where('document_id', '=', ev.documentId).execute());
      }
      return 'removed';
    }
    // Content read after the horizon: it includes every transaction below it.
    const { doc: ydoc } = await store.loadInto(ev.tenantId, ev.documentId);
    const text = extractText(ydoc);
    ydoc.destroy();
    const attached = snapshot.attachments.map((a) => [a.id, a.name, sha256(a.text)]);
    const hash = sha256(JSON.stringify([snapshot.doc.title, text, snapshot.readers, snapshot.labelModels, ...(attached.length ? [attached] : [])]));
    const changed = force || snapshot.state?.content_hash !== hash;
    if (changed) {
      const labels = this.opts.semantic
        ? await this.semantic(ev, snapshot.doc.title, text, snapshot.attachments, snapshot.readers, snapshot.horizon)
        : await labelDocument({
            db,
            tenantId: ev.tenantId,
            documentId: ev.documentId,
            title: snapshot.doc.title,
            text,
            vector: null,
            embedderModel: null,
            version: snapshot.horizon,
            cache: this.models,
          });
      const indexed = withAttachmentText(text, snapshot.attachments);
      const title = snapshot.doc.title;
      await inSpan('index.upsert', indexSpan('upsert', fulltext.name), () =>
        fulltext.upsert({ tenantId: ev.tenantId, documentId: ev.documentId, title, text: indexed, labels, readers: snapshot.readers }),
      );
    }
    // The state only moves forward. If another worker recorded a newer view meanwhile, our
    // index writes may have landed after its own: index again from the current state.
    const recorded = await withTenant(db, ev.tenantId, (tx) =>
      tx
        .insertInto('index_state')
        .values({ document_id: ev.documentId, tenant_id: ev.tenantId, index_name: indexName, horizon: snapshot.horizon, content_hash: hash })
        .onConflict((oc) =>
          oc
            .columns(['document_id', 'index_name'])
            .doUpdateSet({ horizon: snapshot.horizon, content_hash: hash, updated_at: sql`now()` })
            .where(sql<boolean>`index_state.horizon <= excluded.horizon`),
        )
        .returning('document_id')
        .executeTakeFirst(),
    );
    if (!recorded && changed && attempt < 3) {
      this.opts.log.debug({ cat: 'worker', doc: ev.documentId }, 'a newer view was indexed concurrently; re-indexing');
      return this.handleNow(ev, true, attempt + 1);
    }
    return changed ? 'indexed' : 'unchanged';
  }

  /**
   * Chunks by block (the document's, then its attachments'), embeds only chunks whose hash
   * is new, replaces the document's vectors, and classifies the document from the mean of
   * its own chunk vectors. Returns its labels.
   */
  private async semantic(ev: FeedEvent, title: string, text: string, attachments: AttachmentText[], readers: string[], version: string): Promise<string[]> {
    const { embedder, vectors, classifier } = this.opts.semantic!;
    const own = chunkBlocks([title, ...text.split('\n')]);
    const chunkTexts = [...own, ...attachmentChunks(attachments, (blocks) => chunkBlocks(blocks))];
    const existing = await vectors.existing(ev.tenantId, ev.documentId);
    const hashes = chunkTexts.map((c) => sha256(`${embedder.model}\n${c}`));
    const missing = chunkTexts.map((c, i) => ({ c, i })).filter(({ i }) => !existing.has(hashes[i]!));
    // The document's own chunks in one request; its attachments' in requests of
    // ATTACHMENT_EMBED_BATCH, so a search's query (same encoder) waits for one batch at most.
    const batches = [missing.filter((m) => m.i < own.length)];
    const attached = missing.filter((m) => m.i >= own.length);
    for (let k = 0; k < attached.length; k += ATTACHMENT_EMBED_BATCH) batches.push(attached.slice(k, k + ATTACHMENT_EMBED_BATCH));
    const fresh: Float32Array[] = []; // in the order of `missing` (the batches keep it)
    for (const batch of batches) if (batch.length) fresh.push(...(await embedder.embed(batch.map((m) => m.c))));
    const byIndex = new Map(missing.map((m, k) => [m.i, fresh[k]!]));
    const chunks: ChunkVector[] = chunkTexts.map((c, i) => ({ index: i, hash: hashes[i]!, text: c, vector: byIndex.get(i) ?? existing.get(hashes[i]!)! }));
    await inSpan(
      'vectors.replace',
      { kind: SpanKind.CLIENT, attributes: () => ({ 'quire.index.operation': 'replace', 'quire.document_id': ev.documentId, 'quire.index.chunks': chunks.length }) },
      () => vectors.replace(ev.tenantId, ev.documentId, chunks, readers, embedder.model),
    );
    this.opts.log.debug({ cat: 'worker', doc: ev.documentId, chunks: chunks.length, embedded: missing.length }, 'vectors updated');
    // Document labels: the built-in model and the workspace's classifiers (see document-labels.ts).
    return labelDocument({
      db: this.opts.db,
      tenantId: ev.tenantId,
      documentId: ev.documentId,
      title,
      text,
      vector: meanVector(chunks.slice(0, own.length).map((c) => c.vector)),
      embedderModel: embedder.model,
      version,
      builtIn: classifier,
      cache: this.models,
    });
  }
}
