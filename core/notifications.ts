/**
 * Notifications: who hears about what, and how a stored notification reads.
 *
 * Preferences resolve in three layers, per kind × channel: built-in defaults (everything
 * on), the workspace's defaults set by an admin, then the user's own choices. A stored
 * value is an override map (`{kind: {channel: boolean}}`); anything it does not name falls
 * through to the layer below, so a new kind or channel starts from its default.
 */
import {
  NOTIFICATION_CHANNELS,
  NOTIFICATION_KINDS,
  type CommentAuthor,
  type Notification,
  type NotificationChannel,
  type NotificationKind,
  type NotificationPreferenceMap,
  type NotificationPreferencePatch,
} from '../contract/api.js';
import type { NotificationsTable } from '../db/schema.js';
import type { Selectable } from 'kysely';

/** Every kind on every channel: people hear about what involves them unless they say otherwise. */
export function builtinPreferences(): NotificationPreferenceMap {
  const map = {} as NotificationPreferenceMap;
  for (const kind of NOTIFICATION_KINDS) {
    map[kind] = { inApp: true, email: true, push: true };
  }
  return map;
}

/** `base` with `patch` laid over it (unknown kinds and channels in `patch` are ignored). */
export function applyPreferences(base: NotificationPreferenceMap, patch: NotificationPreferencePatch | null | undefined): NotificationPreferenceMap {
  const out = {} as NotificationPreferenceMap;
  for (const kind of NOTIFICATION_KINDS) {
    out[kind] = { ...base[kind] };
    const over = patch?.[kind];
    if (!over || typeof over !== 'object') continue;
    for (const ch of NOTIFICATION_CHANNELS) {
      if (typeof over[ch] === 'boolean') out[kind][ch] = over[ch];
    }
  }
  return out;
}

/** A stored override map with `patch` merged in (what PUT stores). */
export function mergePatch(stored: NotificationPreferencePatch | null | undefined, patch: NotificationPreferencePatch): NotificationPreferencePatch {
  const out: NotificationPreferencePatch = {};
  for (const kind of NOTIFICATION_KINDS) {
    const merged: Partial<Record<NotificationChannel, boolean>> = {};
    for (const ch of NOTIFICATION_CHANNELS) {
      const v = patch[kind]?.[ch] ?? stored?.[kind]?.[ch];
      if (typeof v === 'boolean') merged[ch] = v;
    }
    if (Object.keys(merged).length > 0) out[kind] = merged;
  }
  return out;
}

/** What applies to a user: built-in, then the workspace's defaults, then theirs. */
export function effectivePreferences(tenantDefaults: NotificationPreferencePatch | null | undefined, user: NotificationPreferencePatch | null | undefined): NotificationPreferenceMap {
  return applyPreferences(applyPreferences(builtinPreferences(), tenantDefaults), user);
}

export interface NotificationLabels {
  /** Document titles by id (documents the reader may see). */
  titles: Map<string, string>;
  /** People by id. */
  people: Map<string, CommentAuthor>;
}

const quoted = (title: string | null) => (title ? `“${title}”` : 'a document');

/** The line a person reads, for a notification of `kind`. */
export function notificationText(kind: NotificationKind, actor: string | null, title: string | null, data: Record<string, string>): string {
  const who = actor ?? 'Someone';
  const doc = quoted(title);
  switch (kind) {
    case 'mention':
      return `${who} mentioned you in ${doc}`;
    case 'reply':
      return `${who} replied to a thread in ${doc}`;
    case 'share':
      return `${who} shared ${doc} with you${data['level'] ? ` (${data['level']})` : ''}`;
    case 'review_assigned':
      return `${who} asked you to review ${doc}${data['stepName'] ? ` — ${data['stepName']}` : ''}`;
    case 'review_decided': {
      const what: Record<string, string> = {
        approved: 'approved',
        rejected: 'rejected',
        changes_requested: 'requested changes to',
        completed: 'completed the review of',
      };
      if (data['decision'] === 'completed') return `The review of ${doc} is approved`;
      return `${who} ${what[data['decision'] ?? ''] ?? 'decided on'} ${doc}`;
    }
    case 'deadline':
      if (data['stage'] === 'warning') return `The review of ${doc} is due soon${data['stepName'] ? ` (${data['stepName']})` : ''}`;
      if (data['stage'] === 'escalated') return `The review of ${doc} is overdue and was escalated to you`;
      return `The review of ${doc} is overdue`;
  }
}

/** Where clicking a notification goes, relative to the web app. */
export function notificationLink(kind: NotificationKind, documentId: string | null, data: Record<string, string>): string {
  if (!documentId) return '/';
  if (kind === 'mention' || kind === 'reply') return `/d/${documentId}${data['commentId'] ? `?comment=${data['commentId']}` : ''}`;
  if (kind === 'review_assigned' || kind === 'deadline') return data['taskId'] ? `/tasks?task=${data['taskId']}` : `/d/${documentId}?panel=reviews`;
  if (kind === 'review_decided') return `/d/${documentId}?panel=reviews`;
  return `/d/${documentId}`;
}

/** A stored notification as the API shows it. */
export function presentNotification(row: Selectable<NotificationsTable>, labels: NotificationLabels): Notification {
  const data = (row.data ?? {}) as Record<string, string>;
  const title = row.document_id ? (labels.titles.get(row.document_id) ?? null) : null;
  const actor = row.actor_id ? (labels.people.get(row.actor_id) ?? { id: row.actor_id, name: 'Removed user' }) : null;
  return {
    id: row.id,
    kind: row.kind,
    documentId: row.document_id,
    documentTitle: title,
    actor,
    text: notificationText(row.kind, actor?.name ?? null, title, data),
    link: notificationLink(row.kind, row.document_id, data),
    data,
    createdAt: row.created_at.toISOString(),
    readAt: row.read_at ? row.read_at.toISOString() : null,
  };
}
