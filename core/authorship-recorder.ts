/**
 * Recording authorship while updates are applied: what each author's updates inserted and
 * deleted, as Yjs item ranges (delete sets), and their encoding. Used by the fold
 * (`fold.ts`), which applies stored rows in order; read by `authorship.ts`.
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
