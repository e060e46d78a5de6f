/**
 * Version history over REST: list a document's versions, save a named version, read a
 * version's content, restore a version; and the trash (deleted documents the caller may
 * restore).
 *
 * Reading history needs read access, recording or restoring a version write access; a
 * document the caller cannot read is a 404 on every path (`requireLevel`). A version's
 * content is rebuilt from stored data (core/history.ts), never from a live copy.
 */
import { sql } from 'kysely';
import * as Y from 'yjs';
import type { ContentFormat, ProseMirrorJson, TrashList, Version, VersionPage } from '../../contract/api.js';
import { withTenant } from '../../db/store.js';
import { DocumentStore } from '../../core/document-store.js';
import { VersionStore, type VersionRecord } from '../../core/history.js';
import { ContentTooDeepError, extractText, toProseMirrorJSON } from '../../core/content.js';
import { isTenantAdmin, loadActor } from '../../core/actor.js';
import { levelSql, readsTemplates, requireLevel } from '../../core/access.js';
import type { PermissionLevel } from '../../contract/api.js';
import type { Principal } from '../../core/tokens.js';
import { AppError, badRequest, notFound } from '../../lib/errors.js';
import type { Services } from '../services.js';
import { audit } from './audit.js';
import { busyOr, contentService } from './content.js';

/** Versions per page when the caller does not say. */
export const VERSIONS_DEFAULT_LIMIT = 50;
/** Deleted documents `GET /api/v1/trash` lists at most. */
export const TRASH_MAX = 500;
/** How long a deleted document stays in the trash unless the server says otherwise. */
export const DEFAULT_TRASH_RETENTION_DAYS = 30;

function versionsOf(svc: Services): VersionStore {
  return svc.content?.versions ?? new VersionStore(svc.store.db, new DocumentStore(svc.store.db));
}

export function presentVersion(v: VersionRecord): Version {
  return { id: v.id, createdAt: v.createdAt.toISOString(), name: v.name, kind: v.kind, authors: v.authors };
}

/** A cursor is the last listed version's number, as base64url JSON. */
function encodeCursor(seq: number): string {
  return Buffer.from(JSON.stringify(['v', seq])).toString('base64url');
}

function decodeCursor(raw: string): number {
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'));
  } catch {
    v = null;
  }
  if (!Array.isArray(v) || v.length !== 2 || v[0] !== 'v' || !Number.isSafeInteger(v[1]) || (v[1] as number) < 1) {
    throw badRequest('invalid_cursor', 'The cursor is not one this server issued');
  }
  return v[1] as number;
}

async function check(svc: Services, principal: Principal, ip: string | null, id: string, needed: PermissionLevel): Promise<void> {
  await withTenant(svc.store.db, principal.tenantId, async (tx) => requireLevel(tx, await loadActor(tx, principal, ip), id, needed));
}

export async function listVersions(svc: Services, principal: Principal, ip: string | null, props: { id: string; cursor?: string; limit?: number }): Promise<VersionPage> {
  const beforeSeq = props.cursor === undefined ? undefined : decodeCursor(props.cursor);
  await check(svc, principal, ip, props.id, 'read');
  const limit = props.limit ?? VERSIONS_DEFAULT_LIMIT;
  const rows = await versionsOf(svc).list(principal.tenantId, props.id, { beforeSeq, limit: limit + 1 });
  const page = rows.slice(0, limit);
  return { versions: page.map(presentVersion), nextCursor: rows.length > limit ? encodeCursor(page[page.length - 1]!.seq) : null };
}

export async function createVersion(svc: Services, principal: Principal, ip: string | null, props: { id: string; name: string }): Promise<Version> {
  const content = contentService(svc);
  await check(svc, principal, ip, props.id, 'write');
  const v = await content.createNamedVersion({ tenantId: principal.tenantId, userId: principal.userId }, props.id, props.name).catch((e: unknown) => {
    throw busyOr(e);
  });
  await withTenant(svc.store.db, principal.tenantId, (tx) =>
    audit(tx, { tenantId: principal.tenantId, actorId: principal.userId, action: 'document.version_create', targetType: 'document', targetId: props.id, ip, detail: { versionId: v.id } }),
  );
  return presentVersion(v);
}

export async function getVersionContent(
  svc: Services,
  principal: Principal,
  ip: string | null,
  props: { id: string; versionId: string; format: ContentFormat },
): Promise<{ text: string } | { json: ProseMirrorJson } | { yjs: Uint8Array }> {
  await check(svc, principal, ip, props.id, 'read');
  const found = await versionsOf(svc).read(principal.tenantId, props.id, props.versionId);
  if (!found) throw notFound('version');
  try {
    if (props.format === 'yjs') return { yjs: Y.encodeStateAsUpdate(found.doc) };
    return props.format === 'text' ? { text: extractText(found.doc) } : { json: toProseMirrorJSON(found.doc) };
  } catch (e) {
    if (e instanceof ContentTooDeepError) throw new AppError(422, e.code, `${e.message}; read it with format=yjs`);
    throw e;
  } finally {
    found.doc.destroy();
  }
}

/** "Restored from <name>" or, for an automatic version, from its time. */
function restoredName(v: VersionRecord): string {
  const from = v.name ?? `${v.createdAt.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
  return Array.from(`Restored from ${from}`).slice(0, 300).join('');
}

export async function restoreVersion(svc: Services, principal: Principal, ip: string | null, props: { id: string; versionId: string }): Promise<Version> {
  const content = contentService(svc);
  await check(svc, principal, ip, props.id, 'write');
  let v: VersionRecord | null;
  try {
    v = await content.restoreVersion({ tenantId: principal.tenantId, userId: principal.userId }, props.id, props.versionId, restoredName);
  } catch (e) {
    if (e instanceof ContentTooDeepError) throw new AppError(422, e.code, e.message);
    throw busyOr(e);
  }
  if (!v) throw notFound('version');
  const restored = v;
  await withTenant(svc.store.db, principal.tenantId, (tx) =>
    audit(tx, {
      tenantId: principal.tenantId,
      actorId: principal.userId,
      action: 'document.version_restore',
      targetType: 'document',
      targetId: props.id,
      ip,
      detail: { versionId: props.versionId, restoreVersionId: restored.id },
    }),
  );
  return presentVersion(restored);
}

/** The caller's deleted documents they may restore (admin on them), newest deletion first. */
export async function listTrash(svc: Services, principal: Principal, ip: string | null): Promise<TrashList> {
  const days = svc.trashRetentionDays ?? DEFAULT_TRASH_RETENTION_DAYS;
  return withTenant(svc.store.db, principal.tenantId, async (tx) => {
    const actor = await loadActor(tx, principal, ip);
    const level = levelSql({ document: 'd', grant: 'p', tenantAdmin: isTenantAdmin(actor.role), member: readsTemplates(actor.role) });
    const rows = await tx
      .selectFrom('documents as d')
      .leftJoin('document_permissions as p', (j) => j.onRef('p.document_id', '=', 'd.id').on('p.user_id', '=', actor.userId))
      .select(['d.id', 'd.title', 'd.kind', 'd.collection_id', 'd.deleted_at'])
      .where('d.deleted_at', 'is not', null)
      .where(sql<boolean>`${level} = 'admin'`)
      .orderBy('d.deleted_at', 'desc')
      .orderBy('d.id', 'desc')
      .limit(TRASH_MAX)
      .execute();
    return {
      documents: rows.map((r) => {
        const deletedAt = new Date(r.deleted_at!);
        return {
          id: r.id,
          title: r.title,
          kind: r.kind,
          collectionId: r.collection_id,
          deletedAt: deletedAt.toISOString(),
          purgeAt: new Date(deletedAt.getTime() + days * 86_400_000).toISOString(),
        };
      }),
    };
  });
}
