/** Writes a change-feed event into the outbox, inside the caller's transaction. */
import type { FeedEventType } from '../../db/schema.js';
import type { Tx } from '../../db/store.js';

/** `subjectId`: what a notifying event is about (see `contract/feed.ts`). */
export async function feedEvent(tx: Tx, tenantId: string, documentId: string, type: FeedEventType, subjectId: string | null = null): Promise<void> {
  await tx.insertInto('document_events').values({ tenant_id: tenantId, document_id: documentId, type, subject_id: subjectId }).execute();
}
