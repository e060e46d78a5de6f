/**
 * Signing keys that every instance reads, so access-token keys can be rotated without a
 * restart (`quire keys rotate|list|retire`, core/key-ring.ts). A row is a key pair:
 *
 * - `active`: signs new tokens (at most one row); its private key is sealed with the
 *   secrets box (`private_sealed`, additional data `signing-key:<kid>`);
 * - `verifying`: no longer signs, still verifies the tokens it signed until they expire
 *   (`deactivated_at` is when it stopped signing);
 * - `retired`: refused; its tokens no longer verify.
 *
 * The configured key (JWT_PRIVATE_KEY or DATA_DIR/keys/jwt-private.pem) signs while no row
 * is active; the first rotation records it as `verifying` (public key only) so it can be
 * retired. The application role only reads the table; the command line writes it.
 */
import { sql, type Kysely } from 'kysely';
import type { MigrationContext } from './context.js';
import { ident } from './context.js';

export function signingKeys(ctx: MigrationContext) {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await sql`
        create table signing_keys (
          kid text primary key,
          public_pem text not null,
          private_sealed text,
          status text not null check (status in ('active', 'verifying', 'retired')),
          created_at timestamptz not null default now(),
          deactivated_at timestamptz,
          retired_at timestamptz,
          check (status <> 'active' or private_sealed is not null)
        )`.execute(db);
      await sql`create unique index signing_keys_one_active on signing_keys ((true)) where status = 'active'`.execute(db);
      await sql`grant select on signing_keys to ${sql.raw(ident(ctx.appRole))}`.execute(db);
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await sql`drop table if exists signing_keys`.execute(db);
    },
  };
}
