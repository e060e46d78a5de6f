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

export async function migrateToLatest(db: Kysely<unknown>, ctx: MigrationContext): Promise<MigrationResultSet> {
  await ensureRoleAndSchema(db, ctx);
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => migrations(ctx) },
    migrationTableSchema: ctx.schema,
  });
  const result = await migrator.migrateToLatest();
  if (result.error) throw result.error instanceof Error ? result.error : new Error(String(result.error));
  return result;
}

/** Rolls every migration back (used by tests of `down`). */
export async function migrateDownAll(db: Kysely<unknown>, ctx: MigrationContext): Promise<void> {
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => migrations(ctx) },
    migrationTableSchema: ctx.schema,
  });
  for (;;) {
    const res = await migrator.migrateDown();
    if (res.error) throw res.error instanceof Error ? res.error : new Error(String(res.error));
    if (!res.results || res.results.length === 0) break;
  }
}
