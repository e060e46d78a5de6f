/**
 * Single sign-on with OpenID Connect, per workspace.
 *
 * - `sso_configs`: one per tenant: the provider's issuer, the client id, the client secret
 *   (encrypted at rest: AES-256-GCM with `SECRETS_KEY`, core/secret-box.ts),
 *   whether SSO is on and mandatory, the role a user provisioned on first sign-in gets
 *   (never `owner`), and the email domains the workspace claims (sign-in discovery by
 *   email, and the only domains a new user may come from when set).
 * - `sso_logins`: one per sign-in attempt, through its life: the hashed `state` (which
 *   names its tenant: `<tenantId>.<random>`), the hash of the browser binding (a cookie set
 *   at the start, so a callback URL lifted into another browser is refused), the nonce and
 *   the encrypted PKCE verifier; it expires in 10 minutes and is used once. After a good
 *   callback it carries the user and the hash of a one-time exchange code (valid 60 s) that
 *   the web app trades for a session.
 * - `user_identities`: (tenant, issuer, subject) → user, unique: who a provider's account is.
 *
 * Sign-in knows an email (or a workspace id), not a tenant: the definer functions
 * `quire_sso_discover(domain)` (which enabled workspace claims an email domain) and
 * `quire_sso_domain_claims(domains, tenant)` (which of these domains another workspace
 * claims) reveal only tenant ids and flags, never users.
 */
import { sql, type Kysely } from 'kysely';
import type { MigrationContext } from './context.js';
import { enableTenantRls, grantTables, ident } from './context.js';

const FNS = ['quire_sso_discover(text)', 'quire_sso_domain_claims(text[], uuid)'];

export function sso(ctx: MigrationContext) {
  const app = sql.raw(ident(ctx.appRole));
  const schema = sql.raw(ident(ctx.schema));
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await sql`
        create table sso_configs (
          tenant_id uuid primary key references tenants(id) on delete cascade,
          issuer text not null check (length(issuer) between 8 and 2048),
          client_id text not null check (length(client_id) between 1 and 512),
          client_secret_enc text check (client_secret_enc is null or length(client_secret_enc) <= 4096),
          enabled boolean not null default true,
          mandatory boolean not null default false,
          default_role text not null default 'member' check (default_role in ('admin', 'member', 'guest')),
          allowed_domains text[] not null default '{}',
          updated_by uuid references users(id) on delete set null,
          created_at timestamptz not null default now(),
          updated_at timestamptz not null default now()
        )`.execute(db);
      await sql`create index sso_configs_domains_idx on sso_configs using gin (allowed_domains)`.execute(db);
      await enableTenantRls(db, 'sso_configs');

      await sql`
        create table sso_logins (
          id uuid primary key default gen_random_uuid(),
          tenant_id uuid not null references tenants(id) on delete cascade,
          state_hash text not null unique,
          browser_hash text not null,
          nonce text not null,
          verifier_enc text not null,
          ip text,
          created_at timestamptz not null default now(),
          expires_at timestamptz not null,
          used_at timestamptz,
          user_id uuid references users(id) on delete cascade,
          exchange_hash text unique,
          exchange_expires_at timestamptz,
          exchanged_at timestamptz
        )`.execute(db);
      await sql`create index sso_logins_expiry_idx on sso_logins (tenant_id, expires_at)`.execute(db);
      await enableTenantRls(db, 'sso_logins');

      await sql`
        create table user_identities (
          tenant_id uuid not null references tenants(id) on delete cascade,
          issuer text not null,
          subject text not null check (length(subject) between 1 and 255),
          user_id uuid not null references users(id) on delete cascade,
          email text,
          created_at timestamptz not null default now(),
          last_login_at timestamptz,
          primary key (tenant_id, issuer, subject)
        )`.execute(db);
      await sql`create index user_identities_user_idx on user_identities (tenant_id, user_id)`.execute(db);
      await enableTenantRls(db, 'user_identities');

      await grantTables(db, ctx, ['sso_configs', 'sso_logins', 'user_identities']);

      await sql`
        create or replace function quire_sso_discover(p_domain text)
          returns table (tenant_id uuid, mandatory boolean)
          language sql stable security definer
          set search_path = ${schema}, pg_temp
          as $$ select c.tenant_id, c.mandatory from sso_configs c
                where c.enabled and lower(p_domain) = any (c.allowed_domains)
                order by c.created_at limit 2 $$`.execute(db);
      await sql`
        create or replace function quire_sso_domain_claims(p_domains text[], p_tenant uuid)
          returns table (domain text)
          language sql stable security definer
          set search_path = ${schema}, pg_temp
          as $$ select distinct d from sso_configs c, unnest(c.allowed_domains) d
                where c.tenant_id <> p_tenant and d = any (p_domains) $$`.execute(db);
      for (const fn of FNS) {
        await sql.raw(`revoke all on function ${fn} from public`).execute(db);
        await sql`grant execute on function ${sql.raw(fn)} to ${app}`.execute(db);
      }
    },
    async down(db: Kysely<unknown>): Promise<void> {
      for (const fn of FNS) await sql.raw(`drop function if exists ${fn}`).execute(db);
      for (const t of ['user_identities', 'sso_logins', 'sso_configs']) await sql.raw(`drop table if exists ${t}`).execute(db);
    },
  };
}
