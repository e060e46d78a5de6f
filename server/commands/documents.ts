/**
 * Documents: create, list (filtered, in one of several orders, cursor pagination over
 * readable documents), get, change (rename, move to a collection, document or template,
 * link access), soft delete and restore, duplicate, the caller's stars and views.
 */
import { sql, type RawBuilder } from 'kysely';
import type { CreateDocumentRequest, DocumentKind, DocumentMeta, DocumentPage, DocumentSort, LinkAccess, ListDocumentsQuery, PermissionLevel } from '../../contract/api.js';
import type { TenantRole } from '../../db/schema.js';
import { readAsTenant, withTenant, type Tx } from '../../db/store.js';
import { queryTemplate } from '../../db/template.js';
import { initialUpdateFromText } from '../../core/content.js';
import { AppError, badRequest, notFound } from '../../lib/errors.js';
import type { Principal } from '../../core/tokens.js';
import type { Services } from '../services.js';
import { actorFrom, actorQuery, isTenantAdmin, loadActor, sessionLive, sessionParam, type Actor } from '../../core/actor.js';
import { levelFor, levelSql, readsTemplates, requireLevel } from '../../core/access.js';
import { audit } from './audit.js';
import { feedEvent } from './feed.js';
import { requireCollection } from './collections.js';

interface DocRow {
  id: string;
  title: string;
  created_by: string | null;
  /** A Date, or already the ISO 8601 text (lists format it in SQL: see isoTimestamp). */
  created_at: Date | string;
  updated_at: Date | string;
  kind: DocumentKind;
  collection_id: string | null;
  link_access: LinkAccess;
  /** Whether it has a public link. */
  public_link: boolean;
  /** The caller's own star and last view. */
  starred: boolean;
  last_viewed_at: Date | string | null;
}

const iso = (t: Date | string) => (typeof t === 'string' ? t : t.toISOString());

const present = (d: DocRow, access: PermissionLevel): DocumentMeta => ({
  id: d.id,
  title: d.title,
  createdBy: d.created_by,
  createdAt: iso(d.created_at),
  updatedAt: iso(d.updated_at),
  access,
  kind: d.kind,
  collectionId: d.collection_id,
  starred: d.starred,
  lastViewedAt: d.last_viewed_at === null ? null : iso(d.last_viewed_at),
  linkAccess: d.link_access,
  publicLink: d.public_link,
});

/** A document the caller just made: no star, no view, no public link. */
const presentNew = (d: Omit<DocRow, 'starred' | 'last_viewed_at' | 'public_link'>, access: PermissionLevel): DocumentMeta =>
  present({ ...d, starred: false, last_viewed_at: null, public_link: false }, access);

/** The document columns every answer presents (with the caller's star and view, and the public link, read separately). */
const DOC_COLUMNS = ['id', 'title', 'created_by', 'created_at', 'updated_at', 'kind', 'collection_id', 'link_access'] as const;

/**
 * A timestamp column as the text `Date.toISOString()` would give (UTC, milliseconds).
 * For lists: parsing two timestamps per row into Dates only to print them again was 8 %
 * of the API process' CPU on the document list under load (bench/RESULTS.md, scenario 6).
 */
const isoTimestamp = (column: 'd.created_at' | 'd.updated_at') => sql<string>`to_char(${sql.ref(column)} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
/** The caller's last view (`v`, left-joined) the same way; null when never viewed. */
const isoViewedAt = sql<string | null>`to_char(v.viewed_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/** The columns of a listed document (`d`) with its public link (`l`) and the caller's star (`s`) and view (`v`). */
const LIST_COLUMNS = [
  'd.id',
  'd.title',
  'd.created_by',
  isoTimestamp('d.created_at').as('created_at'),
  isoTimestamp('d.updated_at').as('updated_at'),
  'd.kind',
  'd.collection_id',
  'd.link_access',
  sql<boolean>`l.document_id is not null`.as('public_link'),
  sql<boolean>`s.user_id is not null`.as('starred'),
  isoViewedAt.as('last_viewed_at'),
] as const;

/** Pagination limits for `GET /api/v1/documents`. */
export const LIST_DEFAULT_LIMIT = 50;
export const LIST_MAX_LIMIT = 200;

export async function createDocument(svc: Services, principal: Principal, ip: string | null, props: CreateDocumentRequest): Promise<DocumentMeta> {
  return withTenant(svc.store.db, principal.tenantId, async (tx) => {
    const actor = await loadActor(tx, principal, ip);
    if (actor.role === 'guest') throw badRequest('guest_cannot_create', 'Guests cannot create documents');
    if (props.collectionId) await requireCollection(tx, props.collectionId);
    const doc = await tx
      .insertInto('documents')
      .values({ tenant_id: actor.tenantId, title: props.title, created_by: actor.userId, collection_id: props.collectionId ?? null })
      .returning([...DOC_COLUMNS])
      .executeTakeFirstOrThrow();
    await tx.insertInto('document_permissions').values({ tenant_id: actor.tenantId, document_id: doc.id, user_id: actor.userId, level: 'admin', granted_by: actor.userId }).execute();
    if (props.text) {
      // Initial content goes into the log in the same transaction: the document never exists without it.
      await tx
        .insertInto('document_updates')
        .values({ tenant_id: actor.tenantId, document_id: doc.id, data: initialUpdateFromText(props.text), user_id: actor.userId })
        .execute();
    }
    await feedEvent(tx, actor.tenantId, doc.id, 'document.created');
    await audit(tx, { tenantId: actor.tenantId, actorId: actor.userId, action: 'document.create', targetType: 'document', targetId: doc.id, ip });
    return presentNew(doc, 'admin');
  });
}

/** The orders of the list: the contract's, and `viewed` (`recent=true`: the caller's last views first). */
type ListSort = DocumentSort | 'viewed';

interface Cursor {
  sort: ListSort;
  /** The last row's sort key, as text: a timestamp (exact, as Postgres prints it) or a lower-cased title. */
  key: string;
  id: string;
}

const CURSOR_TS = /^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d{1,6})?([+-]\d{2}(:\d{2})?|Z)?$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const SORTS: readonly ListSort[] = ['created', 'recent', 'title', 'viewed'];
/** Longest sort key a cursor carries: a title of 500 characters lower-cased, with room to spare. */
const CURSOR_KEY_MAX = 2_000;

/** `[sort, key, id]` as base64url JSON. Cursors of the first release were `[createdAt, id]` and still read as `created`. */
export function encodeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify([c.sort, c.key, c.id])).toString('base64url');
}

/** The cursor, if it is one this server issued for `sort`; otherwise 400 `invalid_cursor`. */
export function decodeCursor(raw: string, sort: ListSort = 'created'): Cursor {
  let c: Cursor | null = null;
  try {
    const v: unknown = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'));
    if (Array.isArray(v) && v.every((x) => typeof x === 'string')) {
      const parts = v as string[];
      if (parts.length === 2) c = { sort: 'created', key: parts[0]!, id: parts[1]! };
      else if (parts.length === 3 && (SORTS as readonly string[]).includes(parts[0]!)) c = { sort: parts[0] as ListSort, key: parts[1]!, id: parts[2]! };
    }
  } catch {
    // not JSON: refused below
  }
  const keyOk = c && (c.sort === 'title' ? c.key.length <= CURSOR_KEY_MAX : CURSOR_TS.test(c.key));
  if (!c || !keyOk || !UUID.test(c.id)) throw badRequest('invalid_cursor', 'The cursor is not one this server issued');
  if (c.sort !== sort) throw badRequest('invalid_cursor', `The cursor belongs to another order of the list (${c.sort}); start again without it`);
  return c;
}

/**
 * Which documents the caller's list walks: `admin` every document of the tenant at admin
 * level, no grant needed; `granted` only those shared with the caller (their grants
 * joined: guests); `member` those shared with the caller and, in their own lists (starred,
 * recently viewed), those they read through link access too; `templates` every template
 * (members who are not guests read them all), with the caller's grant where there is one.
 * Link access alone never lists a document in the others: it opens a document for whoever
 * has its address, it does not show it to the workspace.
 */
type ListAccess = 'admin' | 'granted' | 'member' | 'templates';

function listAccess(role: TenantRole, kind: DocumentKind): ListAccess {
  if (isTenantAdmin(role)) return 'admin';
  if (!readsTemplates(role)) return 'granted';
  return kind === 'template' ? 'templates' : 'member';
}

/** The shape of a list query: one template per shape, built when first used. */
interface ListShape {
  access: ListAccess;
  sort: ListSort;
  /** A page after a cursor. */
  after: boolean;
  /** Every collection, the top level only, or one collection. */
  collection: 'any' | 'root' | 'one';
  starred: boolean;
  /** Titles filtered by a pattern. */
  title: boolean;
}

interface ListValues {
  userId: string;
  kind: DocumentKind;
  /** The cursor's sort key and id (unused without a cursor). */
  key: string;
  id: string;
  collectionId: string;
  /** An ILIKE pattern (`\` escapes). */
  pattern: string;
  /** One more than the page: whether there is a next page. */
  rows: number;
}

/** Each order: its key (and the key's text for the cursor), and its direction; the id breaks ties in the same direction. */
const ORDERS: Record<ListSort, { key: RawBuilder<unknown>; text: RawBuilder<string>; cast: RawBuilder<unknown>; direction: 'asc' | 'desc' }> = {
  created: { key: sql`d.created_at`, text: sql<string>`d.created_at::text`, cast: sql`::timestamptz`, direction: 'desc' },
  recent: { key: sql`d.updated_at`, text: sql<string>`d.updated_at::text`, cast: sql`::timestamptz`, direction: 'desc' },
  title: { key: sql`lower(d.title)`, text: sql<string>`lower(d.title)`, cast: sql`::text`, direction: 'asc' },
  viewed: { key: sql`v.viewed_at`, text: sql<string>`v.viewed_at::text`, cast: sql`::timestamptz`, direction: 'desc' },
};

/**
 * One page of the documents the caller can read, in one order, keyset-paginated on (sort
 * key, id). Admins walk the tenant's documents with no grant joined; others join their
 * grants (an inner join: a left join let the planner probe the caller's whole grant list
 * once per listed row), except for templates, which members read without one, and for a
 * member's own lists (starred, recently viewed: driven by their stars and views), which
 * also hold what they read through link access. The level is `levelSql`, the access rule
 * itself. The caller's star and last view are joined by key; `starred` and `recent` keep
 * only rows that have one. The public link is joined by its key (the document).
 */
const listTemplate = (shape: ListShape) =>
  queryTemplate((db, p: ListValues) => {
    const order = ORDERS[shape.sort];
    const base = db
      .selectFrom('documents as d')
      .leftJoin('document_public_links as l', (j) => j.onRef('l.tenant_id', '=', 'd.tenant_id').onRef('l.document_id', '=', 'd.id'))
      .leftJoin('document_stars as s', (j) => j.onRef('s.document_id', '=', 'd.id').on('s.user_id', '=', p.userId))
      .leftJoin('document_views as v', (j) => j.onRef('v.document_id', '=', 'd.id').on('v.user_id', '=', p.userId));
    // Guests (`granted`) get nothing from the workspace; everyone else walking grants is a member.
    const level = levelSql({ document: 'd', grant: 'p', tenantAdmin: sql<boolean>`false`, member: shape.access === 'granted' ? sql<boolean>`false` : sql<boolean>`true` });
    const linked = shape.access === 'member' && (shape.sort === 'viewed' || shape.starred);
    let q =
      shape.access === 'admin'
        ? base.select([...LIST_COLUMNS, order.text.as('sort_key'), sql<PermissionLevel>`'admin'`.as('level')])
        : shape.access === 'templates' || linked
          ? base
              .leftJoin('document_permissions as p', (j) => j.onRef('p.document_id', '=', 'd.id').on('p.user_id', '=', p.userId))
              .select([...LIST_COLUMNS, order.text.as('sort_key'), level.as('level')])
          : base
              .innerJoin('document_permissions as p', (j) => j.onRef('p.document_id', '=', 'd.id').on('p.user_id', '=', p.userId))
              .select([...LIST_COLUMNS, order.text.as('sort_key'), level.as('level')]);
    if (linked) q = q.where(sql<boolean>`(p.level is not null or d.link_access <> 'none')`);
    q = q.where('d.deleted_at', 'is', null).where('d.kind', '=', p.kind);
    if (shape.collection === 'root') q = q.where('d.collection_id', 'is', null);
    if (shape.collection === 'one') q = q.where('d.collection_id', '=', p.collectionId);
    if (shape.starred) q = q.where('s.user_id', 'is not', null);
    if (shape.sort === 'viewed') q = q.where('v.user_id', 'is not', null);
    if (shape.title) q = q.where(sql<boolean>`d.title ilike ${p.pattern} escape '\\'`);
    if (shape.after) q = q.where(sql<boolean>`(${order.key}, d.id) ${sql.raw(order.direction === 'desc' ? '<' : '>')} (${p.key}${order.cast}, ${p.id}::uuid)`);
    return q.orderBy(order.key, order.direction).orderBy('d.id', order.direction).limit(p.rows);
  });

const LIST_TEMPLATES = new Map<string, ReturnType<typeof listTemplate>>();

function listQuery(shape: ListShape, values: ListValues) {
  const name = `${shape.access}:${shape.sort}:${shape.after}:${shape.collection}:${shape.starred}:${shape.title}`;
  let template = LIST_TEMPLATES.get(name);
  if (!template) LIST_TEMPLATES.set(name, (template = listTemplate(shape)));
  return template(values);
}

/** The collection a list is filtered by, read with the page (a missing one is a 404). */
const collectionById = queryTemplate((db, p: { id: string }) => db.selectFrom('collections').select('id').where('id', '=', p.id));

/** A case-insensitive substring pattern for ILIKE: the text with `\`, `%` and `_` escaped. */
export function titlePattern(q: string): string {
  return `%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

export async function listDocuments(svc: Services, principal: Principal, ip: string | null, props: ListDocumentsQuery): Promise<DocumentPage> {
  const limit = Math.min(props.limit ?? LIST_DEFAULT_LIMIT, LIST_MAX_LIMIT);
  const sort: ListSort = props.recent ? 'viewed' : (props.sort ?? 'created');
  const cursor = props.cursor ? decodeCursor(props.cursor, sort) : null;
  const kind = props.kind ?? 'document';
  const collection = props.collectionId === undefined ? 'any' : props.collectionId === 'root' ? 'root' : 'one';
  const values: ListValues = {
    userId: principal.userId,
    kind,
    key: cursor?.key ?? '',
    id: cursor?.id ?? '',
    collectionId: collection === 'one' ? props.collectionId! : '',
    pattern: props.q ? titlePattern(props.q) : '',
    rows: limit + 1,
  };
  const shapeFor = (role: TenantRole): ListShape => ({ access: listAccess(role, kind), sort, after: cursor !== null, collection, starred: props.starred === true, title: Boolean(props.q) });
  const db = svc.store.db;
  type Row = Awaited<ReturnType<ReturnType<typeof listQuery>['execute']>>[number];
  const pageOf = (rows: Row[], collections: unknown[] | null) => {
    if (collections && collections.length === 0) throw notFound('collection');
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return {
      documents: page.map((r) => present(r, r.level as PermissionLevel)),
      nextCursor: rows.length > limit && last ? encodeCursor({ sort, key: last.sort_key, id: last.id }) : null,
    };
  };
  // The caller's user row and the page go to the database together (one round trip). Which
  // page query to send depends on the caller's role as stored now, so it is sent for the
  // role the token was issued with. Nothing is answered from that guess: when the stored
  // role says otherwise, the page is read again in a transaction that decides from the row.
  const guess = shapeFor(principal.role);
  const collectionCheck = collection === 'one' ? [collectionById({ id: values.collectionId })] : [];
  const [users, rows, ...checked] = await readAsTenant(db, principal.tenantId, [actorQuery(principal), listQuery(guess, values), ...collectionCheck]);
  const actor = actorFrom(users, principal, ip);
  if (listAccess(actor.role, kind) === guess.access) return pageOf(rows, checked[0] ?? null);
  return withTenant(db, principal.tenantId, async (tx) => {
    const stored = await loadActor(tx, principal, ip);
    const collections = collection === 'one' ? await collectionById({ id: values.collectionId }).execute(tx) : null;
    return pageOf(await listQuery(shapeFor(stored.role), values).execute(tx), collections);
  });
}

/**
 * The caller's user row with the document and the caller's grant on it, as one statement:
 * one row while the user exists (its document columns null when there is no such
 * document), none once the user is gone. One statement instead of two per read: a
 * statement costs the database its own execution and the driver its own result set.
 */
const documentForCaller = queryTemplate((db, p: { id: string; userId: string; sessionId: string }) =>
  db
    .selectFrom('users as u')
    .leftJoin('documents as d', (j) => j.on('d.id', '=', p.id).on('d.deleted_at', 'is', null))
    .leftJoin('document_permissions as p', (j) => j.onRef('p.document_id', '=', 'd.id').onRef('p.user_id', '=', 'u.id'))
    .leftJoin('document_public_links as l', (j) => j.onRef('l.tenant_id', '=', 'd.tenant_id').onRef('l.document_id', '=', 'd.id'))
    .leftJoin('document_stars as s', (j) => j.onRef('s.document_id', '=', 'd.id').onRef('s.user_id', '=', 'u.id'))
    .leftJoin('document_views as v', (j) => j.onRef('v.document_id', '=', 'd.id').onRef('v.user_id', '=', 'u.id'))
    .select([
      'u.id as user_id',
      'u.role',
      'u.email',
      'u.disabled_at',
      'u.session_version',
      sessionLive(p.sessionId),
      'd.id',
      'd.title',
      'd.created_by',
      isoTimestamp('d.created_at').as('created_at'),
      isoTimestamp('d.updated_at').as('updated_at'),
      'p.level',
      'd.kind',
      'd.collection_id',
      'd.link_access',
      sql<boolean>`l.document_id is not null`.as('public_link'),
      sql<boolean>`s.user_id is not null`.as('starred'),
      isoViewedAt.as('last_viewed_at'),
    ])
    .where('u.id', '=', p.userId),
);

export async function getDocument(svc: Services, principal: Principal, ip: string | null, props: { id: string }): Promise<DocumentMeta> {
  // The hottest read of the API: the caller as stored now and the document, in one round
  // trip and one statement.
  const [rows] = await readAsTenant(svc.store.db, principal.tenantId, [documentForCaller({ id: props.id, userId: principal.userId, sessionId: sessionParam(principal) })]);
  const row = rows[0];
  const actor = actorFrom(
    row ? [{ id: row.user_id, role: row.role, email: row.email, disabled_at: row.disabled_at, session_version: row.session_version, session_live: row.session_live }] : [],
    principal,
    ip,
  );
  const level: PermissionLevel | null = row?.id && row.kind && row.link_access ? levelFor(actor.role, { kind: row.kind, linkAccess: row.link_access }, row.level) : null;
  // Unreadable looks exactly like missing.
  if (!row?.id || !level) throw notFound('document');
  // A document row's columns are not null (the left join makes them nullable in the type).
  return present(
    {
      id: row.id,
      title: row.title!,
      created_by: row.created_by,
      created_at: row.created_at!,
      updated_at: row.updated_at!,
      kind: row.kind!,
      collection_id: row.collection_id,
      link_access: row.link_access!,
      public_link: row.public_link,
      starred: row.starred,
      last_viewed_at: row.last_viewed_at,
    },
    level,
  );
}

/** The caller's view of one readable document: its columns with their star and last view. */
async function metaFor(tx: Tx, actor: Actor, id: string, level: PermissionLevel): Promise<DocumentMeta> {
  const row = await tx
    .selectFrom('documents as d')
    .leftJoin('document_stars as s', (j) => j.onRef('s.document_id', '=', 'd.id').on('s.user_id', '=', actor.userId))
    .leftJoin('document_views as v', (j) => j.onRef('v.document_id', '=', 'd.id').on('v.user_id', '=', actor.userId))
    .leftJoin('document_public_links as l', (j) => j.onRef('l.tenant_id', '=', 'd.tenant_id').onRef('l.document_id', '=', 'd.id'))
    .select([
      'd.id',
      'd.title',
      'd.created_by',
      'd.created_at',
      'd.updated_at',
      'd.kind',
      'd.collection_id',
      'd.link_access',
      sql<boolean>`l.document_id is not null`.as('public_link'),
      sql<boolean>`s.user_id is not null`.as('starred'),
      'v.viewed_at as last_viewed_at',
    ])
    .where('d.id', '=', id)
    .executeTakeFirstOrThrow();
  return present(row, level);
}

/**
 * Renames (write), moves to a collection or the top level (write), turns a document into a
 * template and back (admin), or sets its link access (admin). Only a rename counts as an
 * update (`updatedAt`, the `recent` order). Making a template a document again, or lowering
 * link access, takes the workspace's access away: after the commit, an access event has
 * every instance re-check the document's open sockets (members left without a level are
 * closed, those left with read become read-only). Raising link access sends the event too,
 * so read-only sockets that may now write are told at once.
 */
export async function updateDocument(
  svc: Services,
  principal: Principal,
  ip: string | null,
  props: { id: string; title?: string; collectionId?: string | null; kind?: DocumentKind; linkAccess?: LinkAccess },
): Promise<DocumentMeta> {
  let accessChanged = false;
  const meta = await withTenant(svc.store.db, principal.tenantId, async (tx) => {
    const actor = await loadActor(tx, principal, ip);
    const level = await requireLevel(tx, actor, props.id, props.kind !== undefined || props.linkAccess !== undefined ? 'admin' : 'write');
    const before = await tx.selectFrom('documents').select(['kind', 'collection_id', 'link_access']).where('id', '=', props.id).executeTakeFirstOrThrow();
    const moved = props.collectionId !== undefined && props.collectionId !== before.collection_id;
    const rekinded = props.kind !== undefined && props.kind !== before.kind;
    const relinked = props.linkAccess !== undefined && props.linkAccess !== before.link_access;
    if (moved && props.collectionId) await requireCollection(tx, props.collectionId);
    if (props.title !== undefined || moved || rekinded || relinked) {
      await tx
        .updateTable('documents')
        .set({
          ...(props.title !== undefined ? { title: props.title, updated_at: sql`now()` } : {}),
          ...(moved ? { collection_id: props.collectionId } : {}),
          ...(rekinded ? { kind: props.kind } : {}),
          ...(relinked ? { link_access: props.linkAccess } : {}),
        })
        .where('id', '=', props.id)
        .execute();
    }
    const entry = { tenantId: actor.tenantId, actorId: actor.userId, targetType: 'document', targetId: props.id, ip };
    if (props.title !== undefined) {
      await feedEvent(tx, actor.tenantId, props.id, 'document.changed');
      await audit(tx, { ...entry, action: 'document.rename' });
    }
    if (moved) await audit(tx, { ...entry, action: 'document.move', detail: { from: before.collection_id, to: props.collectionId } });
    if (rekinded) {
      // Who reads it changed: the indexes' stored readers follow.
      await feedEvent(tx, actor.tenantId, props.id, 'document.permissions');
      await audit(tx, { ...entry, action: 'document.kind', detail: { kind: props.kind } });
      if (props.kind !== 'template') accessChanged = true;
    }
    if (relinked) {
      // Who finds it did not change (link access lists it for nobody): no feed event.
      await audit(tx, { ...entry, action: 'document.link_access', detail: { from: before.link_access, to: props.linkAccess } });
      accessChanged = true;
    }
    return metaFor(tx, actor, props.id, level);
  });
  if (accessChanged) svc.accessEvents.emit({ type: 'document-access', tenantId: principal.tenantId, documentId: props.id });
  return meta;
}

export async function deleteDocument(svc: Services, principal: Principal, ip: string | null, props: { id: string }): Promise<void> {
  await withTenant(svc.store.db, principal.tenantId, async (tx) => {
    const actor = await loadActor(tx, principal, ip);
    await requireLevel(tx, actor, props.id, 'admin');
    await tx
      .updateTable('documents')
      .set({ deleted_at: sql`now()` })
      .where('id', '=', props.id)
      .execute();
    await feedEvent(tx, actor.tenantId, props.id, 'document.deleted');
    await audit(tx, { tenantId: actor.tenantId, actorId: actor.userId, action: 'document.delete', targetType: 'document', targetId: props.id, ip });
  });
  svc.accessEvents.emit({ type: 'document-deleted', tenantId: principal.tenantId, documentId: props.id });
}

/**
 * Undoes a delete: the document is listed, opens over the sync socket and returns to search
 * (a `document.created` feed event: the indexers read its current state). Needs admin on
 * the document, as the delete did; a document that is not deleted, or not the caller's to
 * restore, is a 404.
 */
export async function restoreDocument(svc: Services, principal: Principal, ip: string | null, props: { id: string }): Promise<DocumentMeta> {
  return withTenant(svc.store.db, principal.tenantId, async (tx) => {
    const actor = await loadActor(tx, principal, ip);
    const row = await tx
      .selectFrom('documents as d')
      .leftJoin('document_permissions as p', (j) => j.onRef('p.document_id', '=', 'd.id').on('p.user_id', '=', actor.userId))
      .select(['d.kind', 'd.link_access', 'p.level'])
      .where('d.id', '=', props.id)
      .where('d.deleted_at', 'is not', null)
      .executeTakeFirst();
    if (!row || levelFor(actor.role, { kind: row.kind, linkAccess: row.link_access }, row.level) !== 'admin') throw notFound('document');
    const restored = await tx.updateTable('documents').set({ deleted_at: null }).where('id', '=', props.id).where('deleted_at', 'is not', null).executeTakeFirst();
    // Restored concurrently by someone else: it is not deleted any more.
    if (restored.numUpdatedRows === 0n) throw notFound('document');
    await feedEvent(tx, actor.tenantId, props.id, 'document.created');
    await audit(tx, { tenantId: actor.tenantId, actorId: actor.userId, action: 'document.restore', targetType: 'document', targetId: props.id, ip });
    return metaFor(tx, actor, props.id, 'admin');
  });
}

/** The Yjs state of an empty document (`Y.encodeStateAsUpdate(new Y.Doc())`): nothing to copy. */
const EMPTY_STATE = Uint8Array.of(0, 0);

/** `Copy of <title>`, cut to the title limit (500 characters). */
function copyTitle(title: string, prefix: string): string {
  return Array.from(prefix + title)
    .slice(0, 500)
    .join('');
}

/**
 * A new document with the source's content (its Yjs state, as `GET …/content?format=yjs`
 * answers it, stored as the new document's first log row), in the source's collection
 * unless told otherwise. Needs read on the source; the caller becomes the copy's only
 * admin (grants are not copied). Templates: `kind: 'template'` saves one (same title);
 * a template duplicated as a document keeps the template's title.
 */
export async function duplicateDocument(
  svc: Services,
  principal: Principal,
  ip: string | null,
  props: { id: string; title?: string; collectionId?: string | null; kind?: DocumentKind },
): Promise<DocumentMeta> {
  const content = svc.content;
  if (!content) throw new AppError(503, 'sync_unavailable', 'Document content is served by the sync role, which this process does not run');
  // Checked before the content is read; checked again where the copy is written.
  await withTenant(svc.store.db, principal.tenantId, async (tx) => {
    const actor = await loadActor(tx, principal, ip);
    await requireLevel(tx, actor, props.id, 'read');
    if (actor.role === 'guest') throw badRequest('guest_cannot_create', 'Guests cannot create documents');
  });
  const state = await content.state(principal.tenantId, props.id);
  return withTenant(svc.store.db, principal.tenantId, async (tx) => {
    const actor = await loadActor(tx, principal, ip);
    await requireLevel(tx, actor, props.id, 'read');
    if (actor.role === 'guest') throw badRequest('guest_cannot_create', 'Guests cannot create documents');
    const source = await tx.selectFrom('documents').select(['title', 'kind', 'collection_id']).where('id', '=', props.id).executeTakeFirstOrThrow();
    const kind = props.kind ?? 'document';
    const collectionId = props.collectionId === undefined ? source.collection_id : props.collectionId;
    if (collectionId) await requireCollection(tx, collectionId);
    const title = props.title ?? (kind === 'template' || source.kind === 'template' ? source.title : copyTitle(source.title, 'Copy of '));
    const doc = await tx
      .insertInto('documents')
      .values({ tenant_id: actor.tenantId, title, created_by: actor.userId, kind, collection_id: collectionId })
      .returning([...DOC_COLUMNS])
      .executeTakeFirstOrThrow();
    await tx.insertInto('document_permissions').values({ tenant_id: actor.tenantId, document_id: doc.id, user_id: actor.userId, level: 'admin', granted_by: actor.userId }).execute();
    if (state.byteLength > EMPTY_STATE.byteLength || state.some((b, i) => b !== EMPTY_STATE[i])) {
      // The copy never exists without its content: the state is its first log row.
      await tx.insertInto('document_updates').values({ tenant_id: actor.tenantId, document_id: doc.id, data: state, user_id: actor.userId }).execute();
    }
    await feedEvent(tx, actor.tenantId, doc.id, 'document.created');
    await audit(tx, { tenantId: actor.tenantId, actorId: actor.userId, action: 'document.duplicate', targetType: 'document', targetId: doc.id, ip, detail: { source: props.id, kind } });
    return presentNew(doc, 'admin');
  });
}

/** Stars the document for the caller, or takes the star away (read access; idempotent). */
export async function setStar(svc: Services, principal: Principal, ip: string | null, props: { id: string; starred: boolean }): Promise<void> {
  await withTenant(svc.store.db, principal.tenantId, async (tx) => {
    const actor = await loadActor(tx, principal, ip);
    await requireLevel(tx, actor, props.id, 'read');
    if (props.starred) {
      await tx
        .insertInto('document_stars')
        .values({ tenant_id: actor.tenantId, document_id: props.id, user_id: actor.userId })
        .onConflict((oc) => oc.columns(['document_id', 'user_id']).doNothing())
        .execute();
    } else {
      await tx.deleteFrom('document_stars').where('document_id', '=', props.id).where('user_id', '=', actor.userId).execute();
    }
  });
}

/** Records that the caller opened the document now: one row per user and document, updated in place (read access). */
export async function recordView(svc: Services, principal: Principal, ip: string | null, props: { id: string }): Promise<void> {
  await withTenant(svc.store.db, principal.tenantId, async (tx) => {
    const actor = await loadActor(tx, principal, ip);
    await requireLevel(tx, actor, props.id, 'read');
    await tx
      .insertInto('document_views')
      .values({ tenant_id: actor.tenantId, document_id: props.id, user_id: actor.userId })
      .onConflict((oc) => oc.columns(['document_id', 'user_id']).doUpdateSet({ viewed_at: sql`now()` }))
      .execute();
  });
}
