/**
 * Organising a workspace:
 *
 * - `collections`: the workspace's folders, a tree (`parent_id`). Keys are composite
 *   `(tenant_id, …)` like the document-keyed tables (migration 0006), so neither a
 *   collection's parent nor a document's collection can name another tenant's row.
 * - `documents.kind`: `document` or `template` (templates are read by every member of the
 *   workspace who is not a guest, see `core/access.ts`), and `documents.collection_id`.
 * - `document_stars` and `document_views`: per user and document, whether it is starred and
 *   when it was last opened (one row each, updated in place).
 * - Indexes for the list's orders: last updated, and title without regard to case.
 * - Making a template a document again takes the workspace's implicit read away, so it
 *   bumps the tenant's access version (migration 0009) like a revoked grant.
 */
import { sql, type Kysely } from 'kysely';
import type { MigrationContext } from './context.js';
import { enableTenantRls, grantTables } from './context.js';

export function workspaceOrganisation(ctx: MigrationContext) {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await sql`
        create table collections (
          id uuid primary key default gen_random_uuid(),
          tenant_id uuid not null references tenants(id) on delete cascade,
          parent_id uuid,
          name text not null check (length(name) between 1 and 120),
          created_by uuid references users(id) on delete set null,
          created_at timestamptz not null default now(),
          updated_at timestamptz not null default now(),
          constraint collections_tenant_id_id_key unique (tenant_id, id),
          constraint collections_parent_tenant_fkey foreign key (tenant_id, parent_id) references collections (tenant_id, id),
          constraint collections_not_own_parent check (parent_id is null or parent_id <> id)
        )`.execute(db);
      await sql`create index collections_parent_idx on collections (tenant_id, parent_id)`.execute(db);
      await enableTenantRls(db, 'collections');

      await sql`
        alter table documents
          add column kind text not null default 'document' check (kind in ('document', 'template')),
          add column collection_id uuid,
          add constraint documents_collection_tenant_fkey foreign key (tenant_id, collection_id) references collections (tenant_id, id)`.execute(db);
      await sql`create index documents_collection_idx on documents (tenant_id, collection_id) where collection_id is not null`.execute(db);
      await sql`create index documents_updated_idx on documents (tenant_id, updated_at desc, id desc) where deleted_at is null`.execute(db);
      await sql`create index documents_title_idx on documents (tenant_id, lower(title), id) where deleted_at is null`.execute(db);

      for (const table of ['document_stars', 'document_views']) {
        const at = table === 'document_stars' ? 'starred_at' : 'viewed_at';
        await sql`
          create table ${sql.raw(table)} (
            document_id uuid not null,
            tenant_id uuid not null,
            user_id uuid not null references users(id) on delete cascade,
            ${sql.raw(at)} timestamptz not null default now(),
            primary key (document_id, user_id),
            foreign key (tenant_id, document_id) references documents (tenant_id, id) on delete cascade
          )`.execute(db);
        await sql`create index ${sql.raw(`${table}_user_idx`)} on ${sql.raw(table)} (user_id, ${sql.raw(at)} desc, document_id desc)`.execute(db);
        await enableTenantRls(db, table);
      }
      await grantTables(db, ctx, ['collections', 'document_stars', 'document_views']);

      await sql`
        create trigger documents_kind_access_version after update of kind on documents
          for each row when (old.kind = 'template' and new.kind <> 'template')
          execute function quire_bump_access_version()`.execute(db);
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await sql`drop trigger if exists documents_kind_access_version on documents`.execute(db);
      await sql`drop table if exists document_views`.execute(db);
      await sql`drop table if exists document_stars`.execute(db);
      await sql`drop index if exists documents_title_idx`.execute(db);
      await sql`drop index if exists documents_updated_idx`.execute(db);
      await sql`drop index if exists documents_collection_idx`.execute(db);
      await sql`alter table documents drop constraint if exists documents_collection_tenant_fkey, drop column if exists collection_id, drop column if exists kind`.execute(db);
      await sql`drop table if exists collections`.execute(db);
    },
  };
}
