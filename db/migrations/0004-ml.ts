/**
 * ML results: per-document classifications (per document version) and, where the
 * pgvector extension exists (the embedded PGlite profile), chunk vectors for semantic
 * search. Server Postgres without pgvector uses Qdrant for vectors instead.
 */
import { sql, type Kysely } from 'kysely';
import type { MigrationContext } from './context.js';
import { enableTenantRls, ident } from './context.js';

export function ml(ctx: MigrationContext) {
  const app = sql.raw(ident(ctx.appRole));
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await sql`
        create table document_classifications (
          document_id uuid not null references documents(id) on delete cascade,
          tenant_id uuid not null references tenants(id) on delete cascade,
          model text not null,
          label text not null,
          confidence real not null check (confidence >= 0 and confidence <= 1),
          version xid8 not null,
          created_at timestamptz not null default now(),
          primary key (document_id, model)
        )`.execute(db);
      await enableTenantRls(db, 'document_classifications');
      await sql`grant select, insert, update, delete on document_classifications to ${app}`.execute(db);

      const hasVector = await sql<{ ok: boolean }>`select exists (select 1 from pg_extension where extname = 'vector') as ok`.execute(db);
      if (hasVector.rows[0]?.ok) {
        await sql`
          create table document_chunks (
            document_id uuid not null references documents(id) on delete cascade,
            tenant_id uuid not null references tenants(id) on delete cascade,
            chunk_index int not null,
            hash text not null,
            text text not null,
            embedding vector(512) not null,
            model text not null,
            primary key (document_id, chunk_index)
          )`.execute(db);
        await sql`create index document_chunks_embedding_idx on document_chunks using hnsw (embedding vector_cosine_ops)`.execute(db);
        await enableTenantRls(db, 'document_chunks');
        await sql`grant select, insert, update, delete on document_chunks to ${app}`.execute(db);
      }
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await sql`drop table if exists document_chunks`.execute(db);
      await sql`drop table if exists document_classifications`.execute(db);
    },
  };
}
