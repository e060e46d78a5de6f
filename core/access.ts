/**
 * Per-document access: a caller's effective level on a document is `admin` for tenant
 * owners and admins, otherwise the level granted to them explicitly (document creators
 * are granted `admin`). No level ⇒ the document does not exist for that caller.
 */
import type { PermissionLevel } from '../db/schema.js';
import type { Tx } from '../db/store.js';
import { forbidden, notFound } from '../lib/errors.js';
import { isTenantAdmin, type Actor } from './actor.js';

export const LEVEL_RANK: Record<PermissionLevel, number> = { read: 1, write: 2, admin: 3 };

export function atLeast(level: PermissionLevel | null, needed: PermissionLevel): boolean {
  return level !== null && LEVEL_RANK[level] >= LEVEL_RANK[needed];
}

export async function effectiveLevel(tx: Tx, actor: Actor, documentId: string): Promise<PermissionLevel | null> {
  const row = await tx
    .selectFrom('documents as d')
    .leftJoin('document_permissions as p', (j) => j.onRef('p.document_id', '=', 'd.id').on('p.user_id', '=', actor.userId))
    .select(['d.id', 'p.level'])
    .where('d.id', '=', documentId)
    .where('d.deleted_at', 'is', null)
    .executeTakeFirst();
  if (!row) return null;
  if (isTenantAdmin(actor.role)) return 'admin';
  return row.level ?? null;
}

/**
 * Loads the caller's level and checks it: unreadable ⇒ 404 (existence is not leaked),
 * readable but below `needed` ⇒ 403.
 */
export async function requireLevel(tx: Tx, actor: Actor, documentId: string, needed: PermissionLevel): Promise<PermissionLevel> {
  const level = await effectiveLevel(tx, actor, documentId);
  if (!level) throw notFound('document');
  if (!atLeast(level, needed)) throw forbidden(`This needs ${needed} access to the document`);
  return level;
}
