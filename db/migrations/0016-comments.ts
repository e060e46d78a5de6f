/**
 * Comments, and the `comment` level that may write them without editing the text:
 *
 * - `document_permissions.level` and `documents.link_access` accept `comment` (between
 *   `read` and `write`). A link lowered from `write` to `comment` takes access away, so the
 *   link-access trigger of migration 0014 is redefined with the new order.
 * - `document_comments`: threads (`parent_id` null) and their replies. A thread's anchor is
 *   a pair of Yjs relative positions (base64 of `Y.encodeRelativePosition`) into the
 *   document's `default` fragment, with the text it covered when it was made (`quote`), so a
 *   comment whose text was deleted is still shown, as detached. Deleting a thread deletes
 *   its replies; a deleted author leaves the comment with no author.
 * - `comment_mentions`: who a comment mentions, for notifications (one row per comment and
 *   user; kept in step with the body when it is edited).
 */
import { sql, type Kysely } from 'kysely';
import type { MigrationContext } from './context.js';
import { enableTenantRls, grantTables } from './context.js';

/** A link level as a number, for the trigger's "lowered" test. */
const rank = (level: string, withComment: boolean) =>
  sql.raw(withComment ? `(case ${level} when 'write' then 3 when 'comment' then 2 when 'read' then 1 else 0 end)` : `(case ${level} when 'write' then 2 when 'read' then 1 else 0 end)`);

async function linkTrigger(db: Kysely<unknown>, withComment: boolean): Promise<void> {
  await sql`drop trigger if exists documents_link_access_version on documents`.execute(db);
  await sql`
    create trigger documents_link_access_version after update of link_access on documents
      for each row when (${rank('old.link_access', withComment)} > ${rank('new.link_access', withComment)})
      execute function quire_bump_access_version()`.execute(db);
}

export function comments(ctx: MigrationContext) {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await sql`alter table document_permissions drop constraint if exists document_permissions_level_check`.execute(db);
      await sql`alter table document_permissions add constraint document_permissions_level_check check (level in ('read', 'comment', 'write', 'admin'))`.execute(db);
      await sql`alter table documents drop constraint if exists documents_link_access_check`.execute(db);
      await sql`alter table documents add constraint documents_link_access_check check (link_access in ('none', 'read', 'comment', 'write'))`.execute(db);
      await linkTrigger(db, true);

      await sql`
        create table document_comments (
          id uuid primary key default gen_random_uuid(),
          tenant_id uuid not null,
          document_id uuid not null,
          parent_id uuid references document_comments(id) on delete cascade,
          author_id uuid references users(id) on delete set null,
          body text not null check (length(body) between 1 and 10000),
          anchor_start text,
          anchor_end text,
          quote text not null default '',
          resolved_at timestamptz,
          resolved_by uuid references users(id) on delete set null,
          created_at timestamptz not null default now(),
          edited_at timestamptz,
          foreign key (tenant_id, document_id) references documents (tenant_id, id) on delete cascade,
          constraint document_comments_anchor_pair check ((anchor_start is null) = (anchor_end is null)),
          constraint document_comments_reply_shape check (parent_id is null or (anchor_start is null and resolved_at is null))
        )`.execute(db);
      await sql`create index document_comments_document_idx on document_comments (tenant_id, document_id, created_at, id)`.execute(db);
      await sql`create index document_comments_parent_idx on document_comments (parent_id) where parent_id is not null`.execute(db);
      await enableTenantRls(db, 'document_comments');

      await sql`
        create table comment_mentions (
          comment_id uuid not null references document_comments(id) on delete cascade,
          tenant_id uuid not null,
          document_id uuid not null,
          user_id uuid not null references users(id) on delete cascade,
          created_at timestamptz not null default now(),
          primary key (comment_id, user_id)
        )`.execute(db);
      await sql`create index comment_mentions_user_idx on comment_mentions (tenant_id, user_id, created_at desc)`.execute(db);
      await enableTenantRls(db, 'comment_mentions');
      await grantTables(db, ctx, ['document_comments', 'comment_mentions']);
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await sql`drop table if exists comment_mentions`.execute(db);
      await sql`drop table if exists document_comments`.execute(db);
      await sql`update document_permissions set level = 'read' where level = 'comment'`.execute(db);
      await sql`update documents set link_access = 'read' where link_access = 'comment'`.execute(db);
      await sql`alter table document_permissions drop constraint if exists document_permissions_level_check`.execute(db);
      await sql`alter table document_permissions add constraint document_permissions_level_check check (level in ('read', 'write', 'admin'))`.execute(db);
      await sql`alter table documents drop constraint if exists documents_link_access_check`.execute(db);
      await sql`alter table documents add constraint documents_link_access_check check (link_access in ('none', 'read', 'write'))`.execute(db);
      await linkTrigger(db, false);
    },
  };
}
