/** Shared pieces for migrations: the schema and role they run for, and RLS/grant helpers. */
import { sql, type Kysely } from 'kysely';

export interface MigrationContext {
  /** Schema the tables live in (tests use one schema each). */
  schema: string;
  /** Role the application connects as: not a superuser, no BYPASSRLS, owns nothing. */
  appRole: string;
}

/** Quotes an SQL identifier. Inputs are validated identifiers, quoting is a second guard. */
export function ident(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** Row-level security: rows are visible and writable only for the tenant set by `SET LOCAL`. */
export async function enableTenantRls(db: Kysely<unknown>, table: string): Promise<void> {
  const t = sql.raw(ident(table));
  await sql`alter table ${t} enable row level security`.execute(db);
  await sql`create policy tenant_isolation on ${t} using (tenant_id = quire_current_tenant()) with check (tenant_id = quire_current_tenant())`.execute(db);
}

export async function grantTables(db: Kysely<unknown>, ctx: MigrationContext, tables: string[]): Promise<void> {
  const app = sql.raw(ident(ctx.appRole));
  for (const table of tables) {
    await sql`grant select, insert, update, delete on ${sql.raw(ident(table))} to ${app}`.execute(db);
  }
}
