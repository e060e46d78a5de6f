/**
 * Brings a schema up to date: creates the schema and the application role when missing,
 * then runs the pending migrations in order under kysely's migration lock.
 */
import { Migrator, sql, type Kysely, type MigrationResultSet } from 'kysely';
import { migrations, type MigrationContext } from './migrations/index.js';
import { ident } from './migrations/context.js';

export async function ensureRoleAndSchema(db: Kysely<unknown>, ctx: MigrationContext): Promise<void> {
  const role = ident(ctx.appRole);
  const roleLiteral = ctx.appRole.replace(/'/g, "''");
  // Concurrent first starts (several instances, parallel tests) may race to create the role.
  await sql
    .raw(
      `do $$ begin
         if not exists (select 1 from pg_roles where rolname = '${roleLiteral}') then
           create role ${role} login nosuperuser nobypassrls nocreatedb nocreaterole noinherit;
         end if;
       exception when duplicate_object or unique_violation then null;
       end $$`,
    )
    .execute(db);
  await sql.raw(`create schema if not exists ${ident(ctx.schema)}`).execute(db);
  await sql.raw(`grant usage on schema ${ident(ctx.schema)} to ${role}`).execute(db);
}

/** Runs `fn` on one connection whose search_path is the migration schema, restored after. */
async function inSchema<T>(db: Kysely<unknown>, ctx: MigrationContext, fn: (conn: Kysely<unknown>) => Promise<T>): Promise<T> {
  return db.connection().execute(async (conn) => {
    const prev = (await sql<{ search_path: string }>`show search_path`.execute(conn)).rows[0]?.search_path ?? 'public';
    await sql.raw(`set search_path to ${ident(ctx.schema)}, public`).execute(conn);
    try {
      return await fn(conn);
    } finally {
      await sql.raw(`set search_path to ${prev}`).execute(conn);
    }
  });
}

function migrator(db: Kysely<unknown>, ctx: MigrationContext): Migrator {
  return new Migrator({
    db,
    provider: { getMigrations: async () => migrations(ctx) },
    migrationTableSchema: ctx.schema,
  });
}

function check(res: MigrationResultSet): MigrationResultSet {
  if (res.error) throw res.error instanceof Error ? res.error : new Error(String(res.error));
  return res;
}

export async function migrateToLatest(db: Kysely<unknown>, ctx: MigrationContext): Promise<MigrationResultSet> {
  await ensureRoleAndSchema(db, ctx);
  return inSchema(db, ctx, async (conn) => check(await migrator(conn, ctx).migrateToLatest()));
}

/** Rolls every migration back (used by tests of `down`). */
export async function migrateDownAll(db: Kysely<unknown>, ctx: MigrationContext): Promise<void> {
  await inSchema(db, ctx, async (conn) => {
    const m = migrator(conn, ctx);
    for (;;) {
      const res = check(await m.migrateDown());
      if (!res.results || res.results.length === 0) break;
    }
  });
}
