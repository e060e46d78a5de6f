/**
 * Authorship and "last seen", for comparing versions and for "while you were away":
 *
 * - `document_authorship`: who wrote and who deleted which parts of a document. Each row
 *   holds, for one user, the Yjs item ranges their stored updates inserted (`inserted`) and
 *   deleted (`deleted`), each encoded as a Yjs delete set (`Y.encodeSnapshot` of a snapshot
 *   with an empty state vector). Compaction adds a row per user for the log rows it folds
 *   (the rows carry their user); rows of one document are merged into one per user once
 *   there are many. Ranges rather than Yjs client ids: every server-side write (REST, a
 *   restore) shares its instance's client id whoever made it.
 * - `document_seen`: the version a user's document held when their last connection to it
 *   closed ("what changed since you were here" diffs from it).
 */
import { sql, type Kysely } from 'kysely';
import type { MigrationContext } from './context.js';
import { enableTenantRls, grantTables } from './context.js';

export function authorship(ctx: MigrationContext) {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await sql`
        create table document_authorship (
          id bigint generated always as identity primary key,
          tenant_id uuid not null,
          document_id uuid not null,
          -- No foreign key: log rows keep the id of a user since deleted, and compaction must not fail on them.
          user_id uuid not null,
          inserted bytea not null,
          deleted bytea not null,
          created_at timestamptz not null default now(),
          foreign key (tenant_id, document_id) references documents (tenant_id, id) on delete cascade
        )`.execute(db);
      await sql`create index document_authorship_document on document_authorship (document_id, id)`.execute(db);
      await sql`
        create table document_seen (
          tenant_id uuid not null,
          document_id uuid not null,
          user_id uuid not null references users(id) on delete cascade,
          version_id uuid references document_versions(id) on delete set null,
          seen_at timestamptz not null,
          primary key (tenant_id, document_id, user_id),
          foreign key (tenant_id, document_id) references documents (tenant_id, id) on delete cascade
        )`.execute(db);
      for (const t of ['document_authorship', 'document_seen']) await enableTenantRls(db, t);
      await grantTables(db, ctx, ['document_authorship', 'document_seen']);
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await sql`drop table if exists document_seen`.execute(db);
      await sql`drop table if exists document_authorship`.execute(db);
    },
  };
}
