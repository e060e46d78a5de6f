/**
 * "Last seen": the version a user's copy of a document held when their last connection to
 * it closed (`document_seen`, migration 0018), so they can be shown what changed since.
 */
import { sql } from 'kysely';
import { withTenant, type AppDb } from '../db/store.js';

export interface Seen {
  versionId: string | null;
  seenAt: Date;
}

/** Records that the user left the document holding `versionId` (the latest one wins). */
export async function recordSeen(db: AppDb, tenantId: string, documentId: string, userId: string, versionId: string, at: Date = new Date()): Promise<void> {
  await withTenant(db, tenantId, (tx) =>
    tx
      .insertInto('document_seen')
      .values({ tenant_id: tenantId, document_id: documentId, user_id: userId, version_id: versionId, seen_at: at })
      .onConflict((oc) =>
        oc
          .columns(['tenant_id', 'document_id', 'user_id'])
          .doUpdateSet({ version_id: versionId, seen_at: at })
          .where(sql<boolean>`document_seen.seen_at <= excluded.seen_at`),
      )
      .execute(),
  );
}

/** When the user last left the document and the version it then held; null when they never had it open. */
export async function lastSeen(db: AppDb, tenantId: string, documentId: string, userId: string): Promise<Seen | null> {
  return withTenant(db, tenantId, async (tx) => {
    const row = await tx.selectFrom('document_seen').select(['version_id', 'seen_at']).where('document_id', '=', documentId).where('user_id', '=', userId).executeTakeFirst();
    return row ? { versionId: row.version_id, seenAt: new Date(row.seen_at) } : null;
  });
}
