/** Sync-tier metrics: live sockets and documents, appended updates, commit batches. */
import type { Extension, Hocuspocus, onConfigurePayload } from '@hocuspocus/server';
import { Counter, Gauge, Histogram } from 'prom-client';
import type { Metrics } from '../../lib/metrics.js';

export class SyncMetrics implements Extension {
  extensionName = 'Metrics';
  private instance: Hocuspocus | null = null;
  readonly sockets: Gauge;
  readonly updates: Counter;
  readonly updateBytes: Counter;
  readonly commitSeconds: Histogram;
  readonly commitBatch: Histogram;
  readonly commitFailures: Counter;
  readonly refusedSockets: Counter<'reason'>;
  readonly ackSeconds: Histogram;
  /** Redis fan-out message counts, when fan-out is on (read at each scrape). */
  fanout: (() => { published: number; received: number }) | null = null;

  constructor(metrics: Metrics, socketCount: () => number) {
    const registers = [metrics.registry];
    const live = () => this.instance;
    this.sockets = new Gauge({
      name: 'quire_sync_sockets',
      help: 'Open sync WebSockets',
      registers,
      collect() {
        this.set(socketCount());
      },
    });
    new Gauge({
      name: 'quire_sync_documents',
      help: 'Documents loaded in memory',
      registers,
      collect() {
        this.set(live()?.getDocumentsCount() ?? 0);
      },
    });
    new Gauge({
      name: 'quire_sync_connections',
      help: 'Document connections (a socket may hold several)',
      registers,
      collect() {
        this.set(live()?.getConnectionsCount() ?? 0);
      },
    });
    this.updates = new Counter({ name: 'quire_sync_updates_total', help: 'Updates appended to the document log', registers });
    this.updateBytes = new Counter({ name: 'quire_sync_update_bytes_total', help: 'Bytes appended to the document log', registers });
    this.commitSeconds = new Histogram({
      name: 'quire_sync_commit_seconds',
      help: 'Group commit latency',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers,
    });
    this.commitBatch = new Histogram({ name: 'quire_sync_commit_batch_size', help: 'Updates per group commit', buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256], registers });
    this.commitFailures = new Counter({ name: 'quire_sync_commit_failures_total', help: 'Group commits that failed', registers });
    this.refusedSockets = new Counter({ name: 'quire_sync_refused_total', help: 'Sockets refused or closed by a limit', labelNames: ['reason'], registers });
    this.ackSeconds = new Histogram({
      name: 'quire_sync_ack_seconds',
      help: "An update's wait from its arrival at the group committer to its commit (when its ack is released)",
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    });
    const fanout = () => this.fanout?.() ?? { published: 0, received: 0 };
    new Counter({
      name: 'quire_sync_fanout_messages_total',
      help: 'Redis fan-out messages between instances, by direction (published, received)',
      labelNames: ['direction'],
      registers,
      collect() {
        const c = fanout();
        this.reset();
        this.inc({ direction: 'published' }, c.published);
        this.inc({ direction: 'received' }, c.received);
      },
    });
  }

  async onConfigure({ instance }: onConfigurePayload): Promise<void> {
    this.instance = instance;
  }

  onAppend(bytes: number): void {
    this.updates.inc();
    this.updateBytes.inc(bytes);
  }

  onBatch(size: number, seconds: number, ok: boolean): void {
    this.commitBatch.observe(size);
    this.commitSeconds.observe(seconds);
    if (!ok) this.commitFailures.inc();
  }
}
