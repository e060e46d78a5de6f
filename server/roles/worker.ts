/**
 * The worker role: the relay (outbox → event bus), the indexing consumer (full text,
 * embeddings, labels), the notifier (comments, shares and reviews → notifications), the
 * email and Web Push senders, the webhook enqueuer and deliverer, the review deadline
 * timers, the classifier trainer, the last-edited times (outbox → `documents.updated_at`),
 * and retention (the trash purge, version expiry). Shutdown stops them in the order they
 * depend on each other — the review timers and the retention run (their outbox events are
 * then published by the relay's last polls), the last-edited run and the relay (after its
 * last publish), the trainer, the senders (a send in flight finishes and is recorded), the
 * webhook deliverer (its requests in flight are aborted and handed back for another worker)
 * and enqueuer, the notifier and the consumer (their handlers in flight finish), then the
 * bus — and only then closes the sentence encoder, the search indexes and the store they use.
 */
import { decodeEvent, indexKeyOf, INDEXED_EVENT_TYPES, NOTIFYING_EVENT_TYPES } from '../../contract/feed.js';
import { DocumentStore } from '../../core/document-store.js';
import { PoisonMessageError, type EventBus } from '../../ml-workers/bus/bus.js';
import { loadClassifierModel } from '../../ml-workers/classifier/model.js';
import { Indexer } from '../../ml-workers/indexer.js';
import { LastEdited } from '../../ml-workers/last-edited.js';
import { Notifier } from '../../ml-workers/notify/notifier.js';
import type { Mailer } from '../../ml-workers/notify/mailer.js';
import type { PushSender } from '../../ml-workers/notify/push.js';
import { FeedMetrics } from '../../ml-workers/feed-metrics.js';
import { Relay } from '../../ml-workers/relay.js';
import { ReviewTimers } from '../../ml-workers/review-timers.js';
import { Trainer } from '../../ml-workers/trainer.js';
import { WebhookDeliverer } from '../../ml-workers/webhooks/deliverer.js';
import { WebhookEnqueuer, WEBHOOK_FEED_TYPES } from '../../ml-workers/webhooks/enqueue.js';
import { Retention } from '../retention.js';
import type { SearchIndexes } from './search.js';
import type { Shared } from './shared.js';

/** The default genre classifier, trained by `npm run train:default` and committed. */
const DEFAULT_CLASSIFIER_PATH = new URL('../../ml-workers/classifier/default-model.json', import.meta.url);

/** What a worker process runs that others may hold on to: the bus, and the delivery senders. */
export interface WorkerHandles {
  bus: EventBus;
  push: PushSender;
  /** Present when SMTP_URL is set. */
  mailer: Mailer | null;
}

export async function startWorker(shared: Shared, search: SearchIndexes): Promise<WorkerHandles> {
  const { config, svc, log, shutdown } = shared;
  const { store } = svc;
  let bus: EventBus;
  if (config.feed.natsUrl) {
    const { NatsBus } = await import('../../ml-workers/bus/nats.js');
    bus = await NatsBus.connect({ url: config.feed.natsUrl, stream: config.feed.stream, prefix: config.feed.subjectPrefix });
  } else {
    const { MemoryBus } = await import('../../ml-workers/bus/memory.js');
    bus = new MemoryBus();
  }
  // Each part registers its stop as it starts, so the shutdown (which runs in reverse)
  // stops the relay, then the trainer, then the consumer, and closes the bus last; a start
  // that fails half-way stops what did start.
  shutdown.add('bus', () => bus.close());
  const feedMetrics = new FeedMetrics(shared.metrics.registry);
  feedMetrics.watchConsumers(shared.metrics.registry, bus, ['indexer', 'notifier', 'webhooks']);
  if (config.feed.natsUrl) {
    const nats = bus as { connected?: boolean };
    shared.dependencies.watch('nats', () => nats.connected !== false);
  }
  const semantic =
    svc.semantic && search.embedder
      ? {
          embedder: await search.embedder(),
          vectors: svc.semantic.vectors,
          classifier: { name: 'default', model: await loadClassifierModel(DEFAULT_CLASSIFIER_PATH) },
        }
      : undefined;
  // Attachments' text is extracted (from svc.blobs, in a child process of the indexer's) before their document is indexed.
  const indexer = new Indexer({ db: store.db, store: new DocumentStore(store.db), fulltext: search.fulltext, log, semantic, blobs: svc.blobs });
  shutdown.add('extractor', () => indexer.close());
  // Events for one document fold into one run (the indexer reads current state);
  // handler slots are shared fairly between tenants (see ml-workers/bus/dispatch.ts).
  const consumer = await bus.consume({ durable: 'indexer', coalesceKey: (m) => indexKeyOf(m.data) }, async (msg) => {
    let ev;
    try {
      ev = decodeEvent(msg.data);
    } catch (e) {
      throw new PoisonMessageError(`undecodable event on ${msg.subject}`, { cause: e });
    }
    // Comments, shares and reviews change neither the text nor who may read it.
    if (!INDEXED_EVENT_TYPES.includes(ev.type)) {
      feedMetrics.indexed.inc({ result: 'ignored' });
      return;
    }
    let result;
    try {
      result = await indexer.handle(ev);
    } catch (e) {
      feedMetrics.indexed.inc({ result: 'failed' });
      throw e;
    }
    feedMetrics.indexed.inc({ result });
    const publishedAt = Date.parse(ev.at);
    if (Number.isFinite(publishedAt)) feedMetrics.indexLag.observe(Math.max(0, (Date.now() - publishedAt) / 1000));
  });
  shutdown.add('consumer', () => consumer.stop());
  const wake: Partial<Record<'email' | 'push', (dueInMs: number) => void>> = {};
  // Comments, shares and reviews become notifications (one per recipient, idempotent per event).
  const notifier = new Notifier({
    db: store.db,
    log,
    hub: svc.notificationHub,
    email: Boolean(config.notifications.smtpUrl),
    emailBatchMs: config.notifications.emailBatchMs,
    // The senders in this process look when what it wrote is due, not at their next poll.
    onDeliveries: (channel, dueInMs) => wake[channel]?.(dueInMs),
  });
  const notifications = await bus.consume({ durable: 'notifier' }, async (msg) => {
    let ev;
    try {
      ev = decodeEvent(msg.data);
    } catch (e) {
      throw new PoisonMessageError(`undecodable event on ${msg.subject}`, { cause: e });
    }
    if (NOTIFYING_EVENT_TYPES.includes(ev.type)) await notifier.handle(ev);
  });
  shutdown.add('notifier', () => notifications.stop());
  // Webhooks: feed events become delivery rows (exactly once per endpoint and event); the
  // deliverer sends them signed, with a lease, per-workspace caps and retries for a day.
  const deliverer = new WebhookDeliverer({ db: store.db, secrets: svc.secrets, log, registry: shared.metrics.registry, ...config.webhooks });
  const enqueuer = new WebhookEnqueuer({ db: store.db, log, onEnqueued: () => deliverer.wake() });
  const webhookFeed = await bus.consume({ durable: 'webhooks' }, async (msg) => {
    let ev;
    try {
      ev = decodeEvent(msg.data);
    } catch (e) {
      throw new PoisonMessageError(`undecodable event on ${msg.subject}`, { cause: e });
    }
    if (WEBHOOK_FEED_TYPES.includes(ev.type)) await enqueuer.handle(ev);
  });
  shutdown.add('webhook-enqueuer', () => webhookFeed.stop());
  deliverer.start();
  shutdown.add('webhook-deliverer', () => deliverer.stop());
  // Notification email, when SMTP is configured: digests, at most once (ml-workers/notify/mailer.ts).
  const smtpUrl = config.notifications.smtpUrl;
  let mailer: Mailer | null = null;
  if (smtpUrl) {
    const { Mailer } = await import('../../ml-workers/notify/mailer.js');
    const { signUnsubscribeToken } = await import('../../core/unsubscribe-tokens.js');
    const { mailFrom: from, publicUrl, pollMs } = config.notifications;
    mailer = new Mailer({
      db: store.db,
      log,
      smtpUrl,
      from,
      publicUrl,
      pollMs,
      signUnsubscribe: (c) => signUnsubscribeToken(svc.tokens.keys.current(), config.jwt.issuer, c),
      registry: shared.metrics.registry,
    });
    const started = mailer;
    started.start();
    wake.email = (ms) => started.wake(ms);
    shutdown.add('mailer', () => started.stop());
  }
  // Web Push to subscribed browsers, with VAPID keys from config or DATA_DIR/keys/vapid.json (ml-workers/notify/push.ts).
  const { PushSender } = await import('../../ml-workers/notify/push.js');
  const pushSender = new PushSender({ db: store.db, log, notifications: config.notifications, dataDir: config.dataDir });
  pushSender.start();
  wake.push = (ms) => pushSender.wake(ms);
  shutdown.add('push', () => pushSender.stop());
  // Without the sentence encoder, classifiers train the n-gram candidate only.
  const trainer = new Trainer({ db: store.db, embedder: search.embedder ?? undefined, log });
  trainer.start();
  shutdown.add('trainer', () => trainer.stop());
  const relay = new Relay({ db: store.db, bus, subjectPrefix: config.feed.subjectPrefix, log, intervalMs: config.feed.pollMs, metrics: feedMetrics });
  relay.start();
  shutdown.add('relay', () => relay.stop());
  // Documents' last-edited time follows their edits from the outbox (not the bus).
  const lastEdited = new LastEdited({ db: store.db, log, intervalMs: config.feed.lastEditedMs, registry: shared.metrics.registry });
  lastEdited.start();
  shutdown.add('last-edited', () => lastEdited.stop());
  // The trash empties itself after TRASH_RETENTION_DAYS; automatic versions expire after HISTORY_RETENTION_DAYS (when set).
  const retention = new Retention({
    db: store.db,
    log,
    trashRetentionDays: config.trashRetentionDays,
    historyRetentionDays: config.historyRetentionDays,
    intervalMs: config.retentionIntervalMs,
    registry: shared.metrics.registry,
    files: { blobs: svc.blobs, orphanDays: config.files.orphanDays, uploadExpiryHours: config.files.uploadExpiryHours },
  });
  retention.start();
  shutdown.add('retention', () => retention.stop());
  // Review deadlines: warnings and escalations, each fired once by whichever worker takes it (stopped before the relay, which publishes them).
  const reviewTimers = new ReviewTimers({ db: store.db, log, intervalMs: config.notifications.reviewTimerPollMs, registry: shared.metrics.registry });
  reviewTimers.start();
  shutdown.add('review-timers', () => reviewTimers.stop());
  return { bus, push: pushSender, mailer };
}
