/**
 * A user's notifications: the list (newest first, with the unread count), marking read,
 * their preferences, the workspace's defaults (owners and admins), and what an open event
 * stream shows.
 *
 * Access is checked again when a notification is shown: one about a document the reader
 * can no longer read is left out of lists and counts (it stays stored, and shows again if
 * access comes back), so a notification never reveals a document's title or a comment to
 * someone who lost access after it was made.
 */
import { sql, type Selectable } from 'kysely';
import {
  NOTIFICATIONS_MAX_LIMIT,
  type MarkNotificationsReadRequest,
  type MarkNotificationsReadResponse,
  type Notification,
  type NotificationPage,
  type NotificationPreferencePatch,
  type NotificationPreferences,
  type SetNotificationPreferencesRequest,
} from '../../contract/api.js';
import { readableSql, roleConditions } from '../../core/access.js';
import { loadActor, isTenantAdmin, type Actor } from '../../core/actor.js';
import { applyPreferences, builtinPreferences, mergePatch, presentNotification, type NotificationLabels } from '../../core/notifications.js';
import type { Principal } from '../../core/tokens.js';
import type { NotificationsTable } from '../../db/schema.js';
import { withTenant, type Tx } from '../../db/store.js';
import { badRequest, forbidden } from '../../lib/errors.js';
import type { Services } from '../services.js';
import { audit } from './audit.js';

/** A cursor: the last listed notification's time and id, as base64url JSON. */
function encodeCursor(row: { created_at: Date; id: string }): string {
  return Buffer.from(JSON.stringify(['n', row.created_at.toISOString(), row.id])).toString('base64url');
}

function decodeCursor(raw: string): { at: string; id: string } {
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'));
  } catch {
    v = null;
  }
  if (!Array.isArray(v) || v.length !== 3 || v[0] !== 'n' || typeof v[1] !== 'string' || Number.isNaN(Date.parse(v[1])) || typeof v[2] !== 'string' || !/^[0-9a-f-]{36}$/.test(v[2])) {
    throw badRequest('invalid_cursor', 'The cursor is not one this server issued');
  }
  return { at: v[1], id: v[2] };
}

/**
 * The reader's visible notifications: their own, shown in the app (not `silent`), about a
 * document they can still read (or about none).
 */
function visible(tx: Tx, actor: Actor) {
  const roles = roleConditions('me');
  return tx
    .selectFrom('notifications as n')
    .innerJoin('users as me', 'me.id', 'n.user_id')
    .leftJoin('documents as d', 'd.id', 'n.document_id')
    .leftJoin('document_permissions as g', (j) => j.onRef('g.document_id', '=', 'n.document_id').onRef('g.user_id', '=', 'n.user_id'))
    .where('n.user_id', '=', actor.userId)
    .where(sql<boolean>`not (n.data ? 'silent')`)
    .where((eb) =>
      eb.or([eb('n.document_id', 'is', null), eb.and([eb('d.deleted_at', 'is', null), readableSql({ document: 'd', grant: 'g', tenantAdmin: roles.tenantAdmin, member: roles.member }) as never])]),
    );
}

async function unreadCount(tx: Tx, actor: Actor): Promise<number> {
  const row = await visible(tx, actor)
    .where('n.read_at', 'is', null)
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

async function labelsFor(tx: Tx, rows: Selectable<NotificationsTable>[]): Promise<NotificationLabels> {
  const docIds = [...new Set(rows.map((r) => r.document_id).filter((v): v is string => v !== null))];
  const userIds = [...new Set(rows.map((r) => r.actor_id).filter((v): v is string => v !== null))];
  const titles = new Map<string, string>();
  const people = new Map<string, { id: string | null; name: string }>();
  if (docIds.length > 0) {
    for (const d of await tx.selectFrom('documents').select(['id', 'title']).where('id', 'in', docIds).execute()) titles.set(d.id, d.title);
  }
  if (userIds.length > 0) {
    for (const u of await tx.selectFrom('users').select(['id', 'display_name', 'email']).where('id', 'in', userIds).execute()) {
      people.set(u.id, { id: u.id, name: u.display_name ?? u.email.split('@')[0] ?? u.email });
    }
  }
  return { titles, people };
}

async function present(tx: Tx, rows: Selectable<NotificationsTable>[]): Promise<Notification[]> {
  const labels = await labelsFor(tx, rows);
  return rows.map((r) => {
    const n = presentNotification(r, labels);
    delete n.data['silent'];
    return n;
  });
}

export async function listNotifications(svc: Services, principal: Principal, ip: string | null, props: { unread?: boolean; cursor?: string; limit?: number }): Promise<NotificationPage> {
  const limit = Math.min(props.limit ?? 30, NOTIFICATIONS_MAX_LIMIT);
  const after = props.cursor === undefined ? null : decodeCursor(props.cursor);
  return withTenant(svc.store.db, principal.tenantId, async (tx) => {
    const actor = await loadActor(tx, principal, ip);
    let q = visible(tx, actor).selectAll('n');
    if (props.unread) q = q.where('n.read_at', 'is', null);
    if (after) q = q.where(sql<boolean>`(n.created_at, n.id) < (${after.at}::timestamptz, ${after.id}::uuid)`);
    const rows = await q
      .orderBy('n.created_at', 'desc')
      .orderBy('n.id', 'desc')
      .limit(limit + 1)
      .execute();
    const page = rows.slice(0, limit);
    return {
      notifications: await present(tx, page),
      nextCursor: rows.length > limit ? encodeCursor(page[page.length - 1]!) : null,
      unread: await unreadCount(tx, actor),
    };
  });
}

/** Marks some or all of the caller's notifications read; their other open streams hear the new count. */
export async function markNotificationsRead(svc: Services, principal: Principal, ip: string | null, props: MarkNotificationsReadRequest): Promise<MarkNotificationsReadResponse> {
  const result = await withTenant(svc.store.db, principal.tenantId, async (tx) => {
    const actor = await loadActor(tx, principal, ip);
    let q = tx
      .updateTable('notifications')
      .set({ read_at: sql<Date>`clock_timestamp()` })
      .where('user_id', '=', actor.userId)
      .where('read_at', 'is', null);
    if ('ids' in props) q = q.where('id', 'in', props.ids);
    await q.execute();
    return { unread: await unreadCount(tx, actor) };
  });
  svc.notificationHub.publish({ type: 'unread', tenantId: principal.tenantId, userId: principal.userId });
  return result;
}

/** One notification as its recipient sees it now; null when it is not theirs to see (any more). */
export async function notificationForStream(svc: Services, principal: Principal, notificationId: string): Promise<{ notification: Notification; unread: number } | null> {
  return withTenant(svc.store.db, principal.tenantId, async (tx) => {
    const actor = await loadActor(tx, principal, null);
    const row = await visible(tx, actor).selectAll('n').where('n.id', '=', notificationId).executeTakeFirst();
    if (!row) return null;
    return { notification: (await present(tx, [row]))[0]!, unread: await unreadCount(tx, actor) };
  });
}

export async function unreadForStream(svc: Services, principal: Principal): Promise<number> {
  return withTenant(svc.store.db, principal.tenantId, async (tx) => unreadCount(tx, await loadActor(tx, principal, null)));
}

async function preferencesOf(tx: Tx, actor: Actor): Promise<NotificationPreferences> {
  const tenant = await tx.selectFrom('tenants').select('notification_defaults').where('id', '=', actor.tenantId).executeTakeFirstOrThrow();
  const user = await tx.selectFrom('users').select('notification_preferences').where('id', '=', actor.userId).executeTakeFirstOrThrow();
  const defaults = applyPreferences(builtinPreferences(), tenant.notification_defaults as NotificationPreferencePatch);
  return { defaults, preferences: applyPreferences(defaults, user.notification_preferences as NotificationPreferencePatch) };
}

export async function getNotificationPreferences(svc: Services, principal: Principal, ip: string | null): Promise<NotificationPreferences> {
  return withTenant(svc.store.db, principal.tenantId, async (tx) => preferencesOf(tx, await loadActor(tx, principal, ip)));
}

/** Sets what the request names; the rest keeps following the workspace defaults (or the user's earlier choices). */
export async function setNotificationPreferences(svc: Services, principal: Principal, ip: string | null, props: SetNotificationPreferencesRequest): Promise<NotificationPreferences> {
  return withTenant(svc.store.db, principal.tenantId, async (tx) => {
    const actor = await loadActor(tx, principal, ip);
    const user = await tx.selectFrom('users').select('notification_preferences').where('id', '=', actor.userId).executeTakeFirstOrThrow();
    const merged = mergePatch(user.notification_preferences as NotificationPreferencePatch, props.preferences);
    await tx
      .updateTable('users')
      .set({ notification_preferences: JSON.stringify(merged) })
      .where('id', '=', actor.userId)
      .execute();
    return preferencesOf(tx, actor);
  });
}

/** The workspace's defaults (everyone reads them: the settings page shows what "default" means). */
export async function getNotificationDefaults(svc: Services, principal: Principal, ip: string | null): Promise<NotificationPreferences> {
  return getNotificationPreferences(svc, principal, ip);
}

/** Owners and admins set what everyone starts from; people's own choices stay. Audited. */
export async function setNotificationDefaults(svc: Services, principal: Principal, ip: string | null, props: SetNotificationPreferencesRequest): Promise<NotificationPreferences> {
  return withTenant(svc.store.db, principal.tenantId, async (tx) => {
    const actor = await loadActor(tx, principal, ip);
    if (!isTenantAdmin(actor.role)) throw forbidden('Only owners and admins set the workspace’s notification defaults');
    const tenant = await tx.selectFrom('tenants').select('notification_defaults').where('id', '=', actor.tenantId).executeTakeFirstOrThrow();
    const merged = mergePatch(tenant.notification_defaults as NotificationPreferencePatch, props.preferences);
    await tx
      .updateTable('tenants')
      .set({ notification_defaults: JSON.stringify(merged) })
      .where('id', '=', actor.tenantId)
      .execute();
    await audit(tx, {
      tenantId: actor.tenantId,
      actorId: actor.userId,
      action: 'workspace.notification_defaults',
      targetType: 'tenant',
      targetId: actor.tenantId,
      ip,
      detail: { set: props.preferences },
    });
    return preferencesOf(tx, actor);
  });
}
