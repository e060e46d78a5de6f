/**
 * The document store: an append-only log of Yjs updates (the write path commits here
 * before acknowledging) and one compacted snapshot per document.
 */
import { sql, type Kysely } from 'kysely';
import type { MigrationContext } from './context.js';
import { enableTenantRls, ident } from './context.js';

export function documentLog(ctx: MigrationContext) {
  const app = sql.raw(ident(ctx.appRole));
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await sql`
        create table document_updates (
          seq bigint generated always as identity primary key,
          tenant_id uuid not null references tenants(id) on delete cascade,
          document_id uuid not null references documents(id) on delete cascade,
          data bytea not null,
          user_id uuid,
          created_at timestamptz not null default now()
        )`.execute(db);
      await sql`create index document_updates_doc_idx on document_updates (document_id, seq)`.execute(db);
      await sql`
        create table document_snapshots (
          document_id uuid primary key references documents(id) on delete cascade,
          tenant_id uuid not null references tenants(id) on delete cascade,
          state bytea not null,
          last_seq bigint not null,
          updated_at timestamptz not null default now()
        )`.execute(db);
      await enableTenantRls(db, 'document_updates');
      await enableTenantRls(db, 'document_snapshots');
      await sql`grant select, insert, delete on document_updates to ${app}`.execute(db);
      await sql`grant select, insert, update on document_snapshots to ${app}`.execute(db);
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await sql`drop table if exists document_snapshots`.execute(db);
      await sql`drop table if exists document_updates`.execute(db);
    },
  };
}
