/**
 * Search quality and search analytics.
 *
 * - `search_vocabulary`: the distinct words of a tenant's indexed documents, with a trigram
 *   index (pg_trgm), so the Postgres full-text backend can replace a misspelled query word
 *   by the tenant's words that look like it ("kubernets" → "kubernetes"). Words are only
 *   added: a word whose last document was deleted widens a query at most, and is cleared
 *   with its tenant.
 * - `search_queries` / `search_clicks`: the search log of a workspace (normalised query,
 *   mode, result count, duration) and which result was opened, for the admins' analytics.
 *   Rows older than the retention bound are deleted as new searches are logged.
 *
 * pg_trgm ships with Postgres (contrib) and with PGlite (`@electric-sql/pglite/contrib/pg_trgm`);
 * it is created in `public`, like pgvector, by whichever schema migrates first.
 */
import { sql, type Kysely } from 'kysely';
import type { MigrationContext } from './context.js';
import { enableTenantRls, ident } from './context.js';

export function searchVocabularyAnalytics(ctx: MigrationContext) {
  const app = sql.raw(ident(ctx.appRole));
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      // Schemas of one database migrate concurrently (tests, several deployments): the
      // loser of the race to create the extension finds it created.
      await sql`
        do $$ begin
          create extension if not exists pg_trgm schema public;
        exception when unique_violation or duplicate_object then null;
        end $$`.execute(db);

      await sql`
        create table search_vocabulary (
          tenant_id uuid not null references tenants(id) on delete cascade,
          word text not null check (length(word) between 1 and 64),
          primary key (tenant_id, word)
        )`.execute(db);
      await sql`create index search_vocabulary_trgm_idx on search_vocabulary using gin (word gin_trgm_ops)`.execute(db);
      await enableTenantRls(db, 'search_vocabulary');
      await sql`grant select, insert, delete on search_vocabulary to ${app}`.execute(db);
      // Documents indexed before this migration: their words, as the indexer would add them
      // (3–32 characters with a letter). Later writes go through the full-text index.
      await sql`
        insert into search_vocabulary (tenant_id, word)
        select distinct s.tenant_id, w
        from search_documents s, regexp_split_to_table(lower(s.title || ' ' || s.body), '[^[:alnum:]]+') as w
        where length(w) between 3 and 32 and w ~ '[[:alpha:]]'
        on conflict do nothing`.execute(db);

      await sql`
        create table search_queries (
          id uuid primary key default gen_random_uuid(),
          tenant_id uuid not null references tenants(id) on delete cascade,
          user_id uuid not null references users(id) on delete cascade,
          query text not null check (length(query) between 1 and 500),
          mode text not null check (mode in ('fulltext', 'semantic', 'hybrid')),
          results int not null check (results >= 0),
          took_ms int not null check (took_ms >= 0),
          created_at timestamptz not null default now()
        )`.execute(db);
      await sql`create index search_queries_tenant_time_idx on search_queries (tenant_id, created_at)`.execute(db);
      await enableTenantRls(db, 'search_queries');
      await sql`grant select, insert, delete on search_queries to ${app}`.execute(db);

      await sql`
        create table search_clicks (
          search_id uuid not null references search_queries(id) on delete cascade,
          tenant_id uuid not null,
          document_id uuid not null,
          position int not null check (position between 1 and 1000),
          created_at timestamptz not null default now(),
          primary key (search_id, document_id),
          constraint search_clicks_document_tenant_fkey
            foreign key (tenant_id, document_id) references documents (tenant_id, id) on delete cascade
        )`.execute(db);
      await enableTenantRls(db, 'search_clicks');
      await sql`grant select, insert on search_clicks to ${app}`.execute(db);
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await sql`drop table if exists search_clicks`.execute(db);
      await sql`drop table if exists search_queries`.execute(db);
      await sql`drop table if exists search_vocabulary`.execute(db);
    },
  };
}
