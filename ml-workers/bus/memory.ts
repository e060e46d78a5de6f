/**
 * In-process event bus for the embedded profile: the same contract as JetStream
 * (durable consumers with their own cursor over a retained log and a lane per tenant,
 * de-duplication window, backoff, dead letters), held in memory. A restart starts empty;
 * the relay's cursor in Postgres is what makes the feed lossless, not the bus.
 */
import { type BusMessage, type ConsumeOptions, type DeadLetter, type EventBus, type LaneBacklog, type Subscription } from './bus.js';
import { dispatchOptions, Dispatcher, tenantOfSubject, type Delivery } from './dispatch.js';

interface Entry {
  subject: string;
  data: Uint8Array;
  /** Position in the log: the message's identity across redeliveries. */
  pos: number;
  headers?: Readonly<Record<string, string>>;
}

/** One tenant's messages for one durable, in log order. */
interface Lane {
  tenant: string;
  queue: Entry[];
  /** Messages handed back and due again, before anything new. */
  redeliver: { entry: Entry; deliveryCount: number }[];
  /** Delivered and not yet ended (running, parked, or waiting out a backoff). */
  pending: number;
  /** Of those, deliveries after the first. */
  redelivered: number;
}

interface Durable {
  name: string;
  /** Log position up to which messages have been sorted into lanes. */
  cursor: number;
  /** One dispatcher per `consume` call on this durable; they share the work. */
  subs: Dispatcher[];
  next: number;
  lanes: Map<string, Lane>;
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

  constructor(private readonly opts: { duplicateWindowMs?: number; maxRetained?: number } = {}) {}

  async publish(subject: string, data: Uint8Array, msgId: string, headers?: Readonly<Record<string, string>>): Promise<void> {
    if (this.closed) throw new Error('bus closed');
    const now = Date.now();
    const window = this.opts.duplicateWindowMs ?? 120_000;
    const prev = this.seen.get(msgId);
    if (prev !== undefined && now - prev < window) return;
    this.seen.set(msgId, now);
    if (this.seen.size > 100_000) for (const [k, t] of this.seen) if (now - t >= window) this.seen.delete(k);
    const entry: Entry = { subject, data: data.slice(), pos: this.base + this.log.length };
    if (headers) entry.headers = headers;
    this.log.push(entry);
    for (const d of this.durables.values()) this.pump(d);
    this.trim();
  }

  async consume(opts: ConsumeOptions, handler: (msg: BusMessage) => Promise<void>): Promise<Subscription> {
    let d = this.durables.get(opts.durable);
    if (!d) {
      d = { name: opts.durable, cursor: this.base, subs: [], next: 0, lanes: new Map(), retries: new Set(), pumping: false, again: false };
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

  /**
   * Hands due and new messages to the durable's dispatchers while they have room: one
   * message per tenant lane in turn, so a lane's length does not delay the others.
   */
  private pump(d: Durable): void {
    if (d.pumping) {
      d.again = true;
      return;
    }
    d.pumping = true;
    try {
      do {
        d.again = false;
        this.sort(d);
        for (let moved = true; moved && !this.closed;) {
          moved = false;
          for (const lane of d.lanes.values()) {
            if (this.closed) break;
            if (!lane.redeliver.length && !lane.queue.length) continue;
            const sub = this.withRoom(d, lane.tenant);
            if (!sub) continue;
            const item = lane.redeliver.shift() ?? { entry: lane.queue.shift()!, deliveryCount: 1 };
            lane.pending++;
            if (item.deliveryCount > 1) lane.redelivered++;
            sub.add(this.delivery(d, lane, item.entry, item.deliveryCount));
            moved = true;
          }
        }
      } while (d.again && !this.closed);
    } finally {
      d.pumping = false;
    }
  }

  /** Moves log entries past the durable's cursor into their tenant lanes. */
  private sort(d: Durable): void {
    const end = this.base + this.log.length;
    for (; d.cursor < end; d.cursor++) {
      const entry = this.log[d.cursor - this.base]!;
      const tenant = tenantOfSubject(entry.subject);
      let lane = d.lanes.get(tenant);
      if (!lane) d.lanes.set(tenant, (lane = { tenant, queue: [], redeliver: [], pending: 0, redelivered: 0 }));
      lane.queue.push(entry);
    }
    // Past the retention cap, the longest lane loses its oldest messages.
    const cap = this.opts.maxRetained ?? 100_000;
    let total = 0;
    for (const lane of d.lanes.values()) total += lane.queue.length;
    while (total > cap) {
      let longest: Lane | null = null;
      for (const lane of d.lanes.values()) if (!longest || lane.queue.length > longest.queue.length) longest = lane;
      const drop = Math.min(total - cap, longest!.queue.length);
      longest!.queue.splice(0, drop);
      total -= drop;
    }
  }

  private withRoom(d: Durable, tenant: string): Dispatcher | null {
    for (let i = 0; i < d.subs.length; i++) {
      const sub = d.subs[(d.next + i) % d.subs.length]!;
      if (sub.capacityFor(tenant) > 0) {
        d.next = (d.next + i + 1) % d.subs.length;
        return sub;
      }
    }
    return null;
  }

  private delivery(d: Durable, lane: Lane, entry: Entry, deliveryCount: number): Delivery {
    let done = false;
    const end = () => {
      done = true;
      lane.pending--;
      if (deliveryCount > 1) lane.redelivered--;
    };
    return {
      subject: entry.subject,
      data: entry.data,
      deliveryCount,
      id: String(entry.pos),
      headers: entry.headers,
      ack: () => {
        if (!done) end();
      },
      working: () => undefined,
      nak: (delayMs) => {
        if (done || this.closed) return;
        done = true;
        const timer = setTimeout(() => {
          d.retries.delete(timer);
          lane.pending--;
          if (deliveryCount > 1) lane.redelivered--;
          lane.redeliver.push({ entry, deliveryCount: deliveryCount + 1 });
          this.pump(d);
        }, delayMs);
        timer.unref();
        d.retries.add(timer);
      },
      deadLetter: async (letter) => {
        if (done) return;
        end();
        const list = this.dead.get(d.name) ?? [];
        list.push({ ...letter, consumer: d.name });
        this.dead.set(d.name, list.slice(-1000));
      },
    };
  }

  async backlog(durable: string): Promise<LaneBacklog[]> {
    const d = this.durables.get(durable);
    if (!d) return [];
    this.sort(d);
    return [...d.lanes.values()].map((l) => ({
      tenant: l.tenant,
      undelivered: l.queue.length + l.redeliver.length,
      ackPending: l.pending,
      redelivered: l.redelivered,
    }));
  }

  /**
   * Drops log entries every durable has sorted into its lanes (or the oldest past the
   * retention cap); a durable that consumes later starts at what is left.
   */
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
