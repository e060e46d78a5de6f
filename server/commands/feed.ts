/** Writes a change-feed event into the outbox, inside the caller's transaction. */
import type { FeedEventType } from '../../db/schema.js';
import type { Tx } from '../../db/store.js';

export async function feedEvent(tx: Tx, tenantId: string, documentId: string, type: FeedEventType): Promise<void> {
  await tx.insertInto('document_events').values({ tenant_id: tenantId, document_id: documentId, type }).execute();
}
