/**
 * Per-document access: a caller's effective level on a document is `admin` for tenant
 * owners and admins, otherwise the highest of the level granted to them explicitly
 * (document creators are granted `admin`) and what the document gives the workspace.
 * Templates are shared with the workspace: every member who is not a guest reads a template
 * without a grant (writing one still needs a grant). A document's link access (`read`,
 * `comment` or `write`) gives every member who is not a guest that level with the document's address.
 * No level ⇒ the document does not exist for that caller.
 *
 * `levelFor` is that rule for one document — REST, the sync tier's authentication and
 * re-checks — and `levelSql` the same rule in SQL, for lists. Link access opens a document
 * for whoever has its address; it does not make the document found: `readableSql`, what
 * lists and search find (search engines, the live access filter), is the rule without it.
 */
import { sql, type RawBuilder } from 'kysely';
import type { DocumentKind, LinkAccess, PermissionLevel, TenantRole } from '../db/schema.js';
import type { Tx } from '../db/store.js';
import { forbidden, notFound } from '../lib/errors.js';
import { isTenantAdmin, type Actor } from './actor.js';

export const LEVEL_RANK: Record<PermissionLevel, number> = { read: 1, comment: 2, write: 3, admin: 4 };

export function atLeast(level: PermissionLevel | null, needed: PermissionLevel): boolean {
  return level !== null && LEVEL_RANK[level] >= LEVEL_RANK[needed];
}

/** Whether a level changes the document's content (`read` and `comment` do not): the sync tier's read-only flag. */
export function editsContent(level: PermissionLevel): boolean {
  return atLeast(level, 'write');
}

/** Whether a role reads the workspace's templates without a grant: everyone but guests. */
export function readsTemplates(role: TenantRole): boolean {
  return role !== 'guest';
}

/** The higher of two levels (null: none). */
export function higher(a: PermissionLevel | null, b: PermissionLevel | null): PermissionLevel | null {
  if (a === null) return b;
  if (b === null) return a;
  return LEVEL_RANK[a] >= LEVEL_RANK[b] ? a : b;
}

/** What a document gives the workspace, in the terms of {@link levelFor}. */
export interface DocumentAccess {
  kind: DocumentKind;
  linkAccess: LinkAccess;
}

/** The caller's level on a document from their role, the document's kind and link access, and their own grant (null: none). */
export function levelFor(role: TenantRole, doc: DocumentAccess, granted: PermissionLevel | null | undefined): PermissionLevel | null {
  if (isTenantAdmin(role)) return 'admin';
  let level: PermissionLevel | null = granted ?? null;
  // Guests get nothing from the workspace: only what is shared with them.
  if (readsTemplates(role)) {
    if (doc.kind === 'template') level = higher(level, 'read');
    if (doc.linkAccess !== 'none') level = higher(level, doc.linkAccess);
  }
  return level;
}

/**
 * {@link levelFor} as an SQL expression (the level's text, null for none), with the
 * arguments of {@link readableSql}.
 */
export function levelSql(opts: { document: string; grant: string; tenantAdmin: boolean | RawBuilder<boolean>; member: boolean | RawBuilder<boolean> }): RawBuilder<PermissionLevel | null> {
  const kind = sql.ref(`${opts.document}.kind`);
  const link = sql.ref(`${opts.document}.link_access`);
  const level = sql.ref(`${opts.grant}.level`);
  return sql<PermissionLevel | null>`(case
    when ${opts.tenantAdmin} or ${level} = 'admin' then 'admin'
    when ${level} = 'write' or (${opts.member} and ${link} = 'write') then 'write'
    when ${level} = 'comment' or (${opts.member} and ${link} = 'comment') then 'comment'
    when ${level} = 'read' or (${opts.member} and (${link} = 'read' or ${kind} = 'template')) then 'read'
  end)`;
}

/**
 * What lists and search find for a caller, as an SQL condition: the documents they may read
 * ({@link levelFor}) other than through link access alone. `document` is the alias of a
 * `documents` row, `grant` the alias of the caller's `document_permissions` row
 * (left-joined, so null when there is none); `tenantAdmin` and `member` say whether the
 * caller is an owner or admin, and whether they are not a guest — as values, or as
 * conditions on a joined `users` row.
 */
export function readableSql(opts: { document: string; grant: string; tenantAdmin: boolean | RawBuilder<boolean>; member: boolean | RawBuilder<boolean> }): RawBuilder<boolean> {
  const kind = sql.ref(`${opts.document}.kind`);
  const level = sql.ref(`${opts.grant}.level`);
  return sql<boolean>`(${opts.tenantAdmin} or ${level} is not null or (${kind} = 'template' and ${opts.member}))`;
}

/** {@link readableSql}'s role conditions on a joined `users` row (`user` its alias), for queries that decide from the stored role. */
export function roleConditions(user: string): { tenantAdmin: RawBuilder<boolean>; member: RawBuilder<boolean> } {
  const role = sql.ref(`${user}.role`);
  return { tenantAdmin: sql<boolean>`${role} in ('owner', 'admin')`, member: sql<boolean>`${role} <> 'guest'` };
}

export async function effectiveLevel(tx: Tx, actor: Actor, documentId: string): Promise<PermissionLevel | null> {
  const row = await tx
    .selectFrom('documents as d')
    .leftJoin('document_permissions as p', (j) => j.onRef('p.document_id', '=', 'd.id').on('p.user_id', '=', actor.userId))
    .select(['d.id', 'd.kind', 'd.link_access', 'p.level'])
    .where('d.id', '=', documentId)
    .where('d.deleted_at', 'is', null)
    .executeTakeFirst();
  if (!row) return null;
  return levelFor(actor.role, { kind: row.kind, linkAccess: row.link_access }, row.level);
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
