/**
 * Qdrant chunk index (scaled profile): one collection, payload `tenantId`, `documentId`,
 * `readers`, `hash`, `text`; point ids derived from (document, chunk index) so a re-index
 * overwrites. Searches filter by tenant and readers in the engine.
 */
import crypto from 'node:crypto';
import { QdrantClient } from '@qdrant/js-client-rest';
import { IDENTITY_ENCODING, retryStaleConnection } from './engine-http.js';
import { ADMIN_READER, MEMBER_READER } from './fulltext.js';
import type { ChunkVector, VectorHit, VectorIndex, VectorSearchRequest } from './vectors.js';

function pointId(documentId: string, index: number): string {
  const h = crypto.createHash('sha256').update(`${documentId}:${index}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

interface Payload {
  tenantId: string;
  documentId: string;
  chunkIndex: number;
  hash: string;
  text: string;
  readers: string[];
  model: string;
}

export class QdrantVectorIndex implements VectorIndex {
  readonly name = 'qdrant';
  private constructor(
    private readonly client: QdrantClient,
    private readonly collection: string,
  ) {}

  static async open(opts: { url: string; apiKey?: string; collection: string; dimensions: number }): Promise<QdrantVectorIndex> {
    // Uncompressed responses: see IDENTITY_ENCODING (compressed chunked bodies stall ~40 ms on kept-alive connections).
    const client = new QdrantClient({ url: opts.url, apiKey: opts.apiKey, checkCompatibility: false, headers: IDENTITY_ENCODING });
    const exists = await client.collectionExists(opts.collection);
    if (!exists.exists) {
      await client.createCollection(opts.collection, { vectors: { size: opts.dimensions, distance: 'Cosine' } });
      for (const field of ['tenantId', 'documentId', 'readers']) {
        await client.createPayloadIndex(opts.collection, { field_name: field, field_schema: 'keyword', wait: true });
      }
    }
    return new QdrantVectorIndex(client, opts.collection);
  }

  async existing(tenantId: string, documentId: string): Promise<Map<string, Float32Array>> {
    const res = await this.client.scroll(this.collection, {
      filter: {
        must: [
          { key: 'tenantId', match: { value: tenantId } },
          { key: 'documentId', match: { value: documentId } },
        ],
      },
      with_payload: true,
      with_vector: true,
      limit: 10_000,
    });
    const out = new Map<string, Float32Array>();
    for (const p of res.points) {
      const payload = p.payload as unknown as Payload;
      if (Array.isArray(p.vector)) out.set(payload.hash, Float32Array.from(p.vector as number[]));
    }
    return out;
  }

  async replace(tenantId: string, documentId: string, chunks: ChunkVector[], readers: string[], model: string): Promise<void> {
    if (chunks.length > 0) {
      await this.client.upsert(this.collection, {
        wait: true,
        points: chunks.map((c) => ({
          id: pointId(documentId, c.index),
          vector: Array.from(c.vector),
          payload: { tenantId, documentId, chunkIndex: c.index, hash: c.hash, text: c.text, readers: [...readers, ADMIN_READER], model } satisfies Payload,
        })),
      });
    }
    await this.client.delete(this.collection, {
      wait: true,
      filter: {
        must: [
          { key: 'documentId', match: { value: documentId } },
          { key: 'chunkIndex', range: { gte: chunks.length } },
        ],
      },
    });
  }

  async remove(_tenantId: string, documentId: string): Promise<void> {
    await this.client.delete(this.collection, { wait: true, filter: { must: [{ key: 'documentId', match: { value: documentId } }] } });
  }

  async search(req: VectorSearchRequest): Promise<VectorHit[]> {
    const readers = [req.userId, ...(req.tenantAdmin ? [ADMIN_READER] : []), ...(req.member ? [MEMBER_READER] : [])];
    const res = await retryStaleConnection(() =>
      this.client.search(this.collection, {
        vector: Array.from(req.vector),
        limit: req.limit,
        offset: req.offset ?? 0,
        ...(req.minScore !== undefined ? { score_threshold: req.minScore } : {}),
        with_payload: true,
        filter: {
          must: [
            { key: 'tenantId', match: { value: req.tenantId } },
            { key: 'readers', match: { any: readers } },
          ],
        },
      }),
    );
    return res.map((r) => {
      const p = r.payload as unknown as Payload;
      return { documentId: p.documentId, chunkIndex: p.chunkIndex, text: p.text, score: r.score };
    });
  }

  async destroy(): Promise<void> {}
}
