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
import { decodeRanges, encodeRanges, type EncodedUserRanges, type IdRanges, type UserRanges } from './authorship-recorder.js';
import { foldStored } from './fold.js';

export { decodeRanges, encodeRanges, type EncodedUserRanges, type IdRanges, type UserRanges } from './authorship-recorder.js';

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

/** A range of one client's clocks and its user. */
interface Span {
  start: number;
  end: number;
  userId: string;
}

/** How far back a lookup looks past the nearest range for one that overlaps it (two users claiming one range is rare: a relayed update, two concurrent deletes). */
const OVERLAP_SCAN = 8;

function index(list: UserRanges[], pick: (u: UserRanges) => IdRanges): Map<number, Span[]> {
  const out = new Map<number, Span[]>();
  for (const u of list) {
    for (const [client, items] of pick(u).clients) {
      const spans = out.get(client) ?? [];
      for (const it of items) spans.push({ start: it.clock, end: it.clock + it.len, userId: u.userId });
      out.set(client, spans);
    }
  }
  // Stable: among ranges starting at one clock, the earliest recorded comes first.
  for (const spans of out.values()) spans.sort((a, b) => a.start - b.start);
  return out;
}

/** The range holding `clock` (the earliest-starting one when several overlap) and where the next range starts. */
function locate(spans: Span[] | undefined, clock: number): { span: Span | null; next: number } {
  if (!spans || spans.length === 0) return { span: null, next: Number.POSITIVE_INFINITY };
  let lo = 0;
  let hi = spans.length - 1;
  let at = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (spans[mid]!.start <= clock) {
      at = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  const next = at + 1 < spans.length ? spans[at + 1]!.start : Number.POSITIVE_INFINITY;
  let span: Span | null = null;
  for (let i = at, seen = 0; i >= 0 && seen < OVERLAP_SCAN; i--, seen++) if (spans[i]!.end > clock) span = spans[i]!;
  return { span, next };
}

/** Answers "who wrote" and "who deleted" an item id; also how far that answer holds. */
export class Authorship {
  private readonly inserts: Map<number, Span[]>;
  private readonly deletes: Map<number, Span[]>;

  constructor(list: UserRanges[]) {
    this.inserts = index(list, (u) => u.inserted);
    this.deletes = index(list, (u) => u.deleted);
  }

  /** The user who wrote the item at (client, clock), and the first clock after it the answer may differ at. */
  writer(client: number, clock: number): { userId: string | null; until: number } {
    return answer(this.inserts.get(client), clock);
  }

  /** The user who deleted it, likewise. */
  deleter(client: number, clock: number): { userId: string | null; until: number } {
    return answer(this.deletes.get(client), clock);
  }
}

function answer(spans: Span[] | undefined, clock: number): { userId: string | null; until: number } {
  const { span, next } = locate(spans, clock);
  return span ? { userId: span.userId, until: Math.min(span.end, next) } : { userId: null, until: next };
}

/**
 * Everything known of a document's authorship: the recorded ranges, and those of the log
 * rows not folded yet (folded on the folding thread onto the snapshot, as compaction will,
 * without storing anything). Run it in a repeatable-read transaction: a compaction moving
 * rows from the log into `document_authorship` meanwhile would otherwise hide them.
 */
export async function loadAuthorship(tx: Tx, documentId: string): Promise<Authorship> {
  const recorded = await tx.selectFrom('document_authorship').select(['user_id', 'inserted', 'deleted']).where('document_id', '=', documentId).orderBy('id').execute();
  const log = await tx.selectFrom('document_updates').select(['seq', 'user_id', 'data']).where('document_id', '=', documentId).orderBy('seq').execute();
  const list = recorded.map((r) => ({ userId: r.user_id, inserted: decodeRanges(new Uint8Array(r.inserted)), deleted: decodeRanges(new Uint8Array(r.deleted)) }));
  if (log.some((r) => r.user_id !== null)) {
    const snap = await tx.selectFrom('document_snapshots').select('state').where('document_id', '=', documentId).executeTakeFirst();
    const { authorship } = await foldStored(
      snap ? new Uint8Array(snap.state) : null,
      log.map((r) => ({ seq: r.seq, data: new Uint8Array(r.data), userId: r.user_id })),
      { authorship: true },
    );
    for (const u of authorship ?? []) list.push({ userId: u.userId, inserted: decodeRanges(u.inserted), deleted: decodeRanges(u.deleted) });
  }
  return new Authorship(list);
}
