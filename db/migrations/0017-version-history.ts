/**
 * Version history: `document_versions`, the named, automatic and restore points of a
 * document, numbered per document (`seq`, 1, 2, …).
 *
 * `data` is either the document's full Yjs state (`base_id` null) or the update from the
 * previous version's state to this one (`base_id` = that version): a version is read by
 * applying its nearest full ancestor and every diff after it, in `seq` order.
 * `state_vector` is the version's Yjs state vector (what the next diff starts from);
 * `digest` identifies its state (state vector and deletions), so a checkpoint of a state that
 * is already the latest version is not stored twice. `authors` are the users whose edits the
 * version took in since the previous one.
 */
import { sql, type Kysely } from 'kysely';
import type { MigrationContext } from './context.js';
import { enableTenantRls, grantTables } from './context.js';

export function versionHistory(ctx: MigrationContext) {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await sql`
        create table document_versions (
          id uuid primary key default gen_random_uuid(),
          tenant_id uuid not null,
          document_id uuid not null,
          seq integer not null,
          kind text not null check (kind in ('auto', 'named', 'restore')),
          name text check (name is null or length(name) between 1 and 300),
          created_by uuid references users(id) on delete set null,
          created_at timestamptz not null default clock_timestamp(),
          authors uuid[] not null default '{}',
          state_vector bytea not null,
          digest text not null,
          base_id uuid references document_versions(id),
          data bytea not null,
          foreign key (tenant_id, document_id) references documents (tenant_id, id) on delete cascade,
          unique (tenant_id, document_id, seq)
        )`.execute(db);
      await enableTenantRls(db, 'document_versions');
      await grantTables(db, ctx, ['document_versions']);
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await sql`drop table if exists document_versions`.execute(db);
    },
  };
}
