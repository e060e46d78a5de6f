/**
 * Tenants, users, refresh tokens, documents, per-document permissions and the audit log,
 * each tenant-owned table guarded by row-level security on `app.tenant_id`.
 */
import { sql, type Kysely } from 'kysely';
import type { MigrationContext } from './context.js';
import { grantTables, ident, enableTenantRls } from './context.js';

const TABLES = ['tenants', 'users', 'refresh_tokens', 'documents', 'document_permissions', 'audit_log'];

export function foundation(ctx: MigrationContext) {
  const app = ident(ctx.appRole);
  const schema = ident(ctx.schema);
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await sql`
        create or replace function quire_current_tenant() returns uuid
          language sql stable
          as $$ select nullif(current_setting('app.tenant_id', true), '')::uuid $$
      `.execute(db);

      await sql`
        create table tenants (
          id uuid primary key,
          name text not null check (length(name) between 1 and 200),
          created_at timestamptz not null default now()
        )`.execute(db);

      await sql`
        create table users (
          id uuid primary key default gen_random_uuid(),
          tenant_id uuid not null references tenants(id) on delete cascade,
          email text not null check (length(email) between 3 and 254),
          display_name text check (display_name is null or length(display_name) <= 200),
          password_hash text not null,
          role text not null check (role in ('owner', 'admin', 'member', 'guest')),
          created_at timestamptz not null default now(),
          updated_at timestamptz not null default now(),
          disabled_at timestamptz
        )`.execute(db);
      await sql`create unique index users_email_key on users (lower(email))`.execute(db);
      await sql`create index users_tenant_idx on users (tenant_id)`.execute(db);

      await sql`
        create table refresh_tokens (
          id uuid primary key default gen_random_uuid(),
          tenant_id uuid not null references tenants(id) on delete cascade,
          user_id uuid not null references users(id) on delete cascade,
          family_id uuid not null,
          token_hash text not null unique,
          created_at timestamptz not null default now(),
          expires_at timestamptz not null,
          used_at timestamptz,
          revoked_at timestamptz,
          ip text
        )`.execute(db);
      await sql`create index refresh_tokens_family_idx on refresh_tokens (family_id)`.execute(db);
      await sql`create index refresh_tokens_user_idx on refresh_tokens (user_id)`.execute(db);

      await sql`
        create table documents (
          id uuid primary key default gen_random_uuid(),
          tenant_id uuid not null references tenants(id) on delete cascade,
          title text not null check (length(title) between 1 and 500),
          created_by uuid references users(id) on delete set null,
          created_at timestamptz not null default now(),
          updated_at timestamptz not null default now(),
          deleted_at timestamptz
        )`.execute(db);
      await sql`create index documents_list_idx on documents (tenant_id, created_at desc, id desc) where deleted_at is null`.execute(db);

      await sql`
        create table document_permissions (
          tenant_id uuid not null references tenants(id) on delete cascade,
          document_id uuid not null references documents(id) on delete cascade,
          user_id uuid not null references users(id) on delete cascade,
          level text not null check (level in ('read', 'write', 'admin')),
          granted_by uuid references users(id) on delete set null,
          updated_at timestamptz not null default now(),
          primary key (document_id, user_id)
        )`.execute(db);
      await sql`create index document_permissions_user_idx on document_permissions (user_id)`.execute(db);

      await sql`
        create table audit_log (
          id bigint generated always as identity primary key,
          tenant_id uuid not null references tenants(id) on delete cascade,
          actor_id uuid,
          action text not null,
          target_type text,
          target_id text,
          ip text,
          detail jsonb,
          created_at timestamptz not null default now()
        )`.execute(db);
      await sql`create index audit_log_tenant_idx on audit_log (tenant_id, created_at desc)`.execute(db);

      await sql`alter table tenants enable row level security`.execute(db);
      await sql`create policy tenant_isolation on tenants using (id = quire_current_tenant()) with check (id = quire_current_tenant())`.execute(db);
      for (const t of TABLES.slice(1)) await enableTenantRls(db, t);

      // Login knows an email, not a tenant: this definer function reveals only which
      // tenant an active email belongs to, so the app role never reads users across tenants.
      await sql`
        create or replace function quire_login_lookup(p_email text)
          returns table (tenant_id uuid, user_id uuid)
          language sql stable security definer
          set search_path = ${sql.raw(schema)}, pg_temp
          as $$ select u.tenant_id, u.id from users u where lower(u.email) = lower(p_email) and u.disabled_at is null $$
      `.execute(db);
      await sql`revoke all on function quire_login_lookup(text) from public`.execute(db);
      await sql`grant execute on function quire_login_lookup(text) to ${sql.raw(app)}`.execute(db);

      await grantTables(db, ctx, ['tenants', 'users', 'refresh_tokens', 'documents', 'document_permissions']);
      // The audit log is append-only for the application.
      await sql`grant select, insert on audit_log to ${sql.raw(app)}`.execute(db);
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await sql`drop function if exists quire_login_lookup(text)`.execute(db);
      for (const t of [...TABLES].reverse()) await sql`drop table if exists ${sql.raw(ident(t))} cascade`.execute(db);
      await sql`drop function if exists quire_current_tenant()`.execute(db);
    },
  };
}
