/**
 * What the workspace commands (`quire workspace …`) need from the installation, opened from
 * the same configuration as the server but without serving anything: the store (not
 * migrated: a server start or `quire db migrate` does that), the blob store, the search
 * indexes it can reach, and the password hasher. On the embedded profile this takes
 * DATA_DIR's lock, so it refuses while a server has the embedded database open.
 */
import type { Config } from '../lib/config.js';
import { openStore, type Store } from '../db/store.js';
import { openBlobStore } from '../lib/storage/open.js';
import type { BlobStore } from '../lib/storage/blob-store.js';
import type { FullTextIndex } from '../ml-workers/search/fulltext.js';
import type { VectorIndex } from '../ml-workers/search/vectors.js';
import { openFullTextIndex, openVectorIndex } from './search-indexes.js';
import { PasswordHasher } from './auth/passwords.js';

export interface OperatorServices {
  config: Config;
  store: Store;
  blobs: BlobStore;
  passwords: PasswordHasher;
  /** Opened on first use: the full-text index (Meilisearch when configured, else Postgres). */
  fulltext(): Promise<FullTextIndex>;
  /** Opened on first use: the vector index (Qdrant when configured, else pgvector when the store has it), or null. */
  vectors(): Promise<VectorIndex | null>;
  close(): Promise<void>;
}

export async function openOperatorServices(config: Config): Promise<OperatorServices> {
  const store = await openStore({
    url: config.database.url,
    appUrl: config.database.appUrl,
    schema: config.database.schema,
    appRole: config.database.appRole,
    poolMax: 2,
    dataDir: config.dataDir,
    migrate: false,
  });
  const blobs = openBlobStore(config.files, config.dataDir);
  let fulltext: Promise<FullTextIndex> | null = null;
  let vectors: Promise<VectorIndex | null> | null = null;
  return {
    config,
    store,
    blobs,
    passwords: new PasswordHasher(config.passwords.scryptCost),
    fulltext: () => (fulltext ??= openFullTextIndex(config, store)),
    // Vectors may be there from when semantic search was on: the index is opened whatever SEMANTIC_SEARCH says.
    vectors: () => (vectors ??= openVectorIndex(config, store)),
    async close() {
      const opened = await Promise.allSettled([fulltext, vectors]);
      for (const o of opened) if (o.status === 'fulfilled' && o.value) await o.value.destroy().catch(() => undefined);
      await blobs.close();
      await store.destroy();
    },
  };
}
