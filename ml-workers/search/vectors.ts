/**
 * Vector search port: document chunks with their embeddings, filtered by tenant and read
 * access inside the engine. Implementations: pgvector (embedded PGlite) and Qdrant.
 * Chunk ids are deterministic (document + index), so re-indexing overwrites and never
 * duplicates; a shrinking document drops its surplus chunks.
 */
export interface ChunkVector {
  index: number;
  hash: string;
  text: string;
  vector: Float32Array;
}

export interface VectorSearchRequest {
  tenantId: string;
  userId: string;
  tenantAdmin: boolean;
  /** Members who are not guests read the tenant's templates (core/access.ts). @default false */
  member?: boolean;
  vector: Float32Array;
  limit: number;
  /** Chunks to skip (the next page of candidates). @default 0 */
  offset?: number;
  /** Chunks less similar than this (cosine) are left out. @default none */
  minScore?: number;
}

export interface VectorHit {
  documentId: string;
  chunkIndex: number;
  text: string;
  score: number;
}

export interface VectorIndex {
  readonly name: string;
  /** Stored chunk hashes of a document with their vectors (for re-embedding only what changed). */
  existing(tenantId: string, documentId: string): Promise<Map<string, Float32Array>>;
  replace(tenantId: string, documentId: string, chunks: ChunkVector[], readers: string[], model: string): Promise<void>;
  remove(tenantId: string, documentId: string): Promise<void>;
  search(req: VectorSearchRequest): Promise<VectorHit[]>;
  destroy(): Promise<void>;
}

/** Splits block texts into chunks of whole blocks, up to about `maxWords` words each. */
export function chunkBlocks(blocks: string[], maxWords = 120): string[] {
  const chunks: string[] = [];
  let cur: string[] = [];
  let words = 0;
  for (const raw of blocks) {
    const block = raw.trim();
    if (!block) continue;
    const n = block.split(/\s+/).length;
    if (words > 0 && words + n > maxWords) {
      chunks.push(cur.join('\n'));
      cur = [];
      words = 0;
    }
    cur.push(block);
    words += n;
  }
  if (cur.length) chunks.push(cur.join('\n'));
  return chunks;
}
