/**
 * The push sender: delivers due `push` deliveries (written by the notifier) to the
 * recipients' browsers with Web Push.
 *
 * Every `pollMs` it asks which people have push deliveries due (`quire_deliveries_due`,
 * across tenants) and, per person, in one tenant transaction: claims their pending
 * deliveries (`for update skip locked`, so several workers never take the same one),
 * decides again whether each may still go out, and marks those that may `sending`. After
 * that commits it sends — each notification on its own, or one summary when more than
 * `MAX_SINGLE_PUSHES` are waiting — to each of the person's subscriptions, then records
 * the outcome:
 *
 * - `sent` when at least one browser's push service accepted it;
 * - back to `pending` with a growing delay when every failure was transient (429, 5xx,
 *   the network), until `MAX_ATTEMPTS`, then `failed`;
 * - `failed` when every push service refused it for good (4xx, a redirect, an endpoint
 *   the SSRF guard refuses);
 * - `skipped`, without sending, when the recipient can no longer read the document, was
 *   disabled, turned push off for that kind, or has no subscription left.
 *
 * A push service answering 404 or 410 says the browser unsubscribed: that subscription is
 * deleted. A delivery found `sending` after its lease (the sender stopped mid-send) may or
 * may not have reached the browser; it is never sent again (at most once) and is marked
 * `unknown`. Endpoints are capability URLs: logs name only their origin.
 */
import { PollLoop } from '../poll-loop.js';
import { sql } from 'kysely';
import type { NotificationKind, NotificationPreferencePatch, PermissionLevel } from '../../contract/api.js';
import { atLeast, levelFor } from '../../core/access.js';
import { effectivePreferences, notificationLink, notificationText } from '../../core/notifications.js';
import { vapidKeysFor, type VapidKeys } from '../../core/vapid-keys.js';
import type { TenantRole } from '../../db/schema.js';
import { withTenant, type AppDb, type Tx } from '../../db/store.js';
import type { Config } from '../../lib/config.js';
import type { Logger } from '../../lib/log.js';
import { originOf, sendPush, type PushOutcome, type PushRequestOptions } from './push-request.js';

/** Up to this many notifications waiting for one person go out one by one; more become one summary. @default 3 */
export const MAX_SINGLE_PUSHES = 3;
/** A delivery is tried this many times before it is `failed`. @default 5 */
export const MAX_ATTEMPTS = 5;
/** Deliveries claimed for one person per round (the rest wait for the next). @default 50 */
const CLAIM_LIMIT = 50;
/** How long a push service keeps a message for an offline browser: a day-old notification is stale. @default 24 h */
const TTL_SECONDS = 24 * 3600;
/** Longest title and body in a payload (a push payload is at most 4 KB encrypted). */
const MAX_TITLE_CHARS = 200;
const MAX_BODY_CHARS = 500;

export interface PushSenderOptions {
  db: AppDb;
  log: Logger;
  /** `config.notifications` (public URL, VAPID keys and subject, poll period, the private-endpoint flag). */
  notifications: Config['notifications'];
  /** Where generated VAPID keys are kept (`DATA_DIR`). */
  dataDir: string;
  /** People served per round (more wait for the next, which starts at once). @default 100 */
  batch?: number;
  /** People served at the same time (one slow push service does not hold up the rest). @default 4 */
  concurrency?: number;
  /** A claimed delivery still `sending` after this long is `unknown`. @default 5 min */
  leaseMs?: number;
  /** One request to a push service ends after this long (a transient failure). @default 10 s */
  timeoutMs?: number;
}

interface Claimed {
  deliveryId: string;
  notificationId: string;
  attempts: number;
  kind: NotificationKind;
  payload: PushPayload;
}

interface Subscription {
  id: string;
  endpoint: string;
  p256dh: string;
  auth: string;
}

/** What the service worker (`clients/web/public/sw.js`) receives. */
export interface PushPayload {
  title: string;
  body: string;
  /** Absolute: where clicking the notification goes. */
  url: string;
  /** A notification shown with the same tag replaces the older one on the device. */
  tag: string;
  /** Null for a summary of several. */
  notificationId: string | null;
  /** How many notifications the push stands for (1, or a summary's count). */
  count: number;
}

const cut = (s: string, max: number) => (s.length <= max ? s : `${s.slice(0, max - 1).trimEnd()}…`);

export class PushSender {
  private readonly poller: PollLoop;
  private stopped = false;

  constructor(private readonly opts: PushSenderOptions) {
    this.poller = new PollLoop({
      pollMs: opts.notifications.pollMs,
      run: () => this.runOnce(),
      backoffMs: 250,
      onError: (err, retryInMs) => opts.log.warn({ cat: 'notify', channel: 'push', err: err instanceof Error ? err.message : String(err), retryInMs }, 'push round failed'),
    });
  }

  private get leaseMs(): number {
    return this.opts.leaseMs ?? 300_000;
  }

  /** The VAPID keys, once the contact push services see is one they accept (else the round fails before claiming anything). */
  private keys(): Promise<VapidKeys> {
    const n = this.opts.notifications;
    let protocol = '';
    try {
      protocol = new URL(n.vapidSubject).protocol;
    } catch {
      // not a URL: refused below
    }
    if (protocol !== 'https:' && protocol !== 'mailto:') return Promise.reject(new Error('VAPID_SUBJECT must be an https: URL or a mailto: address'));
    return vapidKeysFor(n, { publicKey: n.vapidPublicKey, privateKey: n.vapidPrivateKey, dataDir: this.opts.dataDir });
  }

  start(): void {
    this.stopped = false;
    this.poller.start();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.poller.stop();
  }

  /** Looks for due pushes in `inMs`: this process just wrote deliveries due then (see `PollLoop.wake`). */
  wake(inMs: number): void {
    this.poller.wake(inMs);
  }

  /** One round over the people with due push deliveries; true when more were due than it took. */
  async runOnce(): Promise<boolean> {
    const batch = this.opts.batch ?? 100;
    const due = (await sql<{ tenant_id: string; user_id: string }>`select tenant_id, user_id from quire_deliveries_due('push', clock_timestamp(), ${batch})`.execute(this.opts.db)).rows;
    if (due.length === 0) return false;
    const keys = await this.keys();
    const queue = [...due];
    const lane = async () => {
      for (let next = queue.shift(); next && !this.stopped; next = queue.shift()) {
        try {
          await this.serve(next.tenant_id, next.user_id, keys);
        } catch (e) {
          this.opts.log.warn(
            { cat: 'notify', channel: 'push', tenant: next.tenant_id, user: next.user_id, err: e instanceof Error ? e.message : String(e) },
            'push delivery failed; tried again next round',
          );
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.opts.concurrency ?? 4, due.length) }, lane));
    return due.length === batch;
  }

  /** Claims, sends and records one person's due push deliveries. */
  private async serve(tenantId: string, userId: string, keys: VapidKeys): Promise<void> {
    const claim = await withTenant(this.opts.db, tenantId, (tx) => this.claim(tx, tenantId, userId));
    if (!claim) return;
    const { items, subscriptions } = claim;
    const messages =
      items.length <= MAX_SINGLE_PUSHES
        ? items.map((c) => ({ payload: c.payload, deliveries: [c], topic: c.notificationId.replace(/-/g, '') }))
        : [{ payload: this.summary(items), deliveries: items, topic: undefined }];
    const base: Omit<PushRequestOptions, 'urgency' | 'topic'> = {
      keys,
      subject: this.opts.notifications.vapidSubject,
      ttlSeconds: TTL_SECONDS,
      allowPrivateEndpoints: this.opts.notifications.pushAllowPrivateEndpoints,
      timeoutMs: this.opts.timeoutMs ?? 10_000,
    };
    const bySub = new Map<string, PushOutcome[]>();
    const byDelivery = new Map<string, PushOutcome[]>();
    for (const m of messages) {
      const urgent = m.deliveries.some((d) => d.kind === 'deadline' || d.kind === 'review_assigned');
      // A browser that unsubscribed (404/410) is not sent the rest.
      const live = subscriptions.filter((s) => !bySub.get(s.id)?.some((o) => o.result === 'gone'));
      const outcomes = await Promise.all(live.map((s) => sendPush(s, JSON.stringify(m.payload), { ...base, urgency: urgent ? 'high' : 'normal', topic: m.topic })));
      live.forEach((s, i) => bySub.set(s.id, [...(bySub.get(s.id) ?? []), outcomes[i]!]));
      for (const d of m.deliveries) byDelivery.set(d.deliveryId, outcomes);
    }
    for (const s of subscriptions) {
      for (const o of bySub.get(s.id) ?? []) {
        if (o.result !== 'accepted')
          this.opts.log.info({ cat: 'notify', channel: 'push', tenant: tenantId, user: userId, pushService: originOf(s.endpoint), result: o.result, err: o.error }, 'push not accepted');
      }
    }
    await withTenant(this.opts.db, tenantId, (tx) => this.record(tx, items, subscriptions, bySub, byDelivery));
  }

  /**
   * In the person's tenant transaction: expires lost sends, claims pending deliveries and
   * skips those that may no longer go out. Returns what to send, or null.
   */
  private async claim(tx: Tx, tenantId: string, userId: string): Promise<{ items: Claimed[]; subscriptions: Subscription[] } | null> {
    const lease = `${this.leaseMs} milliseconds`;
    await tx
      .updateTable('notification_deliveries')
      .set({ status: 'unknown', error: 'the sender stopped while sending; not sent again' })
      .where('user_id', '=', userId)
      .where('channel', '=', 'push')
      .where('status', '=', 'sending')
      .where('claimed_at', '<', sql<Date>`clock_timestamp() - ${lease}::interval`)
      .execute();
    const rows = await tx
      .selectFrom('notification_deliveries as d')
      .innerJoin('notifications as n', 'n.id', 'd.notification_id')
      .select(['d.id', 'd.attempts', 'n.id as notification_id', 'n.kind', 'n.document_id', 'n.actor_id', 'n.data'])
      .where('d.user_id', '=', userId)
      .where('d.channel', '=', 'push')
      .where('d.status', '=', 'pending')
      .where('d.due_at', '<=', sql<Date>`clock_timestamp()`)
      .orderBy('d.due_at')
      .limit(CLAIM_LIMIT)
      .forUpdate('d')
      .skipLocked()
      .execute();
    if (rows.length === 0) return null;
    const user = await tx.selectFrom('users').select(['role', 'disabled_at', 'notification_preferences']).where('id', '=', userId).executeTakeFirst();
    const tenant = await tx.selectFrom('tenants').select('notification_defaults').where('id', '=', tenantId).executeTakeFirstOrThrow();
    const docIds = [...new Set(rows.map((r) => r.document_id).filter((d): d is string => d !== null))];
    const docs = docIds.length
      ? await tx
          .selectFrom('documents as doc')
          .leftJoin('document_permissions as p', (j) => j.onRef('p.document_id', '=', 'doc.id').on('p.user_id', '=', userId))
          .select(['doc.id', 'doc.title', 'doc.kind', 'doc.link_access', 'doc.deleted_at', 'p.level'])
          .where('doc.id', 'in', docIds)
          .execute()
      : [];
    const docById = new Map(docs.map((d) => [d.id, d]));
    const actorIds = [...new Set(rows.map((r) => r.actor_id).filter((a): a is string => a !== null))];
    const actors = actorIds.length ? await tx.selectFrom('users').select(['id', 'display_name', 'email']).where('id', 'in', actorIds).execute() : [];
    const actorName = new Map(actors.map((a) => [a.id, a.display_name ?? a.email.split('@')[0] ?? a.email]));
    const subscriptions = await tx.selectFrom('push_subscriptions').select(['id', 'endpoint', 'p256dh', 'auth']).where('user_id', '=', userId).orderBy('created_at').execute();
    const prefs = user ? effectivePreferences(tenant.notification_defaults as NotificationPreferencePatch, user.notification_preferences as NotificationPreferencePatch) : null;

    const skipped: { id: string; why: string }[] = [];
    const items: Claimed[] = [];
    for (const r of rows) {
      const doc = r.document_id ? docById.get(r.document_id) : undefined;
      let why: string | null = null;
      if (!user || !prefs || user.disabled_at) why = 'the recipient is disabled or removed';
      else if (!prefs[r.kind].push) why = 'the recipient turned push off';
      else if (r.document_id && (!doc || doc.deleted_at || !atLeast(levelFor(user.role as TenantRole, { kind: doc.kind, linkAccess: doc.link_access }, doc.level as PermissionLevel | null), 'read')))
        why = 'the recipient can no longer read the document';
      else if (subscriptions.length === 0) why = 'no push subscription';
      if (why) {
        skipped.push({ id: r.id, why });
        continue;
      }
      const data = (r.data ?? {}) as Record<string, string>;
      const title = doc ? doc.title || null : null;
      const actor = r.actor_id ? (actorName.get(r.actor_id) ?? 'Removed user') : null;
      items.push({
        deliveryId: r.id,
        notificationId: r.notification_id,
        attempts: r.attempts,
        kind: r.kind,
        payload: {
          title: cut(notificationText(r.kind, actor, title, data), MAX_TITLE_CHARS),
          body: cut(data['excerpt'] ?? data['comment'] ?? (title ? `“${title}”` : ''), MAX_BODY_CHARS),
          url: this.opts.notifications.publicUrl + notificationLink(r.kind, r.document_id, data),
          tag: `quire-${r.notification_id}`,
          notificationId: r.notification_id,
          count: 1,
        },
      });
    }
    for (const s of skipped) {
      await tx.updateTable('notification_deliveries').set({ status: 'skipped', error: s.why }).where('id', '=', s.id).execute();
    }
    if (items.length === 0) return null;
    await tx
      .updateTable('notification_deliveries')
      .set({
        status: 'sending',
        claimed_at: sql<Date>`clock_timestamp()`,
        attempts: sql<number>`attempts + 1`,
        // Out of `quire_deliveries_due` until the lease ends (then it is found `unknown`, if still here).
        due_at: sql<Date>`clock_timestamp() + ${lease}::interval`,
      })
      .where(
        'id',
        'in',
        items.map((i) => i.deliveryId),
      )
      .execute();
    return { items, subscriptions };
  }

  /** One push standing for several notifications: the newest lines, linking to the app. */
  private summary(items: Claimed[]): PushPayload {
    const lines = items.slice(-MAX_SINGLE_PUSHES).map((i) => i.payload.title);
    return {
      title: `${items.length} new notifications`,
      body: cut(lines.reverse().join('\n'), MAX_BODY_CHARS),
      url: `${this.opts.notifications.publicUrl}/`,
      tag: `quire-summary-${items[0]!.notificationId}`,
      notificationId: null,
      count: items.length,
    };
  }

  /** Records what came of the sends (only deliveries this sender still holds as `sending`). */
  private async record(tx: Tx, items: Claimed[], subscriptions: Subscription[], bySub: Map<string, PushOutcome[]>, byDelivery: Map<string, PushOutcome[]>): Promise<void> {
    for (const s of subscriptions) {
      const outcomes = bySub.get(s.id) ?? [];
      if (outcomes.some((o) => o.result === 'gone')) {
        // Only the subscription that was sent to: the browser may have subscribed again since.
        await tx.deleteFrom('push_subscriptions').where('id', '=', s.id).where('endpoint', '=', s.endpoint).where('p256dh', '=', s.p256dh).execute();
        continue;
      }
      const failed = outcomes.find((o) => o.result !== 'accepted');
      if (outcomes.length > 0)
        await tx
          .updateTable('push_subscriptions')
          .set({ last_error: failed ? failed.error : null })
          .where('id', '=', s.id)
          .execute();
    }
    for (const item of items) {
      const outcomes = byDelivery.get(item.deliveryId) ?? [];
      const mine = tx.updateTable('notification_deliveries').where('id', '=', item.deliveryId).where('status', '=', 'sending');
      const firstError = outcomes.find((o) => o.result !== 'accepted');
      const error = firstError ? firstError.error : 'no push subscription';
      if (outcomes.some((o) => o.result === 'accepted')) {
        await mine.set({ status: 'sent', sent_at: sql<Date>`clock_timestamp()`, error: null }).execute();
      } else if (outcomes.some((o) => o.result === 'retry') && item.attempts + 1 < MAX_ATTEMPTS) {
        // 30 s, 2 min, 8 min, 32 min after the 1st, 2nd, 3rd and 4th attempts.
        const backoff = `${30 * 4 ** item.attempts} seconds`;
        await mine.set({ status: 'pending', error, due_at: sql<Date>`clock_timestamp() + ${backoff}::interval` }).execute();
      } else {
        await mine.set({ status: 'failed', error }).execute();
      }
    }
  }
}
