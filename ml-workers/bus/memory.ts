/**
 * In-process event bus for the embedded profile: the same contract as JetStream
 * (durable consumers with their own cursor over a retained log, de-duplication window,
 * backoff, dead letters), held in memory. A restart starts empty; the relay's cursor in
 * Postgres is what makes the feed lossless, not the bus.
 */
import { type BusMessage, type ConsumeOptions, type DeadLetter, type EventBus, type Subscription } from './bus.js';
import { dispatchOptions, Dispatcher, type Delivery } from './dispatch.js';

interface Entry {
  subject: string;
  data: Uint8Array;
  /** Position in the log: the message's identity across redeliveries. */
  pos: number;
}

interface Durable {
  name: string;
  cursor: number;
  /** One dispatcher per `consume` call on this durable; they share the work. */
  subs: Dispatcher[];
  next: number;
  /** Messages handed back and due again, before anything new. */
  redeliver: { entry: Entry; deliveryCount: number }[];
  retries: Set<NodeJS.Timeout>;
  pumping: boolean;
  again: boolean;
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
    this.log.push({ subject, data: data.slice(), pos: this.base + this.log.length });
    this.trim();
    for (const d of this.durables.values()) this.pump(d);
  }

  async consume(opts: ConsumeOptions, handler: (msg: BusMessage) => Promise<void>): Promise<Subscription> {
    let d = this.durables.get(opts.durable);
    if (!d) {
      d = { name: opts.durable, cursor: this.base, subs: [], next: 0, redeliver: [], retries: new Set(), pumping: false, again: false };
      this.durables.set(opts.durable, d);
    }
    const durable = d;
    // No ack deadline in process: nothing to keep alive.
    const sub = new Dispatcher(dispatchOptions(opts, 0), handler, () => this.pump(durable));
    durable.subs.push(sub);
    this.pump(durable);
    return {
      stop: async () => {
        durable.subs = durable.subs.filter((s) => s !== sub);
        await sub.stop();
      },
    };
  }

  /** Hands due and new messages to the durable's dispatchers while they have room. */
  private pump(d: Durable): void {
    if (d.pumping) {
      d.again = true;
      return;
    }
    d.pumping = true;
    try {
      do {
        d.again = false;
        while (!this.closed) {
          const sub = this.withRoom(d);
          if (!sub) break;
          let item = d.redeliver.shift();
          if (!item && d.cursor < this.base + this.log.length) {
            item = { entry: this.log[d.cursor - this.base]!, deliveryCount: 1 };
            d.cursor++;
          }
          if (!item) break;
          sub.add(this.delivery(d, item.entry, item.deliveryCount));
        }
      } while (d.again && !this.closed);
    } finally {
      d.pumping = false;
    }
  }

  private withRoom(d: Durable): Dispatcher | null {
    for (let i = 0; i < d.subs.length; i++) {
      const sub = d.subs[(d.next + i) % d.subs.length]!;
      if (sub.capacity() > 0) {
        d.next = (d.next + i + 1) % d.subs.length;
        return sub;
      }
    }
    return null;
  }

  private delivery(d: Durable, entry: Entry, deliveryCount: number): Delivery {
    let done = false;
    return {
      subject: entry.subject,
      data: entry.data,
      deliveryCount,
      id: String(entry.pos),
      ack: () => {
        done = true;
      },
      working: () => undefined,
      nak: (delayMs) => {
        if (done || this.closed) return;
        done = true;
        const timer = setTimeout(() => {
          d.retries.delete(timer);
          d.redeliver.push({ entry, deliveryCount: deliveryCount + 1 });
          this.pump(d);
        }, delayMs);
        timer.unref();
        d.retries.add(timer);
      },
      deadLetter: async (letter) => {
        if (done) return;
        done = true;
        const list = this.dead.get(d.name) ?? [];
        list.push({ ...letter, consumer: d.name });
        this.dead.set(d.name, list.slice(-1000));
      },
    };
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
