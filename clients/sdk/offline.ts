/**
 * Offline persistence of documents on the client. A store keeps each opened document's
 * Yjs updates (and a little metadata, e.g. how many local changes the server has not
 * confirmed) so a document opens and edits without a connection and merges on return.
 *
 * Implementations: `indexedDbStore` (browsers), `fileStore` (Node, Electron; from
 * `clients/sdk/node.ts`) and `memoryStore` (one process, e.g. tests or a short-lived CLI).
 */
import * as Y from 'yjs';

/** One document opened in an `OfflineStore`: its metadata, and an end to persisting it. */
export interface OfflineBinding {
  /** Reads a metadata value stored next to the document. */
  getMeta<T = unknown>(key: string): Promise<T | undefined>;
  /** Stores a metadata value next to the document. */
  setMeta(key: string, value: unknown): Promise<void>;
  /** Stops persisting (the stored data stays). */
  destroy(): Promise<void>;
  /** Deletes the stored document and its metadata. */
  clear(): Promise<void>;
}

/** Where a client keeps documents for offline use (see the module's implementations). */
export interface OfflineStore {
  /**
   * Loads what is stored for `name` into `doc` (applied with the binding as origin) and
   * keeps persisting every later update of `doc`. Resolves once the stored state is in.
   */
  open(name: string, doc: Y.Doc): Promise<OfflineBinding>;
  /** Deletes a stored document without opening it. */
  remove(name: string): Promise<void>;
}

/** Keeps documents in this process's memory: reopening in the same process restores them. */
export function memoryStore(): OfflineStore {
  const data = new Map<string, { updates: Uint8Array[]; meta: Map<string, unknown> }>();
  const entry = (name: string) => {
    let e = data.get(name);
    if (!e) data.set(name, (e = { updates: [], meta: new Map() }));
    return e;
  };
  return {
    async open(name, doc) {
      const e = entry(name);
      const binding: OfflineBinding = {
        getMeta: async <T>(key: string) => e.meta.get(key) as T | undefined,
        setMeta: async (key, value) => {
          e.meta.set(key, value);
        },
        destroy: async () => doc.off('update', onUpdate),
        clear: async () => {
          doc.off('update', onUpdate);
          data.delete(name);
        },
      };
      const onUpdate = (update: Uint8Array, origin: unknown) => {
        if (origin !== binding) e.updates.push(update);
      };
      if (e.updates.length > 0) Y.applyUpdate(doc, Y.mergeUpdates(e.updates), binding);
      doc.on('update', onUpdate);
      return binding;
    },
    async remove(name) {
      data.delete(name);
    },
  };
}
