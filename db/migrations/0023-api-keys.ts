/**
 * API keys for integrations: a key acts as the user who made it, limited to its scopes
 * (`read`, `write`, `search`, `admin`), until it expires or is revoked. The key itself
 * (`qak_<tenant>.<secret>`) is shown once and stored as a SHA-256 digest; `hint` keeps its
 * last four characters so people can tell keys apart. `last_used_at`/`last_used_ip` record
 * use (at most once a minute per key).
 *
 * Revoking a key bumps the tenant's access version (migration 0009), so sync instances that
 * missed the access event close the key's sockets within their poll.
 */
import { sql, type Kysely } from 'kysely';
import type { MigrationContext } from './context.js';
import { enableTenantRls, grantTables } from './context.js';

export function apiKeys(ctx: MigrationContext) {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await sql`
        create table api_keys (
          id uuid primary key default gen_random_uuid(),
          tenant_id uuid not null references tenants(id) on delete cascade,
          user_id uuid not null references users(id) on delete cascade,
          name text not null,
          scopes text[] not null check (cardinality(scopes) > 0 and scopes <@ array['read', 'write', 'search', 'admin']),
          key_hash text not null unique,
          hint text not null,
          created_at timestamptz not null default now(),
          expires_at timestamptz not null,
          revoked_at timestamptz,
          last_used_at timestamptz,
          last_used_ip text
        )`.execute(db);
      await sql`create index api_keys_user_idx on api_keys (tenant_id, user_id)`.execute(db);
      await enableTenantRls(db, 'api_keys');
      await grantTables(db, ctx, ['api_keys']);
      await sql`
        create trigger api_keys_access_version after update of revoked_at on api_keys
          for each row when (old.revoked_at is null and new.revoked_at is not null)
          execute function quire_bump_access_version()`.execute(db);
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await sql`drop table if exists api_keys`.execute(db);
    },
  };
}
