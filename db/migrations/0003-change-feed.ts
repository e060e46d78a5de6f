/**
 * The change feed's outbox and the search index tables.
 *
 * - `document_updates.txid` and `document_events` (created / renamed / deleted / permissions) carry
 *   the writing transaction's id (xid8). The relay consumes rows only below the oldest
 *   running transaction (`pg_snapshot_xmin`), so a row that commits late is never skipped.
 * - `feed_cursors` keeps the relay's position (txid, seq) per source (system table, no tenant).
 * - Two SECURITY DEFINER functions let the relay read ids and positions across tenants —
 *   never content — without giving the app role cross-tenant reads.
 * - `search_documents` is the embedded profile's full-text index; `document_chunks` its
 *   vector index (pgvector, when the extension is available); `index_state` records what
 *   each document was last indexed at, per index.
 */
import { sql, type Kysely } from 'kysely';
import type { MigrationContext } from './context.js';
import { enableTenantRls, ident } from './context.js';

export function changeFeed(ctx: MigrationContext) {
  const app = sql.raw(ident(ctx.appRole));
  const schema = sql.raw(ident(ctx.schema));
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await sql`alter table document_updates add column txid xid8 not null default pg_current_xact_id()`.execute(db);
      await sql`create index document_updates_txid_idx on document_updates (txid, seq)`.execute(db);

      await sql`
        create table document_events (
          seq bigint generated always as identity primary key,
          txid xid8 not null default pg_current_xact_id(),
          tenant_id uuid not null references tenants(id) on delete cascade,
          document_id uuid not null,
          type text not null check (type in ('document.created', 'document.changed', 'document.deleted', 'document.permissions')),
          created_at timestamptz not null default now()
        )`.execute(db);
      await sql`create index document_events_txid_idx on document_events (txid, seq)`.execute(db);
      await enableTenantRls(db, 'document_events');
      await sql`grant select, insert on document_events to ${app}`.execute(db);

      await sql`
        create table feed_cursors (
          name text primary key,
          txid xid8 not null,
          seq bigint not null,
          updated_at timestamptz not null default now()
        )`.execute(db);
      await sql`grant select, insert, update on feed_cursors to ${app}`.execute(db);

      // Rows of finished transactions between two positions, ids only.
      await sql`
        create or replace function quire_feed_changes(p_txid xid8, p_seq bigint, p_to xid8, p_limit int)
          returns table (txid xid8, seq bigint, tenant_id uuid, document_id uuid)
          language sql stable security definer
          set search_path = ${schema}, pg_temp
          as $$ select u.txid, u.seq, u.tenant_id, u.document_id from document_updates u
                where (u.txid, u.seq) > (p_txid, p_seq) and u.txid < p_to
                order by u.txid, u.seq limit p_limit $$`.execute(db);
      await sql`
        create or replace function quire_feed_events(p_txid xid8, p_seq bigint, p_to xid8, p_limit int)
          returns table (txid xid8, seq bigint, tenant_id uuid, document_id uuid, type text)
          language sql stable security definer
          set search_path = ${schema}, pg_temp
          as $$ select e.txid, e.seq, e.tenant_id, e.document_id, e.type from document_events e
                where (e.txid, e.seq) > (p_txid, p_seq) and e.txid < p_to
                order by e.txid, e.seq limit p_limit $$`.execute(db);
      for (const fn of ['quire_feed_changes(xid8, bigint, xid8, int)', 'quire_feed_events(xid8, bigint, xid8, int)']) {
        await sql.raw(`revoke all on function ${fn} from public`).execute(db);
        await sql`grant execute on function ${sql.raw(fn)} to ${app}`.execute(db);
      }

      await sql`
        create table search_documents (
          document_id uuid primary key references documents(id) on delete cascade,
          tenant_id uuid not null references tenants(id) on delete cascade,
          title text not null,
          body text not null,
          labels text[] not null default '{}',
          tsv tsvector generated always as (
            setweight(to_tsvector('english', coalesce(title, '')), 'A') || setweight(to_tsvector('english', coalesce(body, '')), 'B')
          ) stored,
          updated_at timestamptz not null default now()
        )`.execute(db);
      await sql`create index search_documents_tsv_idx on search_documents using gin (tsv)`.execute(db);
      await enableTenantRls(db, 'search_documents');
      await sql`grant select, insert, update, delete on search_documents to ${app}`.execute(db);

      await sql`
        create table index_state (
          document_id uuid not null references documents(id) on delete cascade,
          tenant_id uuid not null references tenants(id) on delete cascade,
          index_name text not null,
          horizon xid8 not null,
          content_hash text,
          updated_at timestamptz not null default now(),
          primary key (document_id, index_name)
        )`.execute(db);
      await enableTenantRls(db, 'index_state');
      await sql`grant select, insert, update, delete on index_state to ${app}`.execute(db);
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await sql`drop table if exists index_state`.execute(db);
      await sql`drop table if exists search_documents`.execute(db);
      await sql`drop function if exists quire_feed_events(xid8, bigint, xid8, int)`.execute(db);
      await sql`drop function if exists quire_feed_changes(xid8, bigint, xid8, int)`.execute(db);
      await sql`drop table if exists feed_cursors`.execute(db);
      await sql`drop table if exists document_events`.execute(db);
      await sql`drop index if exists document_updates_txid_idx`.execute(db);
      await sql`alter table document_updates drop column if exists txid`.execute(db);
    },
  };
}
