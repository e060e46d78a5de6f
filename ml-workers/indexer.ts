/**
 * The indexing worker: for each feed event, read the document's current title, text and
 * readers and bring the full-text index (and, when configured, the vector index) up to
 * date. Idempotent: each index records the feed horizon it last indexed at, and an event
 * whose transaction is below it is already covered. Unchanged content is not re-sent.
 */
import crypto from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { withTenant } from '../db/store.js';
import { extractText } from '../sync/content.js';
import type { DocumentStore } from '../sync/document-store.js';
import type { Logger } from '../server/log.js';
import type { FeedEvent } from './events.js';
import type { FullTextIndex } from './search/fulltext.js';

export interface IndexerOptions {
  db: Kysely<Database>;
  store: DocumentStore;
  fulltext: FullTextIndex;
  log: Logger;
}

export class Indexer {
  constructor(private readonly opts: IndexerOptions) {}

  async handle(ev: FeedEvent): Promise<'indexed' | 'removed' | 'unchanged' | 'skipped'> {
    const { db, store, fulltext } = this.opts;
    const indexName = `fulltext:${fulltext.name}`;
    const snapshot = await withTenant(db, ev.tenantId, async (tx) => {
      const horizon = (await sql<{ h: string }>`select pg_snapshot_xmin(pg_current_snapshot())::text as h`.execute(tx)).rows[0]!.h;
      const doc = await tx.selectFrom('documents').select(['title', 'deleted_at']).where('id', '=', ev.documentId).executeTakeFirst();
      const readers = await tx.selectFrom('document_permissions').select('user_id').where('document_id', '=', ev.documentId).orderBy('user_id').execute();
      const state = await tx
        .selectFrom('index_state')
        .select([sql<string>`horizon::text`.as('horizon'), 'content_hash'])
        .where('document_id', '=', ev.documentId)
        .where('index_name', '=', indexName)
        .executeTakeFirst();
      const covered = state ? (await sql<{ c: boolean }>`select ${ev.txid}::xid8 < ${state.horizon}::xid8 as c`.execute(tx)).rows[0]!.c : false;
      return { horizon, doc, readers: readers.map((r) => r.user_id), state, covered };
    });
    if (snapshot.covered) return 'skipped';
    if (!snapshot.doc || snapshot.doc.deleted_at) {
      await fulltext.remove(ev.tenantId, ev.documentId);
      if (snapshot.doc) {
        await withTenant(db, ev.tenantId, (tx) => tx.deleteFrom('index_state').where('document_id', '=', ev.documentId).execute());
      }
      return 'removed';
    }
    // Content read after the horizon: it includes every transaction below it.
    const { doc: ydoc } = await store.loadInto(ev.tenantId, ev.documentId);
    const text = extractText(ydoc);
    ydoc.destroy();
    const hash = crypto.createHash('sha256').update(JSON.stringify([snapshot.doc.title, text, snapshot.readers])).digest('hex');
    const changed = snapshot.state?.content_hash !== hash;
    if (changed) {
      await fulltext.upsert({ tenantId: ev.tenantId, documentId: ev.documentId, title: snapshot.doc.title, text, labels: [], readers: snapshot.readers });
    }
    await withTenant(db, ev.tenantId, (tx) =>
      tx
        .insertInto('index_state')
        .values({ document_id: ev.documentId, tenant_id: ev.tenantId, index_name: indexName, horizon: snapshot.horizon, content_hash: hash })
        .onConflict((oc) => oc.columns(['document_id', 'index_name']).doUpdateSet({ horizon: snapshot.horizon, content_hash: hash, updated_at: sql`now()` }))
        .execute(),
    );
    return changed ? 'indexed' : 'unchanged';
  }
}
