/**
 * Log rows that cannot be applied. Yjs accepts some updates when decoding that throw when
 * applied; one stored before updates were validated made every later load of its document
 * fail. Compaction (and `npm run repair`) moves such a row here, bytes intact, so the
 * document loads again and the row stays available for inspection or a manual fix.
 *
 * Keyed like every document-keyed table since 0007: one composite key to its document,
 * `(tenant_id, document_id) → documents (tenant_id, id)`, with row-level security by tenant.
 */
import { sql, type Kysely } from 'kysely';
import type { MigrationContext } from './context.js';
import { enableTenantRls, ident } from './context.js';

export function documentQuarantine(ctx: MigrationContext) {
  const app = sql.raw(ident(ctx.appRole));
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await sql`
        create table document_quarantine (
          seq bigint primary key,
          tenant_id uuid not null,
          document_id uuid not null,
          data bytea not null,
          user_id uuid,
          created_at timestamptz not null,
          quarantined_at timestamptz not null default now(),
          code text not null,
          detail text not null,
          constraint document_quarantine_document_tenant_fkey
            foreign key (tenant_id, document_id) references documents (tenant_id, id) on delete cascade
        )`.execute(db);
      await sql`create index document_quarantine_doc_idx on document_quarantine (document_id, seq)`.execute(db);
      await enableTenantRls(db, 'document_quarantine');
      await sql`grant select, insert, delete on document_quarantine to ${app}`.execute(db);
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await sql`drop table if exists document_quarantine`.execute(db);
    },
  };
}
