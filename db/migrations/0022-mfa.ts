/**
 * Two-factor sign-in (TOTP, RFC 6238).
 *
 * - `users.mfa_secret`: the user's TOTP secret, sealed (AES-256-GCM, `core/secret-box.ts`), set once
 *   enrolment is confirmed with a first code; `mfa_enabled_at`; `mfa_last_step`: the time
 *   step of the last code accepted, so a code works once (a replay, or an older code, is refused).
 * - `mfa_recovery_codes`: ten one-time codes per user, stored as SHA-256 digests.
 * - `mfa_challenges`: the step between a password and a session. Login with a right password
 *   answers `mfa_required` (or `mfa_enrollment_required` when the workspace requires MFA and
 *   the user has none) with a challenge token (`qmc_<tenant>.<secret>`, stored as a digest);
 *   it lives five minutes, allows five wrong codes and is used once. An enrolment challenge
 *   holds the secret being enrolled (sealed).
 * - `secrets_key_check`: one value sealed with the process' secrets key, checked at start.
 * - `tenants.mfa_required`: owners and admins require MFA for everyone signing in with a
 *   password (single sign-on leaves the second factor to the identity provider).
 */
import { sql, type Kysely } from 'kysely';
import type { MigrationContext } from './context.js';
import { enableTenantRls, grantTables, ident } from './context.js';

export function mfa(ctx: MigrationContext) {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await sql`alter table users add column mfa_secret text, add column mfa_enabled_at timestamptz, add column mfa_last_step bigint, add column mfa_pending_secret text`.execute(db);
      await sql`alter table tenants add column mfa_required boolean not null default false`.execute(db);
      await sql`
        create table mfa_recovery_codes (
          id uuid primary key default gen_random_uuid(),
          tenant_id uuid not null references tenants(id) on delete cascade,
          user_id uuid not null references users(id) on delete cascade,
          code_hash text not null,
          created_at timestamptz not null default now(),
          used_at timestamptz,
          unique (user_id, code_hash)
        )`.execute(db);
      await sql`
        create table mfa_challenges (
          id uuid primary key default gen_random_uuid(),
          tenant_id uuid not null references tenants(id) on delete cascade,
          user_id uuid not null references users(id) on delete cascade,
          token_hash text not null unique,
          purpose text not null check (purpose in ('verify', 'enrol')),
          pending_secret text,
          attempts integer not null default 0,
          created_at timestamptz not null default now(),
          expires_at timestamptz not null,
          used_at timestamptz
        )`.execute(db);
      await sql`create index mfa_challenges_user_idx on mfa_challenges (tenant_id, user_id)`.execute(db);
      for (const t of ['mfa_recovery_codes', 'mfa_challenges']) await enableTenantRls(db, t);
      // One sealed known value: an instance whose secrets key differs from the one the
      // database's secrets were sealed with finds out at start (core/secret-box.ts).
      await sql`create table secrets_key_check (id smallint primary key check (id = 1), sealed text not null, created_at timestamptz not null default now())`.execute(db);
      await sql`grant select, insert on secrets_key_check to ${sql.raw(ident(ctx.appRole))}`.execute(db);
      await grantTables(db, ctx, ['mfa_recovery_codes', 'mfa_challenges']);
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await sql`drop table if exists secrets_key_check`.execute(db);
      await sql`drop table if exists mfa_challenges`.execute(db);
      await sql`drop table if exists mfa_recovery_codes`.execute(db);
      await sql`alter table tenants drop column if exists mfa_required`.execute(db);
      await sql`alter table users drop column if exists mfa_secret, drop column if exists mfa_enabled_at, drop column if exists mfa_last_step, drop column if exists mfa_pending_secret`.execute(db);
    },
  };
}
