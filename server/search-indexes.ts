/**
 * Opens the configured search indexes: full text on Meilisearch (`MEILI_URL`) or Postgres,
 * vectors on Qdrant (`QDRANT_URL`) or pgvector when the store has it. One place for the
 * roles (server/roles/search.ts) and the operator commands (reindex, workspace deletion).
 */
import type { Store } from '../db/store.js';
import type { Config } from '../lib/config.js';
import type { FullTextIndex } from '../ml-workers/search/fulltext.js';
import type { VectorIndex } from '../ml-workers/search/vectors.js';
import { USE_DIMENSIONS } from '../ml-workers/embeddings/use-assets.js';

export async function openFullTextIndex(config: Config, store: Store): Promise<FullTextIndex> {
  if (config.search.meiliUrl) {
    const { MeilisearchFullText } = await import('../ml-workers/search/meilisearch-fulltext.js');
    return MeilisearchFullText.open({ url: config.search.meiliUrl, apiKey: config.search.meiliKey, indexName: config.search.meiliIndex });
  }
  const { PostgresFullText } = await import('../ml-workers/search/postgres-fulltext.js');
  return new PostgresFullText(store.db);
}

/** The vector index, or null when there is none (no Qdrant, and a store without pgvector). */
export async function openVectorIndex(config: Config, store: Store): Promise<VectorIndex | null> {
  if (config.search.qdrantUrl) {
    const { QdrantVectorIndex } = await import('../ml-workers/search/qdrant.js');
    return QdrantVectorIndex.open({ url: config.search.qdrantUrl, apiKey: config.search.qdrantKey, collection: config.search.qdrantCollection, dimensions: USE_DIMENSIONS });
  }
  const { PgVectorIndex } = await import('../ml-workers/search/pgvector.js');
  return (await PgVectorIndex.available(store.db)) ? new PgVectorIndex(store.db) : null;
}
