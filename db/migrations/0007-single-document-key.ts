/**
 * A row keyed by a document references it once, by (tenant_id, document_id).
 *
 * Since 0006 each such table had three foreign keys: `tenant_id → tenants`, `document_id →
 * documents` and the composite `(tenant_id, document_id) → documents (tenant_id, id)`.
 * The composite implies the other two (a document row exists, and its own tenant key
 * references `tenants`), and deletes cascade through it just the same: a tenant's documents
 * go with the tenant, their rows with the documents. But Postgres checks every key on every
 * insert, each check a lookup that takes a share lock on the referenced row, so the two
 * redundant ones doubled the lock and WAL work of the sync tier's hottest statement: an
 * update's append to `document_updates` (bench/RESULTS.md, scenario 1).
 */
import { sql, type Kysely } from 'kysely';
import { existingKeyedTables, KEYED_BY_DOCUMENT } from './0006-document-tenant-keys.js';
import type { MigrationContext } from './context.js';
import { ident } from './context.js';

/** Single-column foreign keys of the document-keyed tables (those of 0006): `tenant_id → tenants` and `document_id → documents`. */
async function redundantKeys(db: Kysely<unknown>, schema: string): Promise<{ table: string; name: string }[]> {
  const r = await sql<{ table: string; name: string }>`
    select t.relname as "table", c.conname as name
    from pg_constraint c
    join pg_class t on t.oid = c.conrelid
    join pg_namespace n on n.oid = t.relnamespace
    join pg_class ref on ref.oid = c.confrelid
    join pg_attribute a on a.attrelid = c.conrelid and a.attnum = c.conkey[1]
    where c.contype = 'f' and n.nspname = ${schema} and cardinality(c.conkey) = 1
      and t.relname = any(${KEYED_BY_DOCUMENT})
      and ((ref.relname = 'tenants' and a.attname = 'tenant_id') or (ref.relname = 'documents' and a.attname = 'document_id'))
    order by 1, 2`.execute(db);
  return r.rows;
}

export function singleDocumentKey(ctx: MigrationContext) {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      for (const k of await redundantKeys(db, ctx.schema)) {
        await sql`alter table ${sql.raw(ident(k.table))} drop constraint ${sql.raw(ident(k.name))}`.execute(db);
      }
    },
    async down(db: Kysely<unknown>): Promise<void> {
      for (const table of await existingKeyedTables(db, ctx.schema)) {
        const t = sql.raw(ident(table));
        await sql`alter table ${t} add foreign key (tenant_id) references tenants (id) on delete cascade`.execute(db);
        await sql`alter table ${t} add foreign key (document_id) references documents (id) on delete cascade`.execute(db);
      }
    },
  };
}
