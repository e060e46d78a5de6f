/**
 * Files in documents: images shown inline and attachments shown as cards.
 *
 * - `attachments`: one row per uploaded file, created when its upload starts (status
 *   `uploading`, `size` the declared length, so the workspace quota counts uploads in
 *   flight) and made `ready` when its last byte is stored. The bytes live in the blob store
 *   (lib/storage) under `storage_key`; the row holds what a download needs (name, type,
 *   size) and what the workers extract from it (`extracted_text` for search).
 *   `document_id` is set null when its document is purged, which hands the blob to the
 *   collector; `unreferenced_since` is when the collector first found no version of the
 *   document referring to it (cleared when one does again).
 * - `tenants.storage_quota_bytes`: the workspace's quota when it differs from the
 *   deployment's `WORKSPACE_STORAGE_QUOTA_BYTES`; `tenants.storage_used_bytes`: what its
 *   attachments take. A new attachment adds its size with one conditional update (which
 *   fails past the quota, so two uploads cannot both take the last bytes); a trigger takes
 *   a removed attachment's size back and follows a size that changes.
 * - The change feed gains `document.attachment` (subject: the attachment): the workers
 *   extract its text and re-index its document.
 * - `quire_attachments_due(checked_before, stale_uploads, limit)`: the attachments the
 *   collector should look at, across tenants, ids only: those whose document was purged,
 *   uploads started before `stale_uploads` that never finished, and ready files not looked
 *   at since `checked_before` (created before it, too), least recently looked at first.
 */
import { sql, type Kysely } from 'kysely';
import type { MigrationContext } from './context.js';
import { enableTenantRls, grantTables, ident } from './context.js';

const OLD_TYPES = ['document.created', 'document.changed', 'document.deleted', 'document.permissions', 'document.commented', 'document.shared', 'document.review'];
const NEW_TYPES = [...OLD_TYPES, 'document.attachment'];
const typeCheck = (types: string[]) => sql.raw(`check (type in (${types.map((t) => `'${t}'`).join(', ')}))`);
const FNS = ['quire_attachments_due(timestamptz, timestamptz, int)'];

export function attachments(ctx: MigrationContext) {
  const app = sql.raw(ident(ctx.appRole));
  const schema = sql.raw(ident(ctx.schema));
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await sql`
        create table attachments (
          id uuid primary key,
          tenant_id uuid not null references tenants(id) on delete cascade,
          document_id uuid references documents(id) on delete set null,
          created_by uuid references users(id) on delete set null,
          name text not null check (char_length(name) between 1 and 255),
          content_type text not null check (char_length(content_type) between 3 and 255),
          kind text not null check (kind in ('image', 'file')),
          size bigint not null check (size >= 0),
          storage_key text not null,
          status text not null default 'uploading' check (status in ('uploading', 'ready')),
          created_at timestamptz not null default now(),
          ready_at timestamptz,
          extraction_status text not null default 'none' check (extraction_status in ('none', 'pending', 'done', 'failed')),
          extracted_text text,
          extracted_at timestamptz,
          extraction_error text,
          unreferenced_since timestamptz,
          checked_at timestamptz
        )`.execute(db);
      await sql`create index attachments_document_idx on attachments (tenant_id, document_id, created_at)`.execute(db);
      await sql`create index attachments_collect_idx on attachments (coalesce(checked_at, created_at))`.execute(db);
      await enableTenantRls(db, 'attachments');
      await grantTables(db, ctx, ['attachments']);
      await sql`alter table tenants add column storage_quota_bytes bigint check (storage_quota_bytes >= 0)`.execute(db);
      await sql`alter table tenants add column storage_used_bytes bigint not null default 0`.execute(db);
      await sql`
        create function quire_attachment_storage() returns trigger language plpgsql as $$
        begin
          if tg_op = 'DELETE' then
            update tenants set storage_used_bytes = storage_used_bytes - old.size where id = old.tenant_id;
          elsif new.size <> old.size then
            update tenants set storage_used_bytes = storage_used_bytes + new.size - old.size where id = new.tenant_id;
          end if;
          return null;
        end $$`.execute(db);
      await sql`create trigger attachments_storage after delete or update of size on attachments for each row execute function quire_attachment_storage()`.execute(db);
      await sql`alter table document_events drop constraint if exists document_events_type_check`.execute(db);
      await sql`alter table document_events add constraint document_events_type_check ${typeCheck(NEW_TYPES)}`.execute(db);
      await sql`
        create or replace function quire_attachments_due(p_checked_before timestamptz, p_stale_uploads timestamptz, p_limit int)
          returns table (tenant_id uuid, attachment_id uuid, document_id uuid, status text)
          language sql stable security definer
          set search_path = ${schema}, pg_temp
          as $$ select a.tenant_id, a.id, a.document_id, a.status from attachments a
                where a.document_id is null
                   or (a.status = 'uploading' and a.created_at < p_stale_uploads)
                   or (a.status = 'ready' and coalesce(a.checked_at, a.created_at) < p_checked_before)
                order by coalesce(a.checked_at, a.created_at), a.id limit p_limit $$`.execute(db);
      for (const fn of FNS) {
        await sql`revoke all on function ${sql.raw(fn)} from public`.execute(db);
        await sql`grant execute on function ${sql.raw(fn)} to ${app}`.execute(db);
      }
    },
    async down(db: Kysely<unknown>): Promise<void> {
      for (const fn of FNS) await sql`drop function if exists ${sql.raw(fn)}`.execute(db);
      await sql`delete from document_events where type = 'document.attachment'`.execute(db);
      await sql`alter table document_events drop constraint if exists document_events_type_check`.execute(db);
      await sql`alter table document_events add constraint document_events_type_check ${typeCheck(OLD_TYPES)}`.execute(db);
      await sql`drop table if exists attachments`.execute(db);
      await sql`drop function if exists quire_attachment_storage()`.execute(db);
      await sql`alter table tenants drop column if exists storage_quota_bytes`.execute(db);
      await sql`alter table tenants drop column if exists storage_used_bytes`.execute(db);
    },
  };
}
