/**
 * In-process event bus for the embedded profile: the same contract as JetStream
 * (durable consumers with their own cursor over a retained log, de-duplication window,
 * backoff, dead letters), held in memory. A restart starts empty; the relay's cursor in
 * Postgres is what makes the feed lossless, not the bus.
 */
import { DEFAULT_BACKOFF_MS, DEFAULT_MAX_DELIVER, PoisonMessageError, type BusMessage, type ConsumeOptions, type DeadLetter, type EventBus, type Subscription } from './bus.js';

interface Entry {
  subject: string;
  data: Uint8Array;
}

interface Durable {
  cursor: number;
  inflight: number;
  handlers: ((m: BusMessage) => Promise<void>)[];
  opts: Required<Omit<ConsumeOptions, 'durable'>> & { durable: string };
  next: number;
  retries: Set<NodeJS.Timeout>;
}

export class MemoryBus implements EventBus {
  private readonly log: Entry[] = [];
  private base = 0;
  private readonly seen = new Map<string, number>();
  private readonly durables = new Map<string, Durable>();
  private readonly dead = new Map<string, DeadLetter[]>();
  private closed = false;

  constructor(
    private readonly opts: { duplicateWindowMs?: number; maxRetained?: number } = {},
  ) {}

  async publish(subject: string, data: Uint8Array, msgId: string): Promise<void> {
    if (this.closed) throw new Error('bus closed');
    const now = Date.now();
    const window = this.opts.duplicateWindowMs ?? 120_000;
    const prev = this.seen.get(msgId);
    if (prev !== undefined && now - prev < window) return;
    this.seen.set(msgId, now);
    if (this.seen.size > 100_000) for (const [k, t] of this.seen) if (now - t >= window) this.seen.delete(k);
    this.log.push({ subject, data: data.slice() });
    this.trim();
    for (const d of this.durables.values()) this.pump(d);
  }

  async consume(opts: ConsumeOptions, handler: (msg: BusMessage) => Promise<void>): Promise<Subscription> {
    let d = this.durables.get(opts.durable);
    if (!d) {
      d = {
        cursor: this.base,
        inflight: 0,
        handlers: [],
        next: 0,
        retries: new Set(),
        opts: {
          durable: opts.durable,
          maxDeliver: opts.maxDeliver ?? DEFAULT_MAX_DELIVER,
          backoffMs: opts.backoffMs ?? DEFAULT_BACKOFF_MS,
          concurrency: opts.concurrency ?? 4,
        },
      };
      this.durables.set(opts.durable, d);
    }
    d.handlers.push(handler);
    const durable = d;
    this.pump(durable);
    return {
      stop: async () => {
        durable.handlers = durable.handlers.filter((h) => h !== handler);
      },
    };
  }

  private pump(d: Durable): void {
    while (!this.closed && d.handlers.length > 0 && d.inflight < d.opts.concurrency && d.cursor < this.base + this.log.length) {
      const entry = this.log[d.cursor - this.base]!;
      d.cursor++;
      this.deliver(d, entry, 1);
    }
  }

  private deliver(d: Durable, entry: Entry, deliveryCount: number): void {
    const handler = d.handlers[d.next++ % Math.max(1, d.handlers.length)];
    if (!handler) return;
    d.inflight++;
    handler({ subject: entry.subject, data: entry.data, deliveryCount }).then(
      () => {
        d.inflight--;
        this.pump(d);
      },
      (err: unknown) => {
        d.inflight--;
        const poison = err instanceof PoisonMessageError;
        if (poison || deliveryCount >= d.opts.maxDeliver) {
          const list = this.dead.get(d.opts.durable) ?? [];
          list.push({ subject: entry.subject, data: entry.data, reason: err instanceof Error ? err.message : String(err), deliveries: deliveryCount, consumer: d.opts.durable });
          this.dead.set(d.opts.durable, list.slice(-1000));
        } else if (!this.closed) {
          const delay = d.opts.backoffMs[Math.min(deliveryCount - 1, d.opts.backoffMs.length - 1)] ?? 1000;
          const timer = setTimeout(() => {
            d.retries.delete(timer);
            this.deliver(d, entry, deliveryCount + 1);
          }, delay);
          timer.unref();
          d.retries.add(timer);
        }
        this.pump(d);
      },
    );
  }

  /** Drops log entries every durable has passed (or the oldest past the retention cap). */
  private trim(): void {
    const min = Math.min(...[...this.durables.values()].map((d) => d.cursor), this.base + this.log.length);
    const cap = this.opts.maxRetained ?? 100_000;
    const drop = Math.max(this.durables.size ? min - this.base : 0, this.log.length - cap);
    if (drop > 0) {
      this.log.splice(0, drop);
      this.base += drop;
      for (const d of this.durables.values()) d.cursor = Math.max(d.cursor, this.base);
    }
  }

  async deadLetters(consumer: string, limit = 100): Promise<DeadLetter[]> {
    return (this.dead.get(consumer) ?? []).slice(-limit);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const d of this.durables.values()) for (const t of d.retries) clearTimeout(t);
  }
}
