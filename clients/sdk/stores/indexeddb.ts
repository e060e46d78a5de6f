/** Browser offline store on IndexedDB (y-indexeddb): one database per document name. */
import { IndexeddbPersistence, clearDocument } from 'y-indexeddb';
import type * as Y from 'yjs';
import type { OfflineBinding, OfflineStore } from '../offline.js';

/** An `OfflineStore` in the browser's IndexedDB (a database per document, named `<prefix>:<user>/<document>`). */
export function indexedDbStore(prefix = 'quire'): OfflineStore {
  const dbName = (name: string) => `${prefix}:${name}`;
  return {
    async open(name: string, doc: Y.Doc): Promise<OfflineBinding> {
      const persistence = new IndexeddbPersistence(dbName(name), doc);
      await persistence.whenSynced;
      return {
        getMeta: async <T>(key: string) => (await persistence.get(key)) as T | undefined,
        setMeta: async (key, value) => {
          await persistence.set(key, value as never);
        },
        destroy: () => persistence.destroy(),
        clear: () => persistence.clearData(),
      };
    },
    remove: (name: string) => clearDocument(dbName(name)),
  };
}
