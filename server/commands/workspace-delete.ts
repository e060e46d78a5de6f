/**
 * Deleting a workspace completely: every row of the tenant in every table, every file's
 * bytes, and its entries in the search indexes (full text and vectors, through the index
 * ports, so Meilisearch and Qdrant are cleaned as well as Postgres' own). Nothing of the
 * workspace remains — its audit log included; what is left is one operator log line
 * (`workspace deleted`, with the id, the name and how much was removed).
 *
 * The steps run in an order that can be run again after a failure: sessions first (every
 * refresh token revoked and every user's session version bumped, so nobody keeps writing),
 * then the indexes and the files (found from the rows, which are still there), then the
 * rows — the tenant's row, which the other tables' keys cascade from, then a sweep of every
 * table with a `tenant_id` column (found in the catalogue, so a table added later is
 * covered too), checked empty for the tenant before the transaction commits.
 */
import { sql, type Kysely } from 'kysely';
import { withTenant, type Store } from '../../db/store.js';
import { loadActor } from '../../core/actor.js';
import type { Principal } from '../../core/tokens.js';
import { badRequest, forbidden } from '../../lib/errors.js';
import type { Services } from '../services.js';
import { audit } from './audit.js';
import { ident } from '../../db/migrations/context.js';
import type { BlobStore } from '../../lib/storage/blob-store.js';
import type { Logger } from '../../lib/log.js';
import type { FullTextIndex } from '../../ml-workers/search/fulltext.js';
import type { VectorIndex } from '../../ml-workers/search/vectors.js';

export interface WorkspaceDeleteDeps {
  store: Store;
  blobs: BlobStore;
  fulltext?: FullTextIndex | null;
  vectors?: VectorIndex | null;
  log?: Logger;
}

export interface WorkspaceDeleted {
  tenantId: string;
  name: string;
  /** Rows removed, by table. */
  rows: Record<string, number>;
  blobs: number;
  /** Documents removed from the search indexes. */
  indexed: number;
}

/** Tables of the schema that hold a `tenant_id` column (the tenant's rows), found in the catalogue. */
export async function tenantTables(owner: Kysely<unknown>, schema: string): Promise<string[]> {
  const rows = await sql<{ table_name: string }>`
    select c.table_name from information_schema.columns c
      join information_schema.tables t on t.table_schema = c.table_schema and t.table_name = c.table_name
     where c.table_schema = ${schema} and c.column_name = 'tenant_id' and t.table_type = 'BASE TABLE'
     order by c.table_name`.execute(owner);
  return rows.rows.map((r) => r.table_name);
}

const qualified = (schema: string, table: string) => sql.raw(`${ident(schema)}.${ident(table)}`);

/** The workspace's id and name, or null. */
export async function findWorkspace(store: Store, ref: string): Promise<{ id: string; name: string } | null> {
  const t = qualified(store.schema, 'tenants');
  const byId = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(ref)
    ? (await sql<{ id: string; name: string }>`select id::text, name from ${t} where id = ${ref.toLowerCase()}::uuid`.execute(store.owner)).rows[0]
    : undefined;
  if (byId) return byId;
  const byName = (await sql<{ id: string; name: string }>`select id::text, name from ${t} where name = ${ref} order by created_at limit 2`.execute(store.owner)).rows;
  if (byName.length > 1) throw new Error(`more than one workspace is named ${JSON.stringify(ref)}: name it by its id`);
  return byName[0] ?? null;
}

/** Runs an idempotent step again when it fails (a search engine that is slow to confirm), up to five times. */
async function again(step: () => Promise<void>): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await step();
    } catch (e) {
      if (attempt >= 5) throw e;
      await new Promise((r) => setTimeout(r, 200 * attempt));
    }
  }
}

export async function deleteWorkspace(deps: WorkspaceDeleteDeps, tenantId: string): Promise<WorkspaceDeleted> {
  const { store } = deps;
  const { owner, schema } = store;
  const table = (name: string) => qualified(schema, name);
  const tenant = (await sql<{ name: string }>`select name from ${table('tenants')} where id = ${tenantId}::uuid`.execute(owner)).rows[0];
  if (!tenant) throw new Error(`no workspace ${tenantId}`);

  // 1. Nobody keeps a session: refresh tokens revoked, access tokens refused (session version).
  await owner.transaction().execute(async (tx) => {
    await sql`update ${table('refresh_tokens')} set revoked_at = now() where tenant_id = ${tenantId}::uuid and revoked_at is null`.execute(tx);
    await sql`update ${table('users')} set session_version = session_version + 1 where tenant_id = ${tenantId}::uuid`.execute(tx);
  });

  // 2. The search indexes, document by document through their ports (Meilisearch/Qdrant or Postgres).
  const present = new Set(await tenantTables(owner, schema));
  const docIds = new Set<string>();
  for (const t of ['documents', 'search_documents', 'index_state', 'document_chunks'].filter((t) => present.has(t))) {
    const rows = await sql<{ id: string }>`select distinct ${sql.ref(t === 'documents' ? 'id' : 'document_id')}::text as id from ${table(t)} where tenant_id = ${tenantId}::uuid`.execute(owner);
    for (const r of rows.rows) docIds.add(r.id);
  }
  for (const id of docIds) {
    if (deps.fulltext) await again(() => deps.fulltext!.remove(tenantId, id));
    if (deps.vectors) await again(() => deps.vectors!.remove(tenantId, id));
  }

  // 3. Files: everything under the workspace's prefix, and any key a row names elsewhere.
  const keys = new Set<string>();
  for await (const b of deps.blobs.list(`t/${tenantId}/`)) keys.add(b.key);
  const named = await sql<{ storage_key: string }>`select storage_key from ${table('attachments')} where tenant_id = ${tenantId}::uuid`.execute(owner);
  for (const r of named.rows) keys.add(r.storage_key);
  const all = [...keys];
  for (let i = 0; i < all.length; i += 500) await deps.blobs.delete(all.slice(i, i + 500));

  // 4. The rows: the tenant's (the other tables cascade from it), then every tenant table swept and checked.
  const rows: Record<string, number> = {};
  await owner.transaction().execute(async (tx) => {
    const tables = await tenantTables(tx, schema);
    for (const t of tables) {
      const n = await sql<{ n: string }>`select count(*)::text as n from ${table(t)} where tenant_id = ${tenantId}::uuid`.execute(tx);
      const count = Number(n.rows[0]?.n ?? 0);
      if (count > 0) rows[t] = count;
    }
    await sql`delete from ${table('documents')} where tenant_id = ${tenantId}::uuid`.execute(tx);
    await sql`delete from ${table('tenants')} where id = ${tenantId}::uuid`.execute(tx);
    for (const t of tables) await sql`delete from ${table(t)} where tenant_id = ${tenantId}::uuid`.execute(tx);
    for (const t of tables) {
      const left = await sql<{ n: string }>`select count(*)::text as n from ${table(t)} where tenant_id = ${tenantId}::uuid`.execute(tx);
      if (Number(left.rows[0]?.n ?? 0) > 0) throw new Error(`rows of the workspace remain in ${t}`);
    }
  });
  rows.tenants = 1;
  const result: WorkspaceDeleted = { tenantId, name: tenant.name, rows, blobs: all.length, indexed: docIds.size };
  deps.log?.warn({ cat: 'operator', tenantId, name: tenant.name, rows, blobs: all.length, indexed: docIds.size }, 'workspace deleted');
  return result;
}

/**
 * `DELETE /api/v1/workspace`: an owner deletes their own workspace. As sensitive as changing
 * a password, so it asks for the owner's password again, and for the workspace's id as the
 * confirmation that the right one is meant.
 */
export async function deleteOwnWorkspace(svc: Services, principal: Principal, ip: string | null, props: { confirm: string; password: string }): Promise<WorkspaceDeleted> {
  const tenantId = principal.tenantId;
  const { hash, users, documents } = await withTenant(svc.store.db, tenantId, async (tx) => {
    const actor = await loadActor(tx, principal, ip);
    if (actor.role !== 'owner') throw forbidden('Only an owner deletes the workspace');
    const row = await tx.selectFrom('users').select('password_hash').where('id', '=', principal.userId).executeTakeFirstOrThrow();
    return {
      hash: row.password_hash,
      users: (await tx.selectFrom('users').select('id').execute()).map((u) => u.id),
      documents: (await tx.selectFrom('documents').select('id').execute()).map((d) => d.id),
    };
  });
  if (props.confirm.toLowerCase() !== tenantId) throw badRequest('validation_failed', 'Send the workspace\'s id as "confirm" to delete it');
  if (!(await svc.passwords.verify(props.password, hash))) {
    await withTenant(svc.store.db, tenantId, (tx) =>
      audit(tx, { tenantId, actorId: principal.userId, action: 'workspace.delete_failed', targetType: 'tenant', targetId: tenantId, ip, detail: { reason: 'invalid_password' } }),
    );
    throw forbidden('The password is not correct', 'wrong_password');
  }
  const done = await deleteWorkspace({ store: svc.store, blobs: svc.blobs, fulltext: svc.fulltext ?? null, vectors: svc.semantic?.vectors ?? null, log: svc.log }, tenantId);
  // Open documents and sockets of this process let go at once (others at their next access check).
  for (const documentId of documents) svc.accessEvents.emit({ type: 'document-deleted', tenantId, documentId });
  for (const userId of users) svc.accessEvents.emit({ type: 'user', tenantId, userId });
  svc.log.warn({ cat: 'operator', tenantId, by: principal.userId, ip }, 'workspace deleted by its owner');
  return done;
}
