/**
 * The search indexes, opened for the api role (queries) and the worker role (indexing):
 * Meilisearch or Postgres full text, and for semantic search a vector index (Qdrant, or
 * pgvector when the store has it) with the sentence encoder, started on first use.
 */
import type { Embedder } from '../../ml-workers/embeddings/embedder.js';
import type { FullTextIndex } from '../../ml-workers/search/fulltext.js';
import type { VectorIndex } from '../../ml-workers/search/vectors.js';
import type { Shared } from './shared.js';

export interface SearchIndexes {
  fulltext: FullTextIndex;
  /** The sentence encoder, started on first call; null when semantic search is off. */
  embedder: (() => Promise<Embedder>) | null;
}

export async function openSearch(shared: Shared): Promise<SearchIndexes> {
  const { config, svc, log, shutdown } = shared;
  const { store } = svc;
  let fulltext: FullTextIndex;
  if (config.search.meiliUrl) {
    const { MeilisearchFullText } = await import('../../ml-workers/search/meilisearch-fulltext.js');
    fulltext = await MeilisearchFullText.open({ url: config.search.meiliUrl, apiKey: config.search.meiliKey, indexName: config.search.meiliIndex });
  } else {
    const { PostgresFullText } = await import('../../ml-workers/search/postgres-fulltext.js');
    fulltext = new PostgresFullText(store.db);
  }
  svc.fulltext = fulltext;
  if (!config.search.semantic) return { fulltext, embedder: null };

  let vectors: VectorIndex | null = null;
  if (config.search.qdrantUrl) {
    const { QdrantVectorIndex } = await import('../../ml-workers/search/qdrant.js');
    vectors = await QdrantVectorIndex.open({ url: config.search.qdrantUrl, apiKey: config.search.qdrantKey, collection: config.search.qdrantCollection, dimensions: 512 });
  } else {
    const { PgVectorIndex } = await import('../../ml-workers/search/pgvector.js');
    if (await PgVectorIndex.available(store.db)) vectors = new PgVectorIndex(store.db);
  }
  if (!vectors) {
    log.warn({ cat: 'app' }, 'semantic search is off: no vector index (set QDRANT_URL, or use the embedded profile with pgvector)');
    return { fulltext, embedder: null };
  }
  let started: Promise<Embedder> | null = null;
  const threads = config.search.embeddingThreads;
  const embedder = () => (started ??= import('../../ml-workers/embeddings/use-embedder.js').then((m) => m.createUseEmbedder({ threads })));
  // Registered before the worker role's step, so the indexer stops before its encoder.
  shutdown.add('embedder', async () => {
    if (started) await (await started).destroy();
  });
  svc.semantic = { vectors, embedder };
  return { fulltext, embedder };
}
