/** Documents: create, list (cursor pagination over readable documents), get, soft delete. */
import { sql } from 'kysely';
import type { CreateDocumentRequest, DocumentMeta, DocumentPage, PermissionLevel } from '../../contract/api.js';
import { readAsTenant, withTenant } from '../../db/store.js';
import { queryTemplate } from '../../db/template.js';
import { initialUpdateFromText } from '../../core/content.js';
import { badRequest, notFound } from '../../lib/errors.js';
import type { Principal } from '../../core/tokens.js';
import type { Services } from '../services.js';
import { actorFrom, actorQuery, isTenantAdmin, loadActor } from '../../core/actor.js';
import { requireLevel } from '../../core/access.js';
import { audit } from './audit.js';
import { feedEvent } from './feed.js';

interface DocRow {
  id: string;
  title: string;
  created_by: string | null;
  /** A Date, or already the ISO 8601 text (lists format it in SQL: see isoTimestamp). */
  created_at: Date | string;
  updated_at: Date | string;
}

const iso = (t: Date | string) => (typeof t === 'string' ? t : t.toISOString());

const present = (d: DocRow, access: PermissionLevel): DocumentMeta => ({
  id: d.id,
  title: d.title,
  createdBy: d.created_by,
  createdAt: iso(d.created_at),
  updatedAt: iso(d.updated_at),
  access,
});

/**
 * A timestamp column as the text `Date.toISOString()` would give (UTC, milliseconds).
 * For lists: parsing two timestamps per row into Dates only to print them again was 8 %
 * of the API process' CPU on the document list under load (bench/RESULTS.md, scenario 6).
 */
const isoTimestamp = (column: 'd.created_at' | 'd.updated_at') => sql<string>`to_char(${sql.ref(column)} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/** The columns of a listed document (`d`), and `ts`, the exact creation time for the cursor. */
const LIST_COLUMNS = [
  'd.id',
  'd.title',
  'd.created_by',
  isoTimestamp('d.created_at').as('created_at'),
  isoTimestamp('d.updated_at').as('updated_at'),
  sql<string>`d.created_at::text`.as('ts'),
] as const;

/** Pagination limits for `GET /api/v1/documents`. */
export const LIST_DEFAULT_LIMIT = 50;
export const LIST_MAX_LIMIT = 200;

export async function createDocument(svc: Services, principal: Principal, ip: string | null, props: CreateDocumentRequest): Promise<DocumentMeta> {
  return withTenant(svc.store.db, principal.tenantId, async (tx) => {
    const actor = await loadActor(tx, principal, ip);
    if (actor.role === 'guest') throw badRequest('guest_cannot_create', 'Guests cannot create documents');
    const doc = await tx
      .insertInto('documents')
      .values({ tenant_id: actor.tenantId, title: props.title, created_by: actor.userId })
      .returning(['id', 'title', 'created_by', 'created_at', 'updated_at'])
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
    return present(doc, 'admin');
  });
}

interface Cursor {
  ts: string;
  id: string;
}

const CURSOR_TS = /^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d{1,6})?([+-]\d{2}(:\d{2})?|Z)?$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function encodeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify([c.ts, c.id])).toString('base64url');
}

export function decodeCursor(raw: string): Cursor {
  try {
    const v: unknown = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'));
    if (Array.isArray(v) && v.length === 2 && typeof v[0] === 'string' && typeof v[1] === 'string' && CURSOR_TS.test(v[0]) && UUID.test(v[1])) {
      return { ts: v[0], id: v[1] };
    }
  } catch {
    // fall through to the error below
  }
  throw badRequest('invalid_cursor', 'The cursor is not one this server issued');
}

interface ListValues {
  userId: string;
  /** The cursor's creation time and id (unused without a cursor). */
  ts: string;
  id: string;
  /** One more than the page: whether there is a next page. */
  rows: number;
}

/**
 * One page of the documents the caller can read. Admins read every document at admin
 * level: walk the (tenant, created_at, id) index, no grant needed. Others read only what
 * is shared with them: join their grants. (A left join for both let the planner probe the
 * caller's whole grant list once per listed row.) A template per shape: admin or not, the
 * first page or one after a cursor.
 */
const listTemplate = (admin: boolean, after: boolean) =>
  queryTemplate((db, p: ListValues) => {
    let q = admin
      ? db.selectFrom('documents as d').select([...LIST_COLUMNS, sql<PermissionLevel>`'admin'`.as('level')])
      : db
          .selectFrom('documents as d')
          .innerJoin('document_permissions as p', (j) => j.onRef('p.document_id', '=', 'd.id').on('p.user_id', '=', p.userId))
          .select([...LIST_COLUMNS, 'p.level']);
    q = q.where('d.deleted_at', 'is', null);
    if (after) q = q.where(sql<boolean>`(d.created_at, d.id) < (${p.ts}::timestamptz, ${p.id}::uuid)`);
    return q.orderBy('d.created_at', 'desc').orderBy('d.id', 'desc').limit(p.rows);
  });
const LIST_PAGES = [listTemplate(false, false), listTemplate(false, true), listTemplate(true, false), listTemplate(true, true)];

function listQuery(userId: string, admin: boolean, cursor: Cursor | null, limit: number) {
  return LIST_PAGES[(admin ? 2 : 0) + (cursor ? 1 : 0)]!({ userId, ts: cursor?.ts ?? '', id: cursor?.id ?? '', rows: limit + 1 });
}

export async function listDocuments(svc: Services, principal: Principal, ip: string | null, props: { cursor?: string; limit?: number }): Promise<DocumentPage> {
  const limit = Math.min(props.limit ?? LIST_DEFAULT_LIMIT, LIST_MAX_LIMIT);
  const cursor = props.cursor ? decodeCursor(props.cursor) : null;
  const db = svc.store.db;
  type Row = Awaited<ReturnType<ReturnType<typeof listQuery>['execute']>>[number];
  const pageOf = (rows: Row[]) => {
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return {
      documents: page.map((r) => present(r, r.level as PermissionLevel)),
      nextCursor: rows.length > limit && last ? encodeCursor({ ts: last.ts, id: last.id }) : null,
    };
  };
  // The caller's user row and the page go to the database together (one round trip). Which
  // page query to send depends on the caller's role as stored now, so it is sent for the
  // role the token was issued with. Nothing is answered from that guess: when the stored
  // role says otherwise, the page is read again in a transaction that decides from the row.
  const guess = isTenantAdmin(principal.role);
  const [users, rows] = await readAsTenant(db, principal.tenantId, [actorQuery(principal), listQuery(principal.userId, guess, cursor, limit)]);
  if (isTenantAdmin(actorFrom(users, principal, ip).role) === guess) return pageOf(rows);
  return withTenant(db, principal.tenantId, async (tx) => {
    const actor = await loadActor(tx, principal, ip);
    return pageOf(await listQuery(actor.userId, isTenantAdmin(actor.role), cursor, limit).execute(tx));
  });
}

/**
 * The caller's user row with the document and the caller's grant on it, as one statement:
 * one row while the user exists (its document columns null when there is no such
 * document), none once the user is gone. One statement instead of two per read: a
 * statement costs the database its own execution and the driver its own result set.
 */
const documentForCaller = queryTemplate((db, p: { id: string; userId: string }) =>
  db
    .selectFrom('users as u')
    .leftJoin('documents as d', (j) => j.on('d.id', '=', p.id).on('d.deleted_at', 'is', null))
    .leftJoin('document_permissions as p', (j) => j.onRef('p.document_id', '=', 'd.id').onRef('p.user_id', '=', 'u.id'))
    .select([
      'u.id as user_id',
      'u.role',
      'u.email',
      'u.disabled_at',
      'd.id',
      'd.title',
      'd.created_by',
      isoTimestamp('d.created_at').as('created_at'),
      isoTimestamp('d.updated_at').as('updated_at'),
      'p.level',
    ])
    .where('u.id', '=', p.userId),
);

export async function getDocument(svc: Services, principal: Principal, ip: string | null, props: { id: string }): Promise<DocumentMeta> {
  // The hottest read of the API: the caller as stored now and the document, in one round
  // trip and one statement.
  const [rows] = await readAsTenant(svc.store.db, principal.tenantId, [documentForCaller({ id: props.id, userId: principal.userId })]);
  const row = rows[0];
  const actor = actorFrom(row ? [{ id: row.user_id, role: row.role, email: row.email, disabled_at: row.disabled_at }] : [], principal, ip);
  const level: PermissionLevel | null = row?.id ? (isTenantAdmin(actor.role) ? 'admin' : row.level) : null;
  // Unreadable looks exactly like missing.
  if (!row?.id || !level) throw notFound('document');
  // A document row's columns are not null (the left join makes them nullable in the type).
  return present({ id: row.id, title: row.title!, created_by: row.created_by, created_at: row.created_at!, updated_at: row.updated_at! }, level);
}

export async function updateDocument(svc: Services, principal: Principal, ip: string | null, props: { id: string; title: string }): Promise<DocumentMeta> {
  return withTenant(svc.store.db, principal.tenantId, async (tx) => {
    const actor = await loadActor(tx, principal, ip);
    const level = await requireLevel(tx, actor, props.id, 'write');
    const doc = await tx
      .updateTable('documents')
      .set({ title: props.title, updated_at: sql`now()` })
      .where('id', '=', props.id)
      .returning(['id', 'title', 'created_by', 'created_at', 'updated_at'])
      .executeTakeFirstOrThrow();
    await feedEvent(tx, actor.tenantId, props.id, 'document.changed');
    await audit(tx, { tenantId: actor.tenantId, actorId: actor.userId, action: 'document.rename', targetType: 'document', targetId: props.id, ip });
    return present(doc, level);
  });
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
