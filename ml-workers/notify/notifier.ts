/**
 * The notifier: turns the change feed's notifying events (`document.commented`,
 * `document.shared`, `document.review`) into notifications, one per recipient.
 *
 * Each event is handled in one tenant transaction that reads what the event names as it
 * is now (the comment, the grant, the review event), decides who hears about it, and
 * writes their notifications with the email and push deliveries their preferences ask for.
 * A notification is unique per recipient, kind and source (the comment, else the feed
 * row), so a redelivered event (a crash before the ack) writes nothing twice and an edited
 * comment tells only the people it newly mentions; open streams are signalled after commit.
 *
 * Nobody is told about a document they cannot read: every recipient's access is checked at
 * handling time, with the same rule as every other read (`core/access.ts`). The actor
 * never notifies themselves.
 */
import { sql } from 'kysely';
import type { FeedEvent } from '../../contract/feed.js';
import type { NotificationKind, NotificationPreferencePatch, PermissionLevel, WorkflowAssignees, WorkflowStep } from '../../contract/api.js';
import { atLeast, levelFor } from '../../core/access.js';
import { plainExcerpt } from '../../core/mentions.js';
import { effectivePreferences } from '../../core/notifications.js';
import type { TenantRole } from '../../db/schema.js';
import { withTenant, type AppDb, type Tx } from '../../db/store.js';
import type { Logger } from '../../lib/log.js';
import type { NotificationHub } from '../../lib/notification-hub.js';

export interface NotifierOptions {
  db: AppDb;
  log: Logger;
  hub: NotificationHub;
  /** Whether email goes out (SMTP configured): deliveries are only written when it does. */
  email: boolean;
  /** An email delivery waits this long for others to the same person (the digest window). */
  emailBatchMs: number;
  /** Told after commit when deliveries were written, and in how long they are due (the senders here look then). */
  onDeliveries?: (channel: 'email' | 'push', dueInMs: number) => void;
}

/** One person to tell about one thing. */
export interface Recipient {
  userId: string;
  kind: NotificationKind;
  actorId: string | null;
  data: Record<string, string>;
}

export class Notifier {
  constructor(private readonly opts: NotifierOptions) {}

  /** Handles one event; returns the notifications written (0 for a redelivery). */
  async handle(ev: FeedEvent): Promise<number> {
    if (!ev.subjectId) return 0;
    const made = await withTenant(this.opts.db, ev.tenantId, async (tx) => {
      const wanted = await recipientsOf(tx, ev);
      if (wanted.length === 0) return [];
      return this.write(tx, ev, wanted);
    });
    for (const n of made) {
      if (n.inApp) this.opts.hub.publish({ type: 'notification', tenantId: ev.tenantId, userId: n.userId, notificationId: n.id });
    }
    if (made.some((n) => n.email)) this.opts.onDeliveries?.('email', this.opts.emailBatchMs);
    if (made.some((n) => n.push)) this.opts.onDeliveries?.('push', 0);
    if (made.length > 0) this.opts.log.debug({ cat: 'notify', type: ev.type, doc: ev.documentId, count: made.length }, 'notifications written');
    return made.length;
  }

  private async write(tx: Tx, ev: FeedEvent, wanted: Recipient[]): Promise<{ id: string; userId: string; inApp: boolean; email: boolean; push: boolean }[]> {
    const ids = [...new Set(wanted.map((r) => r.userId))];
    const doc = await tx.selectFrom('documents').select(['kind', 'link_access', 'deleted_at']).where('id', '=', ev.documentId).executeTakeFirst();
    if (!doc || doc.deleted_at) return [];
    const people = await tx
      .selectFrom('users as u')
      .leftJoin('document_permissions as p', (j) => j.onRef('p.user_id', '=', 'u.id').on('p.document_id', '=', ev.documentId))
      .select(['u.id', 'u.role', 'u.notification_preferences', 'p.level'])
      .where('u.id', 'in', ids)
      .where('u.disabled_at', 'is', null)
      .execute();
    const tenant = await tx.selectFrom('tenants').select('notification_defaults').where('id', '=', ev.tenantId).executeTakeFirstOrThrow();
    const pushers = new Set((await tx.selectFrom('push_subscriptions').select('user_id').distinct().where('user_id', 'in', ids).execute()).map((r) => r.user_id));
    const byId = new Map(people.map((p) => [p.id, p]));
    const out: { id: string; userId: string; inApp: boolean; email: boolean; push: boolean }[] = [];
    // A comment tells each person once, whatever edits add later; other events once per feed row.
    const source = ev.type === 'document.commented' ? `comment:${ev.subjectId}` : `ev:${ev.seq}`;
    for (const r of wanted) {
      const person = byId.get(r.userId);
      if (!person) continue;
      const level = levelFor(person.role as TenantRole, { kind: doc.kind, linkAccess: doc.link_access }, person.level as PermissionLevel | null);
      if (!atLeast(level, 'read')) continue;
      const prefs = effectivePreferences(tenant.notification_defaults as NotificationPreferencePatch, person.notification_preferences as NotificationPreferencePatch)[r.kind];
      const email = prefs.email && this.opts.email;
      const push = prefs.push && pushers.has(r.userId);
      if (!prefs.inApp && !email && !push) continue;
      // Not shown in the app: kept (its email or push needs it) but read, and left out of lists.
      const data = prefs.inApp ? r.data : { ...r.data, silent: '1' };
      const row = await tx
        .insertInto('notifications')
        .values({
          tenant_id: ev.tenantId,
          user_id: r.userId,
          kind: r.kind,
          document_id: ev.documentId,
          actor_id: r.actorId,
          source,
          data: JSON.stringify(data),
          read_at: prefs.inApp ? null : sql<Date>`clock_timestamp()`,
        })
        .onConflict((oc) => oc.columns(['tenant_id', 'user_id', 'source', 'kind']).doNothing())
        .returning('id')
        .executeTakeFirst();
      if (!row) continue; // written by an earlier delivery of this event
      const deliveries: { channel: 'email' | 'push'; due: ReturnType<typeof sql<Date>> }[] = [];
      if (email) deliveries.push({ channel: 'email', due: sql<Date>`clock_timestamp() + ${`${this.opts.emailBatchMs} milliseconds`}::interval` });
      if (push) deliveries.push({ channel: 'push', due: sql<Date>`clock_timestamp()` });
      if (deliveries.length > 0) {
        await tx
          .insertInto('notification_deliveries')
          .values(deliveries.map((d) => ({ tenant_id: ev.tenantId, notification_id: row.id, user_id: r.userId, channel: d.channel, due_at: d.due })))
          .onConflict((oc) => oc.columns(['notification_id', 'channel']).doNothing())
          .execute();
      }
      out.push({ id: row.id, userId: r.userId, inApp: prefs.inApp, email, push });
    }
    return out;
  }
}

/** Who hears about an event, before access and preferences. */
export async function recipientsOf(tx: Tx, ev: FeedEvent): Promise<Recipient[]> {
  switch (ev.type) {
    case 'document.commented':
      return commentRecipients(tx, ev.documentId, ev.subjectId!);
    case 'document.shared':
      return shareRecipients(tx, ev.documentId, ev.subjectId!);
    case 'document.review':
      return reviewRecipients(tx, ev.subjectId!);
    default:
      return [];
  }
}

/** A comment: the people it mentions; for a reply, also everyone else in the thread. */
async function commentRecipients(tx: Tx, documentId: string, commentId: string): Promise<Recipient[]> {
  const c = await tx.selectFrom('document_comments').select(['id', 'parent_id', 'author_id', 'body']).where('id', '=', commentId).where('document_id', '=', documentId).executeTakeFirst();
  if (!c) return []; // deleted before we got to it
  const threadId = c.parent_id ?? c.id;
  const data = { commentId: c.id, threadId, excerpt: plainExcerpt(c.body) };
  const mentioned = (await tx.selectFrom('comment_mentions').select('user_id').where('comment_id', '=', c.id).execute()).map((m) => m.user_id);
  const out: Recipient[] = mentioned.filter((u) => u !== c.author_id).map((userId) => ({ userId, kind: 'mention' as const, actorId: c.author_id, data }));
  if (c.parent_id) {
    const thread = await tx
      .selectFrom('document_comments')
      .select('author_id')
      .distinct()
      .where((eb) => eb.or([eb('id', '=', c.parent_id), eb('parent_id', '=', c.parent_id)]))
      .where('id', '<>', c.id)
      .execute();
    for (const t of thread) {
      if (!t.author_id || t.author_id === c.author_id || mentioned.includes(t.author_id)) continue;
      out.push({ userId: t.author_id, kind: 'reply', actorId: c.author_id, data });
    }
  }
  return out;
}

/** A share: the person it was shared with, if the grant still stands. */
async function shareRecipients(tx: Tx, documentId: string, userId: string): Promise<Recipient[]> {
  const grant = await tx.selectFrom('document_permissions').select(['level', 'granted_by']).where('document_id', '=', documentId).where('user_id', '=', userId).executeTakeFirst();
  if (!grant || grant.granted_by === userId) return [];
  return [{ userId, kind: 'share', actorId: grant.granted_by, data: { level: grant.level } }];
}

/** Everyone a workflow's assignee spec names (users, and the active users of a role). */
async function usersOf(tx: Tx, who: WorkflowAssignees | undefined): Promise<string[]> {
  const ids = new Set(who?.users ?? []);
  if (who?.role) {
    for (const u of await tx.selectFrom('users').select('id').where('role', '=', who.role).where('disabled_at', 'is', null).execute()) ids.add(u.id);
  }
  return [...ids];
}

/**
 * A review event: an assignment tells the step's assignees (each with their task); a
 * decision tells whoever asked for the review; a warning tells the assignees still to
 * decide; an escalation tells them and the step's escalation contacts.
 */
async function reviewRecipients(tx: Tx, reviewEventId: string): Promise<Recipient[]> {
  const e = await tx
    .selectFrom('review_events as e')
    .innerJoin('reviews as r', 'r.id', 'e.review_id')
    .select(['e.id', 'e.type', 'e.step', 'e.actor_id', 'e.comment', 'r.id as review_id', 'r.requested_by', 'r.steps', 'r.workflow_name'])
    .where('e.id', '=', reviewEventId)
    .executeTakeFirst();
  if (!e) return [];
  const steps = e.steps as WorkflowStep[];
  const step = e.step === null ? undefined : steps[e.step];
  const base: Record<string, string> = { reviewId: e.review_id, workflowName: e.workflow_name };
  if (step) base['stepName'] = step.name;
  const openTasks = async () =>
    e.step === null ? [] : tx.selectFrom('review_tasks').select(['id', 'assignee_id']).where('review_id', '=', e.review_id).where('step', '=', e.step).where('status', '=', 'open').execute();
  switch (e.type) {
    case 'assigned':
      return (await openTasks()).map((t) => ({ userId: t.assignee_id, kind: 'review_assigned' as const, actorId: e.requested_by, data: { ...base, taskId: t.id } }));
    case 'approved':
    case 'rejected':
    case 'changes_requested':
    case 'completed': {
      if (!e.requested_by || e.requested_by === e.actor_id) return [];
      const data: Record<string, string> = { ...base, decision: e.type };
      if (e.comment) data['comment'] = plainExcerpt(e.comment);
      return [{ userId: e.requested_by, kind: 'review_decided', actorId: e.actor_id, data }];
    }
    case 'warning':
      return (await openTasks()).map((t) => ({ userId: t.assignee_id, kind: 'deadline' as const, actorId: null, data: { ...base, taskId: t.id, stage: 'warning' } }));
    case 'escalated': {
      const tasks = await openTasks();
      const out: Recipient[] = tasks.map((t) => ({ userId: t.assignee_id, kind: 'deadline' as const, actorId: null, data: { ...base, taskId: t.id, stage: 'overdue' } }));
      const assignees = new Set(tasks.map((t) => t.assignee_id));
      for (const userId of await usersOf(tx, step?.escalateTo)) {
        if (!assignees.has(userId)) out.push({ userId, kind: 'deadline', actorId: null, data: { ...base, stage: 'escalated' } });
      }
      return out;
    }
    default:
      return [];
  }
}
