/**
 * Authorship: who wrote and who deleted which parts of a document, as Yjs item ranges.
 *
 * Every stored update row carries the user whose connection (or REST call) made it. When
 * rows are folded in order (`fold.ts`), what each row's transaction inserted and deleted is
 * its author's (`AuthorshipRecorder`), so "who wrote this character" and "who deleted it"
 * are exact — also for the server's own writes (REST, restores), which all share one Yjs
 * client id per instance, and for a reconnecting client's sync step, whose delete set names
 * everyone's deletions. Compaction records the ranges per user (`document_authorship`,
 * migration 0018) before the rows leave the log; readers fold the rows still in the log.
 *
 * Ranges are kept as Yjs delete sets (sorted, merged `{clock, len}` per client), the
 * structure Yjs itself uses for the same job, and stored with its encoding.
 */
import { sql } from 'kysely';
import * as Y from 'yjs';
import type { Tx } from '../db/store.js';
import { authorshipOf, decodeRanges, encodeRanges, type Authorship, type EncodedUserRanges, type IdRanges, type UserRanges } from './authorship-recorder.js';
import { foldStored } from './fold.js';

export { Authorship, authorshipOf, decodeRanges, encodeRanges, type EncodedUserRanges, type IdRanges, type UserRanges } from './authorship-recorder.js';

/** Above this many rows for one document, compaction merges them into one per user. */
const MERGE_ABOVE_ROWS = 32;

/** Merges several lists of ranges into one entry per user. */
function mergeUsers(lists: UserRanges[]): UserRanges[] {
  const by = new Map<string, { inserted: IdRanges[]; deleted: IdRanges[] }>();
  for (const u of lists) {
    const e = by.get(u.userId) ?? { inserted: [], deleted: [] };
    e.inserted.push(u.inserted);
    e.deleted.push(u.deleted);
    by.set(u.userId, e);
  }
  return [...by].map(([userId, e]) => ({ userId, inserted: Y.mergeDeleteSets(e.inserted), deleted: Y.mergeDeleteSets(e.deleted) }));
}

const buf = (v: Uint8Array) => Buffer.from(v.buffer, v.byteOffset, v.byteLength);

/**
 * Records the authorship of folded log rows (inside compaction's transaction). Once a
 * document has more than `MERGE_ABOVE_ROWS` rows, they are merged into one per user.
 */
export async function recordAuthorship(tx: Tx, tenantId: string, documentId: string, ranges: EncodedUserRanges[]): Promise<void> {
  if (ranges.length === 0) return;
  await tx
    .insertInto('document_authorship')
    .values(ranges.map((u) => ({ tenant_id: tenantId, document_id: documentId, user_id: u.userId, inserted: buf(u.inserted), deleted: buf(u.deleted) })))
    .execute();
  const count = await tx
    .selectFrom('document_authorship')
    .select(sql<string>`count(*)`.as('n'))
    .where('document_id', '=', documentId)
    .executeTakeFirstOrThrow();
  if (Number(count.n) <= MERGE_ABOVE_ROWS) return;
  const rows = await tx.deleteFrom('document_authorship').where('document_id', '=', documentId).returning(['user_id', 'inserted', 'deleted']).execute();
  const merged = mergeUsers(rows.map((r) => ({ userId: r.user_id, inserted: decodeRanges(new Uint8Array(r.inserted)), deleted: decodeRanges(new Uint8Array(r.deleted)) })));
  await tx
    .insertInto('document_authorship')
    .values(merged.map((u) => ({ tenant_id: tenantId, document_id: documentId, user_id: u.userId, inserted: buf(encodeRanges(u.inserted)), deleted: buf(encodeRanges(u.deleted)) })))
    .execute();
}

/**
 * Everything known of a document's authorship, encoded: the recorded ranges, and those of
 * the log rows not folded yet (folded on the folding thread onto the snapshot, as compaction
 * will, without storing anything). Run it in a repeatable-read transaction: a compaction
 * moving rows from the log into `document_authorship` meanwhile would otherwise hide them.
 */
export async function loadAuthorshipRanges(tx: Tx, documentId: string): Promise<EncodedUserRanges[]> {
  const recorded = await tx.selectFrom('document_authorship').select(['user_id', 'inserted', 'deleted']).where('document_id', '=', documentId).orderBy('id').execute();
  const log = await tx.selectFrom('document_updates').select(['seq', 'user_id', 'data']).where('document_id', '=', documentId).orderBy('seq').execute();
  const list: EncodedUserRanges[] = recorded.map((r) => ({ userId: r.user_id, inserted: new Uint8Array(r.inserted), deleted: new Uint8Array(r.deleted) }));
  if (log.some((r) => r.user_id !== null)) {
    const snap = await tx.selectFrom('document_snapshots').select('state').where('document_id', '=', documentId).executeTakeFirst();
    const { authorship } = await foldStored(
      snap ? new Uint8Array(snap.state) : null,
      log.map((r) => ({ seq: r.seq, data: new Uint8Array(r.data), userId: r.user_id })),
      { authorship: true },
    );
    list.push(...(authorship ?? []));
  }
  return list;
}

/** `loadAuthorshipRanges`, decoded for lookups. */
export async function loadAuthorship(tx: Tx, documentId: string): Promise<Authorship> {
  return authorshipOf(await loadAuthorshipRanges(tx, documentId));
}
