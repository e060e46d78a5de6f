/**
 * Collections: the workspace's folders, one tree per workspace. Every member who is not a
 * guest sees and manages the whole tree; the documents in a collection stay listed only for
 * those who can read them. Deleting a collection never deletes a document: what it holds
 * (documents and sub-collections) moves to its parent.
 *
 * Changes to the tree (create, move, delete) take a per-workspace lock for their
 * transaction, so two moves cannot make a cycle between them and the depth limit holds.
 * A document's move locks the collection row it names (`FOR KEY SHARE`), and a delete
 * locks the row it deletes first (`FOR UPDATE`): a document cannot land in a collection
 * being deleted after its contents were moved out.
 */
import { sql } from 'kysely';
import type { Collection, CollectionList } from '../../contract/api.js';
import { withTenant, type Tx } from '../../db/store.js';
import type { Principal } from '../../core/tokens.js';
import { badRequest, forbidden, notFound } from '../../lib/errors.js';
import { loadActor, type Actor } from '../../core/actor.js';
import { readsTemplates } from '../../core/access.js';
import type { Services } from '../services.js';
import { audit } from './audit.js';

/** Collections a workspace may hold; `GET /api/v1/collections` lists them all. @default 1000 */
export const MAX_COLLECTIONS = 1000;
/** Levels of the tree: a top-level collection is at level 1. @default 8 */
export const MAX_COLLECTION_DEPTH = 8;

interface CollectionRow {
  id: string;
  name: string;
  parent_id: string | null;
  created_by: string | null;
  created_at: Date;
  updated_at: Date;
}

const COLUMNS = ['id', 'name', 'parent_id', 'created_by', 'created_at', 'updated_at'] as const;

const present = (c: CollectionRow): Collection => ({
  id: c.id,
  name: c.name,
  parentId: c.parent_id,
  createdBy: c.created_by,
  createdAt: c.created_at.toISOString(),
  updatedAt: c.updated_at.toISOString(),
});

const tooDeep = () => badRequest('collection_too_deep', `Collections nest at most ${MAX_COLLECTION_DEPTH} levels deep`);

/** Guests see shared documents only: no tree. The same members who read templates. */
function requireMember(actor: Actor): void {
  if (!readsTemplates(actor.role)) throw forbidden('Guests cannot see or manage collections');
}

/** Serialises changes to a workspace's tree for the rest of the transaction. */
async function lockTree(tx: Tx, tenantId: string): Promise<void> {
  await sql`select pg_advisory_xact_lock(hashtextextended(${`quire:collections:${tenantId}`}, 0))`.execute(tx);
}

/**
 * Checks that collection `id` exists (404 `collection_not_found` otherwise) and keeps it
 * from being deleted until the transaction ends: for a document put into it.
 */
export async function requireCollection(tx: Tx, id: string): Promise<void> {
  const row = await tx.selectFrom('collections').select('id').where('id', '=', id).forKeyShare().executeTakeFirst();
  if (!row) throw notFound('collection');
}

/** The tree as parent links (at most MAX_COLLECTIONS rows). */
async function parentsOf(tx: Tx): Promise<Map<string, string | null>> {
  const rows = await tx.selectFrom('collections').select(['id', 'parent_id']).execute();
  return new Map(rows.map((r) => [r.id, r.parent_id]));
}

/** The level of `id` in the tree (1 at the top). */
function depthOf(parents: Map<string, string | null>, id: string): number {
  let depth = 0;
  for (let at: string | null | undefined = id; at && depth <= parents.size; at = parents.get(at)) depth++;
  return depth;
}

/** Levels of the subtree under and including `id` (1 for a collection without sub-collections). */
function heightOf(parents: Map<string, string | null>, id: string): number {
  const children = new Map<string, string[]>();
  for (const [child, parent] of parents) if (parent) children.set(parent, [...(children.get(parent) ?? []), child]);
  let height = 0;
  for (let level = [id]; level.length > 0 && height <= parents.size; level = level.flatMap((c) => children.get(c) ?? [])) height++;
  return height;
}

export async function listCollections(svc: Services, principal: Principal, ip: string | null): Promise<CollectionList> {
  return withTenant(svc.store.db, principal.tenantId, async (tx) => {
    requireMember(await loadActor(tx, principal, ip));
    const rows = await tx
      .selectFrom('collections')
      .select([...COLUMNS])
      .orderBy(sql`lower(name)`)
      .orderBy('id')
      .limit(MAX_COLLECTIONS)
      .execute();
    return { collections: rows.map(present) };
  });
}

export async function createCollection(svc: Services, principal: Principal, ip: string | null, props: { name: string; parentId: string | null }): Promise<Collection> {
  return withTenant(svc.store.db, principal.tenantId, async (tx) => {
    const actor = await loadActor(tx, principal, ip);
    requireMember(actor);
    await lockTree(tx, actor.tenantId);
    const parents = await parentsOf(tx);
    if (parents.size >= MAX_COLLECTIONS) throw badRequest('too_many_collections', `A workspace holds at most ${MAX_COLLECTIONS} collections`);
    if (props.parentId !== null) {
      if (!parents.has(props.parentId)) throw notFound('collection');
      if (depthOf(parents, props.parentId) + 1 > MAX_COLLECTION_DEPTH) throw tooDeep();
    }
    const row = await tx
      .insertInto('collections')
      .values({ tenant_id: actor.tenantId, name: props.name, parent_id: props.parentId, created_by: actor.userId })
      .returning([...COLUMNS])
      .executeTakeFirstOrThrow();
    await audit(tx, { tenantId: actor.tenantId, actorId: actor.userId, action: 'collection.create', targetType: 'collection', targetId: row.id, ip });
    return present(row);
  });
}

export async function updateCollection(svc: Services, principal: Principal, ip: string | null, props: { id: string; name?: string; parentId?: string | null }): Promise<Collection> {
  return withTenant(svc.store.db, principal.tenantId, async (tx) => {
    const actor = await loadActor(tx, principal, ip);
    requireMember(actor);
    await lockTree(tx, actor.tenantId);
    const parents = await parentsOf(tx);
    if (!parents.has(props.id)) throw notFound('collection');
    const moving = props.parentId !== undefined && props.parentId !== parents.get(props.id);
    if (moving && props.parentId) {
      if (!parents.has(props.parentId)) throw notFound('collection');
      // Under itself or anything under it: the new parent's ancestors include the collection.
      for (let at: string | null | undefined = props.parentId; at; at = parents.get(at)) {
        if (at === props.id) throw badRequest('collection_cycle', 'A collection cannot move under itself or a collection it holds');
      }
      if (depthOf(parents, props.parentId) + heightOf(parents, props.id) > MAX_COLLECTION_DEPTH) throw tooDeep();
    }
    const row = await tx
      .updateTable('collections')
      .set({ ...(props.name !== undefined ? { name: props.name } : {}), ...(moving ? { parent_id: props.parentId } : {}), updated_at: sql`now()` })
      .where('id', '=', props.id)
      .returning([...COLUMNS])
      .executeTakeFirstOrThrow();
    const detail = { ...(props.name !== undefined ? { name: props.name } : {}), ...(moving ? { parentId: props.parentId } : {}) };
    await audit(tx, { tenantId: actor.tenantId, actorId: actor.userId, action: 'collection.update', targetType: 'collection', targetId: props.id, ip, detail });
    return present(row);
  });
}

/** Deletes a collection; its documents (deleted ones too, should they be restored) and sub-collections move to its parent. */
export async function deleteCollection(svc: Services, principal: Principal, ip: string | null, props: { id: string }): Promise<void> {
  await withTenant(svc.store.db, principal.tenantId, async (tx) => {
    const actor = await loadActor(tx, principal, ip);
    requireMember(actor);
    await lockTree(tx, actor.tenantId);
    // Locked first: a document move that named this collection commits before the contents
    // move out, and one that comes later finds it gone.
    const row = await tx.selectFrom('collections').select(['id', 'parent_id']).where('id', '=', props.id).forUpdate().executeTakeFirst();
    if (!row) throw notFound('collection');
    const documents = await tx.updateTable('documents').set({ collection_id: row.parent_id }).where('collection_id', '=', props.id).executeTakeFirst();
    await tx
      .updateTable('collections')
      .set({ parent_id: row.parent_id, updated_at: sql`now()` })
      .where('parent_id', '=', props.id)
      .execute();
    await tx.deleteFrom('collections').where('id', '=', props.id).execute();
    await audit(tx, {
      tenantId: actor.tenantId,
      actorId: actor.userId,
      action: 'collection.delete',
      targetType: 'collection',
      targetId: props.id,
      ip,
      detail: { movedTo: row.parent_id, documents: Number(documents.numUpdatedRows) },
    });
  });
}
