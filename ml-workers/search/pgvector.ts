/** pgvector chunk index (embedded PGlite profile); permissions joined live at query time. */
import { sql } from 'kysely';

import { withTenant, type AppDb } from '../../db/store.js';
import { readableSql } from '../../core/access.js';
import type { ChunkVector, VectorHit, VectorIndex, VectorSearchRequest } from './vectors.js';

const literal = (v: Float32Array) => `[${Array.from(v, (x) => (Number.isFinite(x) ? x : 0)).join(',')}]`;
const parse = (s: string) => Float32Array.from(JSON.parse(s) as number[]);

export class PgVectorIndex implements VectorIndex {
  readonly name = 'pgvector';
  constructor(private readonly db: AppDb) {}

  /** True when the store has the chunk table (pgvector installed). */
  static async available(db: AppDb): Promise<boolean> {
    const r = await sql<{ ok: boolean }>`select to_regclass('document_chunks') is not null as ok`.execute(db);
    return Boolean(r.rows[0]?.ok);
  }

  async existing(tenantId: string, documentId: string): Promise<Map<string, Float32Array>> {
    const rows = await withTenant(this.db, tenantId, (tx) =>
      tx
        .selectFrom('document_chunks')
        .select(['hash', sql<string>`embedding::text`.as('v')])
        .where('document_id', '=', documentId)
        .execute(),
    );
    return new Map(rows.map((r) => [r.hash, parse(r.v)]));
  }

  async replace(tenantId: string, documentId: string, chunks: ChunkVector[], _readers: string[], model: string): Promise<void> {
    await withTenant(this.db, tenantId, async (tx) => {
      await tx.deleteFrom('document_chunks').where('document_id', '=', documentId).where('chunk_index', '>=', chunks.length).execute();
      for (const c of chunks) {
        await sql`
          insert into document_chunks (document_id, tenant_id, chunk_index, hash, text, embedding, model)
          values (${documentId}, ${tenantId}, ${c.index}, ${c.hash}, ${c.text}, ${literal(c.vector)}::vector, ${model})
          on conflict (document_id, chunk_index) do update set hash = excluded.hash, text = excluded.text, embedding = excluded.embedding, model = excluded.model`.execute(tx);
      }
    });
  }

  async remove(tenantId: string, documentId: string): Promise<void> {
    await withTenant(this.db, tenantId, (tx) => tx.deleteFrom('document_chunks').where('document_id', '=', documentId).execute());
  }

  async search(req: VectorSearchRequest): Promise<VectorHit[]> {
    return withTenant(this.db, req.tenantId, async (tx) => {
      const r = await sql<{ document_id: string; chunk_index: number; text: string; score: number }>`
        select c.document_id, c.chunk_index, c.text, (1 - (c.embedding <=> ${literal(req.vector)}::vector))::float8 as score
        from document_chunks c
        join documents d on d.id = c.document_id and d.deleted_at is null
        left join document_permissions p on p.document_id = c.document_id and p.user_id = ${req.userId}
        where ${readableSql({ document: 'd', grant: 'p', tenantAdmin: req.tenantAdmin, member: req.member ?? false })}
          and (c.embedding <=> ${literal(req.vector)}::vector) <= ${1 - (req.minScore ?? -1)}
        order by c.embedding <=> ${literal(req.vector)}::vector
        limit ${req.limit} offset ${req.offset ?? 0}`.execute(tx);
      return r.rows.map((x) => ({ documentId: x.document_id, chunkIndex: x.chunk_index, text: x.text, score: Number(x.score) }));
    });
  }

  async destroy(): Promise<void> {}
}
