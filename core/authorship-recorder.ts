/**
 * Authorship as Yjs item ranges (delete sets): recording what each author's updates
 * inserted and deleted while they are applied in order (`AuthorshipRecorder`, used by the
 * fold), their encoding, and answering "who wrote / who deleted this item" (`Authorship`).
 * No database and no threads here: the folding thread uses it as it is; `authorship.ts`
 * stores and loads it.
 */
import * as Y from 'yjs';

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

/**
 * Records, per author, what each update applied to `doc` inserted and deleted — what its
 * transaction changed, not what the update names: a client's sync step after a reconnect
 * carries its document's whole delete set, deletions made by everyone, and only the ones
 * that were new to the document are its author's. Call `by` before applying each update.
 */
export class AuthorshipRecorder {
  private current: string | null = null;
  private readonly users = new Map<string, { inserted: IdRanges[]; deleted: IdRanges[] }>();

  constructor(doc: Y.Doc) {
    doc.on('afterTransaction', (tr: Y.Transaction) => {
      if (!this.current) return;
      const inserted = Y.createDeleteSet();
      for (const [client, after] of tr.afterState) {
        const before = tr.beforeState.get(client) ?? 0;
        if (after > before) inserted.clients.set(client, [{ clock: before, len: after - before } as DeleteItem]);
      }
      // Copied: the transaction's items are Yjs' own, and merging rewrites them in place.
      const deleted = Y.createDeleteSet();
      for (const [client, items] of tr.deleteSet.clients)
        deleted.clients.set(
          client,
          items.map((it) => ({ clock: it.clock, len: it.len }) as DeleteItem),
        );
      if (inserted.clients.size === 0 && deleted.clients.size === 0) return;
      const e = this.users.get(this.current) ?? { inserted: [], deleted: [] };
      e.inserted.push(inserted);
      e.deleted.push(deleted);
      this.users.set(this.current, e);
    });
  }

  /** The author of the updates applied from now on (null: the server, unknown). */
  by(userId: string | null): void {
    this.current = userId;
  }

  result(): UserRanges[] {
    return [...this.users].map(([userId, e]) => ({ userId, inserted: Y.mergeDeleteSets(e.inserted), deleted: Y.mergeDeleteSets(e.deleted) }));
  }
}

type DeleteItem = IdRanges['clients'] extends Map<number, (infer T)[]> ? T : never;

export function encodeRanges(r: IdRanges): Uint8Array {
  return Y.encodeSnapshot(Y.createSnapshot(r, new Map()));
}

export function decodeRanges(bytes: Uint8Array): IdRanges {
  return Y.decodeSnapshot(bytes).ds as IdRanges;
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

/** Encoded ranges (`EncodedUserRanges`), decoded for lookups. */
export function authorshipOf(list: EncodedUserRanges[]): Authorship {
  return new Authorship(list.map((u) => ({ userId: u.userId, inserted: decodeRanges(u.inserted), deleted: decodeRanges(u.deleted) })));
}
