/**
 * The search indexes, opened for the api role (queries) and the worker role (indexing):
 * Meilisearch or Postgres full text, and for semantic search a vector index (Qdrant, or
 * pgvector when the store has it) with the sentence encoder, started on first use.
 */
import type { Embedder } from '../../ml-workers/embeddings/embedder.js';
import type { FullTextIndex } from '../../ml-workers/search/fulltext.js';
import { openFullTextIndex, openVectorIndex } from '../search-indexes.js';
import type { Shared } from './shared.js';

export interface SearchIndexes {
  fulltext: FullTextIndex;
  /** The sentence encoder, started on first call; null when semantic search is off. */
  embedder: (() => Promise<Embedder>) | null;
}

export async function openSearch(shared: Shared): Promise<SearchIndexes> {
  const { config, svc, log, shutdown } = shared;
  const { store } = svc;
  const fulltext = await openFullTextIndex(config, store);
  svc.fulltext = fulltext;
  if (!config.search.semantic) return { fulltext, embedder: null };

  const vectors = await openVectorIndex(config, store);
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
