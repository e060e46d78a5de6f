/**
 * Share links:
 *
 * - `documents.link_access`: `none`, `read` or `write`. Every member of the workspace who is
 *   not a guest and has the document's address gets at least that level on it
 *   (`core/access.ts`); it does not list the document for anyone or make it searchable.
 *   Lowering it takes access away, so it bumps the tenant's access version (migration 0009)
 *   like a revoked grant, and instances re-check their open sockets.
 * - `document_public_links`: at most one public read-only link per document, keyed
 *   `(tenant_id, document_id)` like the other document-keyed tables (migration 0006). Only
 *   the SHA-256 of its token is stored; the token names its tenant, so the link is looked
 *   up under that tenant's row-level security. Creating a link again replaces the row.
 * - `tenants.public_links_enabled`: the workspace's switch for public links (on by default).
 *   Turned off, every link of the workspace stops answering; the links are kept and work
 *   again when it is turned back on.
 */
import { sql, type Kysely } from 'kysely';
import type { MigrationContext } from './context.js';
import { enableTenantRls, grantTables } from './context.js';

/** A link level as a number, for the trigger's "lowered" test. */
const rank = (level: string) => sql.raw(`(case ${level} when 'write' then 2 when 'read' then 1 else 0 end)`);

export function shareLinks(ctx: MigrationContext) {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await sql`alter table documents add column link_access text not null default 'none' check (link_access in ('none', 'read', 'write'))`.execute(db);
      await sql`
        create trigger documents_link_access_version after update of link_access on documents
          for each row when (${rank('old.link_access')} > ${rank('new.link_access')})
          execute function quire_bump_access_version()`.execute(db);

      await sql`alter table tenants add column public_links_enabled boolean not null default true`.execute(db);

      await sql`
        create table document_public_links (
          document_id uuid not null,
          tenant_id uuid not null,
          token_hash text not null,
          created_by uuid references users(id) on delete set null,
          created_at timestamptz not null default now(),
          primary key (tenant_id, document_id),
          constraint document_public_links_token_hash_key unique (token_hash),
          foreign key (tenant_id, document_id) references documents (tenant_id, id) on delete cascade
        )`.execute(db);
      await enableTenantRls(db, 'document_public_links');
      await grantTables(db, ctx, ['document_public_links']);
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await sql`drop table if exists document_public_links`.execute(db);
      await sql`alter table tenants drop column if exists public_links_enabled`.execute(db);
      await sql`drop trigger if exists documents_link_access_version on documents`.execute(db);
      await sql`alter table documents drop column if exists link_access`.execute(db);
    },
  };
}
