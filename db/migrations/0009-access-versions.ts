/**
 * Access versions: one counter per tenant, bumped by triggers in the same transaction as
 * every change that can take access away — a grant changed or removed, a user's role
 * changed, a user disabled or deleted, a document deleted. Sync instances poll the
 * counters of the tenants they serve and re-check those tenants' open connections when
 * one moved, so a revocation reaches every socket within the poll interval even when its
 * Redis event was lost. Triggers rather than command code: every path that changes access
 * (including ones written later, or an operator's SQL) counts.
 *
 * New grants are not counted: they never take access away, and document creation (which
 * grants its creator `admin`) stays off the counter's row lock.
 *
 * The app role has no privileges on the table: the triggers write it as its owner
 * (security definer) and `quire_access_versions` reads counters, nothing else.
 */
import { sql, type Kysely } from 'kysely';
import type { MigrationContext } from './context.js';
import { ident } from './context.js';

export function accessVersions(ctx: MigrationContext) {
  const app = sql.raw(ident(ctx.appRole));
  const schema = sql.raw(ident(ctx.schema));
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      // No key to `tenants`: a tenant's deletion cascades into rows whose triggers bump it.
      await sql`
        create table access_versions (
          tenant_id uuid primary key,
          version bigint not null,
          changed_at timestamptz not null default now()
        )`.execute(db);
      await sql`alter table access_versions enable row level security`.execute(db);

      await sql`
        create or replace function quire_bump_access_version() returns trigger
          language plpgsql security definer
          set search_path = ${schema}, pg_temp
          as $$
          declare t uuid;
          begin
            if tg_op = 'DELETE' then t := old.tenant_id; else t := new.tenant_id; end if;
            insert into access_versions as v (tenant_id, version) values (t, 1)
              on conflict (tenant_id) do update set version = v.version + 1, changed_at = now();
            return null;
          end $$`.execute(db);
      await sql`revoke all on function quire_bump_access_version() from public`.execute(db);

      await sql`
        create trigger document_permissions_access_version after update or delete on document_permissions
          for each row execute function quire_bump_access_version()`.execute(db);
      await sql`
        create trigger users_access_version after update of role, disabled_at on users
          for each row when (old.role is distinct from new.role or old.disabled_at is distinct from new.disabled_at)
          execute function quire_bump_access_version()`.execute(db);
      await sql`
        create trigger users_deleted_access_version after delete on users
          for each row execute function quire_bump_access_version()`.execute(db);
      await sql`
        create trigger documents_access_version after update of deleted_at on documents
          for each row when (old.deleted_at is distinct from new.deleted_at)
          execute function quire_bump_access_version()`.execute(db);

      await sql`
        create or replace function quire_access_versions(p_tenants uuid[])
          returns table (tenant_id uuid, version bigint)
          language sql stable security definer
          set search_path = ${schema}, pg_temp
          as $$ select a.tenant_id, a.version from access_versions a where a.tenant_id = any(p_tenants) $$`.execute(db);
      await sql`revoke all on function quire_access_versions(uuid[]) from public`.execute(db);
      await sql`grant execute on function quire_access_versions(uuid[]) to ${app}`.execute(db);
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await sql`drop trigger if exists document_permissions_access_version on document_permissions`.execute(db);
      await sql`drop trigger if exists users_access_version on users`.execute(db);
      await sql`drop trigger if exists users_deleted_access_version on users`.execute(db);
      await sql`drop trigger if exists documents_access_version on documents`.execute(db);
      await sql`drop function if exists quire_access_versions(uuid[])`.execute(db);
      await sql`drop function if exists quire_bump_access_version()`.execute(db);
      await sql`drop table if exists access_versions`.execute(db);
    },
  };
}
