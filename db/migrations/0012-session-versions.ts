/**
 * Session versions: `users.session_version` counts the times a user ended all their
 * sessions (signed out everywhere, changed their password). Access tokens carry the version
 * they were issued at (`sv`; a token without it counts as 0), and a token below the user's
 * current version is refused on REST and on the sync tier, so every access token issued
 * before is void at once, not when it expires.
 *
 * The access-version trigger of migration 0009 now fires on a version change too: sync
 * instances that missed the access event re-check the user's open sockets within their poll
 * interval and close those on an ended session.
 */
import { sql, type Kysely } from 'kysely';
import type { MigrationContext } from './context.js';

export function sessionVersions(_ctx: MigrationContext) {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await sql`alter table users add column session_version integer not null default 0`.execute(db);
      await sql`drop trigger if exists users_access_version on users`.execute(db);
      await sql`
        create trigger users_access_version after update of role, disabled_at, session_version on users
          for each row when (old.role is distinct from new.role or old.disabled_at is distinct from new.disabled_at
                             or old.session_version is distinct from new.session_version)
          execute function quire_bump_access_version()`.execute(db);
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await sql`drop trigger if exists users_access_version on users`.execute(db);
      await sql`
        create trigger users_access_version after update of role, disabled_at on users
          for each row when (old.role is distinct from new.role or old.disabled_at is distinct from new.disabled_at)
          execute function quire_bump_access_version()`.execute(db);
      await sql`alter table users drop column if exists session_version`.execute(db);
    },
  };
}
