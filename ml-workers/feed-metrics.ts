/**
 * Change-feed metrics of a worker process: what the relay published and how far behind it
 * is, how long an event waits from the relay to the index, and what the consumers still
 * have to do. Label values are few and fixed (consumer names, results): never a tenant.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { EventBus } from './bus/bus.js';

/** Consumer backlogs are read from the bus at most this often (a JetStream call per lane). */
const BACKLOG_CACHE_MS = 10_000;

export class FeedMetrics {
  readonly published: Counter;
  readonly relayFailures: Counter;
  readonly indexed: Counter<'result'>;
  readonly indexLag: Histogram;
  /** When the relay last had every finished transaction published (or another instance's relay was the active one). */
  private caughtUpAt = Date.now();

  constructor(registry: Registry) {
    const registers = [registry];
    this.published = new Counter({ name: 'quire_feed_published_total', help: 'Events the relay published to the bus', registers });
    this.relayFailures = new Counter({ name: 'quire_feed_relay_failures_total', help: 'Relay polls that failed (the bus or the database did not answer); retried with backoff', registers });
    const since = () => (Date.now() - this.caughtUpAt) / 1000;
    new Gauge({
      name: 'quire_feed_lag_seconds',
      help: 'Seconds since the relay last had every finished transaction published (about the poll period when it keeps up)',
      registers,
      collect() {
        this.set(since());
      },
    });
    this.indexed = new Counter({
      name: 'quire_index_events_total',
      help: 'Feed events the indexing consumer handled, by result (indexed, removed, unchanged, skipped, ignored, failed)',
      labelNames: ['result'],
      registers,
    });
    this.indexLag = new Histogram({
      name: 'quire_index_lag_seconds',
      help: 'Seconds from the relay publishing an event to the indexing consumer finishing it',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers,
    });
  }

  relayCaughtUp(): void {
    this.caughtUpAt = Date.now();
  }

  /** Pending messages per durable consumer (`quire_feed_consumer_pending`), read from the bus. */
  watchConsumers(registry: Registry, bus: EventBus, durables: readonly string[]): void {
    let cached: { at: number; values: { durable: string; undelivered: number; ackPending: number }[] } | null = null;
    const read = async () => {
      if (cached && Date.now() - cached.at < BACKLOG_CACHE_MS) return cached.values;
      const values = await Promise.all(
        durables.map(async (durable) => {
          const lanes = await bus.backlog(durable).catch(() => []);
          return { durable, undelivered: lanes.reduce((n, l) => n + l.undelivered, 0), ackPending: lanes.reduce((n, l) => n + l.ackPending, 0) };
        }),
      );
      cached = { at: Date.now(), values };
      return values;
    };
    new Gauge({
      name: 'quire_feed_consumer_pending',
      help: 'Messages a feed consumer (indexer: indexing, embeddings and labels; notifier) has still to finish, by state (undelivered, ack_pending)',
      labelNames: ['consumer', 'state'],
      registers: [registry],
      async collect() {
        for (const v of await read()) {
          this.set({ consumer: v.durable, state: 'undelivered' }, v.undelivered);
          this.set({ consumer: v.durable, state: 'ack_pending' }, v.ackPending);
        }
      },
    });
  }
}
