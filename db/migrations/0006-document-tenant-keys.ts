/**
 * Every row keyed by a document carries the document's own tenant. Row-level security
 * checks a row's `tenant_id` against the session's tenant, and the foreign keys checked
 * `document_id` alone, so a row of tenant A naming tenant B's document was storable. Only
 * Quire writes these rows, and it takes both ids from the same authenticated source; the
 * composite keys make the database refuse such a row whatever the caller.
 */
import { sql, type Kysely } from 'kysely';
import type { MigrationContext } from './context.js';
import { ident } from './context.js';

/** Tables keyed by document (`document_chunks` exists only with pgvector). */
export const KEYED_BY_DOCUMENT = ['document_permissions', 'document_updates', 'document_snapshots', 'search_documents', 'index_state', 'document_classifications', 'document_chunks'];

/** Those of the document-keyed tables that exist in `schema`. */
export async function existingKeyedTables(db: Kysely<unknown>, schema: string): Promise<string[]> {
  const r = await sql<{ tablename: string }>`select tablename from pg_tables where schemaname = ${schema}`.execute(db);
  const present = new Set(r.rows.map((x) => x.tablename));
  return KEYED_BY_DOCUMENT.filter((t) => present.has(t));
}

export function documentTenantKeys(ctx: MigrationContext) {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await sql`alter table documents add constraint documents_tenant_id_id_key unique (tenant_id, id)`.execute(db);
      for (const table of await existingKeyedTables(db, ctx.schema)) {
        await sql`
          alter table ${sql.raw(ident(table))} add constraint ${sql.raw(ident(`${table}_document_tenant_fkey`))}
          foreign key (tenant_id, document_id) references documents (tenant_id, id) on delete cascade`.execute(db);
      }
    },
    async down(db: Kysely<unknown>): Promise<void> {
      for (const table of await existingKeyedTables(db, ctx.schema)) {
        await sql`alter table ${sql.raw(ident(table))} drop constraint if exists ${sql.raw(ident(`${table}_document_tenant_fkey`))}`.execute(db);
      }
      await sql`alter table documents drop constraint documents_tenant_id_id_key`.execute(db);
    },
  };
}
