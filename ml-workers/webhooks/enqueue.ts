/**
 * The webhook enqueuer: a durable consumer of the change feed (like the notifier) that
 * turns feed events into webhook events and writes one delivery row per enabled endpoint
 * of the tenant subscribed to it; the deliverer (`deliverer.ts`) sends them.
 *
 * Feed → webhook: `document.created|changed|deleted|shared` keep their names,
 * `document.commented` → `comment.created` (once per comment: edits re-announce it on the
 * feed), `document.review` → `review.decided` (decisions only), `document.classified`
 * keeps its name. The event id — the idempotency id receivers see — is derived from the
 * feed row (or the comment), so a redelivered feed event maps to the same id and the
 * unique `(endpoint_id, event_id)` makes enqueueing exactly-once.
 *
 * Payloads carry ids and metadata read when the event is handled (title, share level,
 * review decision, shown labels), never document content or comment bodies; the title is
 * included only while the endpoint's creator could read the document (an active owner or
 * admin of the workspace, who reads every document).
 */
import crypto from 'node:crypto';
import { sql } from 'kysely';
import type { FeedEvent, FeedEventType } from '../../contract/feed.js';
import type { WebhookEvent, WebhookEventType } from '../../contract/webhooks.js';
import { isTenantAdmin } from '../../core/actor.js';
import type { TenantRole } from '../../db/schema.js';
import { withTenant, type AppDb, type Tx } from '../../db/store.js';
import type { Logger } from '../../lib/log.js';

const WEBHOOK_TYPE: Partial<Record<FeedEventType, WebhookEventType>> = {
  'document.created': 'document.created',
  'document.changed': 'document.changed',
  'document.deleted': 'document.deleted',
  'document.shared': 'document.shared',
  'document.commented': 'comment.created',
  'document.review': 'review.decided',
  'document.classified': 'document.classified',
};

/** Feed event types the enqueuer looks at (the rest are skipped without a query). */
export const WEBHOOK_FEED_TYPES = Object.keys(WEBHOOK_TYPE) as FeedEventType[];

const DECISIONS = new Set(['approved', 'rejected', 'changes_requested', 'completed']);

/** A stable, opaque idempotency id: `msg_<32 hex>` of what names the event uniquely in its tenant. */
export function webhookEventId(tenantId: string, key: string): string {
  return `msg_${crypto.createHash('sha256').update(`${tenantId}:${key}`).digest('hex').slice(0, 32)}`;
}

export interface EnqueuerOptions {
  db: AppDb;
  log: Logger;
  /** Told after commit when deliveries were written (the deliverer here looks at once). */
  onEnqueued?: (count: number) => void;
}

interface Built {
  key: string;
  createdAt: string;
  data: Record<string, unknown>;
  /** Names the document's title: dropped for endpoints whose creator could not read it. */
  title?: string;
}

export class WebhookEnqueuer {
  constructor(private readonly opts: EnqueuerOptions) {}

  /** Handles one feed event; returns the deliveries written (0 for a redelivery). */
  async handle(ev: FeedEvent): Promise<number> {
    const type = WEBHOOK_TYPE[ev.type];
    if (!type) return 0;
    const written = await withTenant(this.opts.db, ev.tenantId, async (tx) => {
      const endpoints = await tx
        .selectFrom('webhook_endpoints as e')
        .leftJoin('users as u', 'u.id', 'e.created_by')
        .select(['e.id', 'u.role', 'u.disabled_at'])
        .where('e.enabled', '=', true)
        .where(sql<boolean>`${type} = any(e.events)`)
        .execute();
      if (endpoints.length === 0) return 0;
      const built = await buildEvent(tx, ev, type);
      if (!built) return 0;
      const id = webhookEventId(ev.tenantId, built.key);
      const rows = endpoints.map((e) => {
        const readsAll = e.role !== null && !e.disabled_at && isTenantAdmin(e.role as TenantRole);
        const data = built.title !== undefined && readsAll ? { ...built.data, title: built.title } : built.data;
        const body: WebhookEvent = { id, type, createdAt: built.createdAt, tenantId: ev.tenantId, data };
        return { tenant_id: ev.tenantId, endpoint_id: e.id, event_id: id, event_type: type, payload: JSON.stringify(body), created_at: built.createdAt };
      });
      const inserted = await tx
        .insertInto('webhook_deliveries')
        .values(rows)
        .onConflict((oc) => oc.columns(['endpoint_id', 'event_id']).doNothing())
        .returning('id')
        .execute();
      return inserted.length;
    });
    if (written > 0) {
      this.opts.log.debug({ cat: 'webhooks', type, doc: ev.documentId, count: written }, 'webhook deliveries enqueued');
      this.opts.onEnqueued?.(written);
    }
    return written;
  }
}

/** The webhook event's identity and data as the feed event names it now; null when there is nothing to send. */
async function buildEvent(tx: Tx, ev: FeedEvent, type: WebhookEventType): Promise<Built | null> {
  // The feed row: its transaction and sequence (the update log and the event outbox number
  // their rows apart, so the sequence alone could name two changes).
  const base = { key: `${ev.type}:${ev.documentId}:${ev.txid}:${ev.seq}`, createdAt: ev.at };
  const documentId = ev.documentId;
  switch (type) {
    case 'document.deleted':
      return { ...base, data: { documentId } };
    case 'document.created':
    case 'document.changed': {
      const doc = await tx.selectFrom('documents').select(['title', 'kind', 'deleted_at']).where('id', '=', documentId).executeTakeFirst();
      if (!doc) return null; // purged before we got to it
      return { ...base, data: { documentId, kind: doc.kind, inTrash: doc.deleted_at !== null }, title: doc.title };
    }
    case 'document.shared': {
      if (!ev.subjectId) return null;
      const grant = await tx.selectFrom('document_permissions').select(['level', 'granted_by']).where('document_id', '=', documentId).where('user_id', '=', ev.subjectId).executeTakeFirst();
      return { ...base, data: { documentId, userId: ev.subjectId, level: grant?.level ?? null, grantedBy: grant?.granted_by ?? null } };
    }
    case 'comment.created': {
      if (!ev.subjectId) return null;
      const c = await tx.selectFrom('document_comments').select(['id', 'parent_id', 'author_id', 'created_at']).where('id', '=', ev.subjectId).where('document_id', '=', documentId).executeTakeFirst();
      if (!c) return null;
      return {
        key: `comment.created:${c.id}`,
        createdAt: new Date(c.created_at).toISOString(),
        data: { documentId, commentId: c.id, threadId: c.parent_id ?? c.id, parentId: c.parent_id, authorId: c.author_id },
      };
    }
    case 'review.decided': {
      if (!ev.subjectId) return null;
      const e = await tx
        .selectFrom('review_events as e')
        .innerJoin('reviews as r', 'r.id', 'e.review_id')
        .select(['e.id', 'e.type', 'e.step', 'e.actor_id', 'e.created_at', 'r.id as review_id', 'r.workflow_name'])
        .where('e.id', '=', ev.subjectId)
        .executeTakeFirst();
      if (!e || !DECISIONS.has(e.type)) return null;
      return {
        key: `review.decided:${e.id}`,
        createdAt: new Date(e.created_at).toISOString(),
        data: { documentId, reviewId: e.review_id, reviewEventId: e.id, decision: e.type, step: e.step, actorId: e.actor_id, workflowName: e.workflow_name },
      };
    }
    case 'document.classified': {
      const labels = await tx
        .selectFrom('document_classifications')
        .select(['model', 'shown_label'])
        .where('document_id', '=', documentId)
        .where('shown_label', 'is not', null)
        .orderBy('model')
        .execute();
      return { ...base, data: { documentId, labels: labels.map((l) => ({ model: l.model, label: l.shown_label })) } };
    }
  }
}
