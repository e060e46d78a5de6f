/**
 * Sessions: one row per signed-in device. A session is a refresh-token family (its id is
 * the family id): it starts at sign-in, every refresh rotates its token and records when
 * and from where it was last used, and it ends when the user signs it out (from that device
 * or from another), signs out everywhere, changes their password, or an admin ends it.
 *
 * Access tokens carry their session (`sid`), and a token of an ended session is refused on
 * the next request; ending one bumps the tenant's access version (migration 0009), so sync
 * instances that missed the access event close the session's sockets within their poll.
 *
 * Existing refresh-token families become sessions (method `password`).
 */
import { sql, type Kysely } from 'kysely';
import type { MigrationContext } from './context.js';
import { enableTenantRls, grantTables } from './context.js';

export function sessions(ctx: MigrationContext) {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await sql`
        create table sessions (
          id uuid primary key,
          tenant_id uuid not null references tenants(id) on delete cascade,
          user_id uuid not null references users(id) on delete cascade,
          method text not null check (method in ('signup', 'password', 'sso', 'invitation', 'password_reset')),
          mfa boolean not null default false,
          user_agent text,
          ip text,
          created_at timestamptz not null default now(),
          last_used_at timestamptz not null default now(),
          last_ip text,
          ended_at timestamptz,
          ended_reason text
        )`.execute(db);
      await sql`create index sessions_user_idx on sessions (tenant_id, user_id) where ended_at is null`.execute(db);
      await enableTenantRls(db, 'sessions');
      await grantTables(db, ctx, ['sessions']);
      await sql`
        insert into sessions (id, tenant_id, user_id, method, ip, created_at, last_used_at, last_ip, ended_at, ended_reason)
        select family_id, tenant_id, user_id, 'password',
               (array_agg(ip order by created_at))[1], min(created_at), max(created_at),
               (array_agg(ip order by created_at desc))[1],
               case when bool_and(revoked_at is not null) then max(revoked_at) end,
               case when bool_and(revoked_at is not null) then 'signed_out' end
          from refresh_tokens group by family_id, tenant_id, user_id`.execute(db);
      await sql`
        create trigger sessions_access_version after update of ended_at on sessions
          for each row when (old.ended_at is null and new.ended_at is not null)
          execute function quire_bump_access_version()`.execute(db);
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await sql`drop table if exists sessions`.execute(db);
    },
  };
}
