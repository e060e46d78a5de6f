/**
 * Authorship: who wrote and who deleted which parts of a document, as Yjs item ranges.
 *
 * Every stored update row carries the user whose connection (or REST call) made it. A row's
 * structs are the item ranges it inserted and its delete set the ranges it deleted, so
 * "who wrote this character" and "who deleted it" are exact — also for the server's own
 * writes (REST, restores), which all share one Yjs client id per instance. Compaction
 * records each folded row's ranges per user (`document_authorship`, migration 0018) before
 * the rows leave the log; readers add the rows still in the log.
 *
 * Ranges are kept as Yjs delete sets (sorted, merged `{clock, len}` per client), the
 * structure Yjs itself uses for the same job, and stored with its encoding.
 */
import { sql } from 'kysely';
import * as Y from 'yjs';
import type { Tx } from '../db/store.js';

export type IdRanges = ReturnType<typeof Y.createDeleteSet>;

/** One user's inserted and deleted item ranges. */
export interface UserRanges {
  userId: string;
  inserted: IdRanges;
  deleted: IdRanges;
}

/** `UserRanges` with both sets encoded (`encodeRanges`). */
export interface EncodedUserRanges {
  userId: string;
  inserted: Uint8Array;
  deleted: Uint8Array;
}

/** A stored log row and its author (null: written by the server itself). */
export interface AuthoredRow {
  userId: string | null;
  data: Uint8Array;
}

/** Above this many rows for one document, compaction merges them into one per user. */
const MERGE_ABOVE_ROWS = 32;

/** The item ranges an update (V1) inserts, and the ones it deletes. */
export function rangesOfUpdate(update: Uint8Array): { inserted: IdRanges; deleted: IdRanges } {
  const { structs, ds } = Y.decodeUpdate(update);
  const inserted = Y.createDeleteSet();
  for (const s of structs) {
    if (s instanceof Y.Skip) continue;
    const list = inserted.clients.get(s.id.client) ?? [];
    const last = list[list.length - 1];
    if (last && last.clock + last.len === s.id.clock) last.len += s.length;
    else list.push({ clock: s.id.clock, len: s.length } as (typeof list)[number]);
    inserted.clients.set(s.id.client, list);
  }
  return { inserted: Y.mergeDeleteSets([inserted]), deleted: ds as IdRanges };
}

/** The rows' ranges merged per author; rows without an author are left out. */
export function collectAuthorship(rows: AuthoredRow[]): UserRanges[] {
  const by = new Map<string, { inserted: IdRanges[]; deleted: IdRanges[] }>();
  for (const r of rows) {
    if (!r.userId) continue;
    const { inserted, deleted } = rangesOfUpdate(r.data);
    const e = by.get(r.userId) ?? { inserted: [], deleted: [] };
    e.inserted.push(inserted);
    e.deleted.push(deleted);
    by.set(r.userId, e);
  }
  return [...by].map(([userId, e]) => ({ userId, inserted: Y.mergeDeleteSets(e.inserted), deleted: Y.mergeDeleteSets(e.deleted) }));
}

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

export function encodeRanges(r: IdRanges): Uint8Array {
  return Y.encodeSnapshot(Y.createSnapshot(r, new Map()));
}

export function decodeRanges(bytes: Uint8Array): IdRanges {
  return Y.decodeSnapshot(bytes).ds as IdRanges;
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

/** Everything known of a document's authorship: the recorded ranges and the log rows not folded yet. */
export async function loadAuthorship(tx: Tx, documentId: string): Promise<Authorship> {
  const recorded = await tx.selectFrom('document_authorship').select(['user_id', 'inserted', 'deleted']).where('document_id', '=', documentId).orderBy('id').execute();
  const log = await tx.selectFrom('document_updates').select(['user_id', 'data']).where('document_id', '=', documentId).where('user_id', 'is not', null).orderBy('seq').execute();
  return new Authorship([
    ...recorded.map((r) => ({ userId: r.user_id, inserted: decodeRanges(new Uint8Array(r.inserted)), deleted: decodeRanges(new Uint8Array(r.deleted)) })),
    ...collectAuthorship(log.map((r) => ({ userId: r.user_id, data: new Uint8Array(r.data) }))),
  ]);
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
