/**
 * Fan-out between instances through Redis (`@hocuspocus/extension-redis`), degrading to
 * local fan-out when Redis stalls or is lost instead of holding documents.
 *
 * The stock extension waits on Redis in three places that matter: a document's load
 * subscribes to its channel (a stalled Redis held every new document's opening forever),
 * a store takes a lock (a failure there keeps the document in memory for good), and every
 * change publishes. Here each Redis command is bounded (`commandTimeout`), the clients have
 * `'error'` listeners, and:
 * - a load whose subscription fails still opens the document: its clients on this
 *   instance edit and see each other as usual; the subscription is retried in the
 *   background (1 s, doubling to 30 s) and, once it succeeds, the document asks its peers
 *   for what it missed, as a fresh load does;
 * - a store whose lock fails proceeds: Quire's stores are no-ops (every update is already
 *   in the document log), so the lock protects nothing here;
 * - a failed publish is dropped (Redis pub/sub never promised delivery; peers catch up
 *   through the sync step of the next change).
 * Each switch between working and degraded is logged once.
 */
import { Redis as RedisExtension, type Configuration } from '@hocuspocus/extension-redis';
import type { afterLoadDocumentPayload, Document, onStoreDocumentPayload } from '@hocuspocus/server';
import type { Logger } from '../lib/log.js';

/** Longest wait between two attempts to subscribe a document that opened without Redis. */
const MAX_RESUBSCRIBE_DELAY_MS = 30_000;

/** The stock extension's members this class relies on (TypeScript-private there). */
interface ExtensionInternals {
  documents: Map<string, Document>;
  publishFirstSyncStep(documentName: string, document: Document): Promise<unknown>;
}

type Publish = (channel: string | Buffer, message: string | Buffer) => Promise<number>;

export class RedisFanout extends RedisExtension {
  private degradedSince: number | null = null;
  private readonly resubscribing = new Map<string, NodeJS.Timeout>();
  /** Messages published to and received from the other instances (metrics). */
  readonly counts = { published: 0, received: 0 };

  constructor(
    configuration: Partial<Configuration>,
    private readonly log: Logger,
  ) {
    super(configuration);
    for (const [name, client] of [
      ['publisher', this.pub],
      ['subscriber', this.sub],
    ] as const) {
      client.on('error', (err: Error) => this.degrade(err, `${name} connection`));
    }
    this.sub.on('messageBuffer', () => void this.counts.received++);
    // Publishing is fire-and-forget in Redis: a failure is noted, not thrown at the editor.
    const publish = this.pub.publish.bind(this.pub) as Publish;
    (this.pub as unknown as { publish: Publish }).publish = (channel, message) =>
      publish(channel, message).then(
        (n) => {
          this.counts.published++;
          this.recover();
          return n;
        },
        (err: unknown) => {
          this.degrade(err, 'publish');
          return 0;
        },
      );
  }

  /** Whether Redis failed last time it was used (fan-out is local only). */
  get degraded(): boolean {
    return this.degradedSince !== null;
  }

  override async afterLoadDocument(payload: afterLoadDocumentPayload): Promise<void> {
    try {
      await super.afterLoadDocument(payload);
      this.recover();
    } catch (err) {
      this.degrade(err, 'subscribe');
      this.resubscribe(payload.documentName, payload.document, 1_000);
    }
  }

  override async onStoreDocument(payload: onStoreDocumentPayload): Promise<void> {
    try {
      await super.onStoreDocument(payload);
    } catch (err) {
      // Another instance holds the lock (by name: the class may come from another copy of @hocuspocus/common).
      if ((err as Error)?.name === 'SkipFurtherHooksError') throw err;
      this.degrade(err, 'store lock');
    }
  }

  override async onDestroy(): Promise<void> {
    for (const t of this.resubscribing.values()) clearTimeout(t);
    this.resubscribing.clear();
    try {
      await super.onDestroy();
    } catch (err) {
      // Releasing the lock client failed (Redis unreachable): the connections still close.
      this.log.warn({ cat: 'sync', err: (err as Error)?.message }, 'Redis fan-out did not close cleanly');
    } finally {
      this.pub.disconnect(false);
      this.sub.disconnect(false);
    }
  }

  private resubscribe(documentName: string, document: Document, delayMs: number): void {
    clearTimeout(this.resubscribing.get(documentName));
    const timer = setTimeout(() => {
      this.resubscribing.delete(documentName);
      // Unloaded (or loaded again, with its own subscription) meanwhile: nothing to do.
      if (this.instance.documents.get(documentName) !== document) return;
      const internals = this as unknown as ExtensionInternals;
      this.sub
        .subscribe(`${this.configuration.prefix}:${documentName}`)
        .then(async () => {
          if (this.instance.documents.get(documentName) !== document) return;
          internals.documents.set(documentName, document);
          this.recover();
          await internals.publishFirstSyncStep(documentName, document);
        })
        .catch((err: unknown) => {
          this.degrade(err, 'subscribe');
          this.resubscribe(documentName, document, Math.min(delayMs * 2, MAX_RESUBSCRIBE_DELAY_MS));
        });
    }, delayMs);
    timer.unref();
    this.resubscribing.set(documentName, timer);
  }

  private degrade(err: unknown, what: string): void {
    if (this.degradedSince !== null) return;
    this.degradedSince = Date.now();
    this.log.warn({ cat: 'sync', err: (err as Error)?.message ?? String(err), what }, 'Redis fan-out failed: documents fan out to this instance only until Redis answers');
  }

  private recover(): void {
    if (this.degradedSince === null) return;
    this.log.info({ cat: 'sync', degradedMs: Date.now() - this.degradedSince }, 'Redis fan-out works again');
    this.degradedSince = null;
  }
}
