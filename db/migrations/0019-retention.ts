/**
 * Retention: the worker purges documents deleted more than `TRASH_RETENTION_DAYS` ago and
 * removes automatic versions older than `HISTORY_RETENTION_DAYS`.
 *
 * The worker has no tenant, and row-level security would show it nothing: two
 * `SECURITY DEFINER` functions answer which (tenant, document) pairs have something due —
 * ids only, never content. The deletes themselves run in tenant-bound transactions under
 * row-level security like any command.
 *
 * - `quire_trash_due(cutoff, limit)`: documents deleted before `cutoff`, oldest deletion
 *   first (a partial index on `deleted_at`: only deleted documents are in it).
 * - `quire_versions_due(cutoff, limit)`: documents with an automatic version created before
 *   `cutoff` that is not their newest version (a partial index on `created_at` of automatic
 *   versions), those with the oldest such version first.
 */
import { sql, type Kysely } from 'kysely';
import type { MigrationContext } from './context.js';
import { ident } from './context.js';

const FNS = ['quire_trash_due(timestamptz, int)', 'quire_versions_due(timestamptz, int)'];

export function retention(ctx: MigrationContext) {
  const app = sql.raw(ident(ctx.appRole));
  const schema = sql.raw(ident(ctx.schema));
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await sql`create index documents_deleted_at_idx on documents (deleted_at) where deleted_at is not null`.execute(db);
      await sql`create index document_versions_auto_created_idx on document_versions (created_at) where kind = 'auto'`.execute(db);
      await sql`
        create or replace function quire_trash_due(p_cutoff timestamptz, p_limit int)
          returns table (tenant_id uuid, document_id uuid)
          language sql stable security definer
          set search_path = ${schema}, pg_temp
          as $$ select d.tenant_id, d.id from documents d
                where d.deleted_at is not null and d.deleted_at < p_cutoff
                order by d.deleted_at, d.id limit p_limit $$`.execute(db);
      await sql`
        create or replace function quire_versions_due(p_cutoff timestamptz, p_limit int)
          returns table (tenant_id uuid, document_id uuid)
          language sql stable security definer
          set search_path = ${schema}, pg_temp
          as $$ select v.tenant_id, v.document_id from document_versions v
                where v.kind = 'auto' and v.created_at < p_cutoff
                  and exists (select 1 from document_versions n
                               where n.tenant_id = v.tenant_id and n.document_id = v.document_id and n.seq > v.seq)
                group by v.tenant_id, v.document_id
                order by min(v.created_at) limit p_limit $$`.execute(db);
      for (const fn of FNS) {
        await sql.raw(`revoke all on function ${fn} from public`).execute(db);
        await sql`grant execute on function ${sql.raw(fn)} to ${app}`.execute(db);
      }
    },
    async down(db: Kysely<unknown>): Promise<void> {
      for (const fn of FNS) await sql.raw(`drop function if exists ${fn}`).execute(db);
      await sql`drop index if exists document_versions_auto_created_idx`.execute(db);
      await sql`drop index if exists documents_deleted_at_idx`.execute(db);
    },
  };
}
