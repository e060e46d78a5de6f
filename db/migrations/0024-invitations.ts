/**
 * Invitations and password resets.
 *
 * - `invitations`: an owner or admin invites an email address to the workspace with a role
 *   (never `owner`). The invitee proves they hold the link: its token
 *   (`qin_<tenantId>.<32 random bytes, base64url>`) is stored as a SHA-256 hash and looked
 *   up by that hash. An invitation is pending until it is accepted (a user is created with
 *   its role), revoked, or it expires; a resend revokes the old row and makes a new one, so
 *   the old link dies. At most one pending invitation per workspace and email (a partial
 *   unique index; an expired one that was never accepted is revoked when the email is invited
 *   again).
 * - `password_resets`: a one-time link (`qpr_<tenantId>.<secret>`, hashed the same way) that
 *   sets a user's password and ends all their sessions; asked for by the user (by email) or
 *   made by an admin (`created_by`). Using one uses every other outstanding link of the user.
 *
 * Emails are unique across the product (`users_email_key`); `quire_email_registered(email)`
 * says whether any account, in any workspace and in any state, holds one (a yes/no only,
 * `SECURITY DEFINER`), so an admin's invitation of an address taken elsewhere fails at once
 * instead of at the invitee's acceptance.
 */
import { sql, type Kysely } from 'kysely';
import type { MigrationContext } from './context.js';
import { enableTenantRls, grantTables, ident } from './context.js';

export function invitations(ctx: MigrationContext) {
  const app = sql.raw(ident(ctx.appRole));
  const schema = sql.raw(ident(ctx.schema));
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await sql`
        create table invitations (
          id uuid primary key default gen_random_uuid(),
          tenant_id uuid not null references tenants(id) on delete cascade,
          email text not null check (length(email) between 3 and 254 and email = lower(email)),
          role text not null check (role in ('admin', 'member', 'guest')),
          invited_by uuid references users(id) on delete set null,
          token_hash text not null unique,
          created_at timestamptz not null default clock_timestamp(),
          expires_at timestamptz not null,
          accepted_at timestamptz,
          accepted_user_id uuid references users(id) on delete set null,
          revoked_at timestamptz,
          check (accepted_at is null or revoked_at is null),
          unique (tenant_id, id)
        )`.execute(db);
      await sql`create unique index invitations_pending_key on invitations (tenant_id, email) where accepted_at is null and revoked_at is null`.execute(db);
      await sql`create index invitations_tenant_idx on invitations (tenant_id, created_at desc)`.execute(db);
      await enableTenantRls(db, 'invitations');

      await sql`
        create table password_resets (
          id uuid primary key default gen_random_uuid(),
          tenant_id uuid not null references tenants(id) on delete cascade,
          user_id uuid not null references users(id) on delete cascade,
          token_hash text not null unique,
          created_by uuid references users(id) on delete set null,
          created_at timestamptz not null default clock_timestamp(),
          expires_at timestamptz not null,
          used_at timestamptz
        )`.execute(db);
      await sql`create index password_resets_user_idx on password_resets (tenant_id, user_id) where used_at is null`.execute(db);
      await enableTenantRls(db, 'password_resets');

      await grantTables(db, ctx, ['invitations', 'password_resets']);

      await sql`
        create or replace function quire_email_registered(p_email text)
          returns boolean
          language sql stable security definer
          set search_path = ${schema}, pg_temp
          as $$ select exists (select 1 from users u where lower(u.email) = lower(p_email)) $$`.execute(db);
      await sql`revoke all on function quire_email_registered(text) from public`.execute(db);
      await sql`grant execute on function quire_email_registered(text) to ${app}`.execute(db);
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await sql`drop function if exists quire_email_registered(text)`.execute(db);
      await sql`drop table if exists password_resets`.execute(db);
      await sql`drop table if exists invitations`.execute(db);
    },
  };
}
