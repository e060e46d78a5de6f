/**
 * The consumer-side scheduler both buses share: it holds the messages a consumer has
 * taken from its bus and decides which run, when, and how each one ends.
 *
 * - **Bounded in hand, per tenant.** The bus keeps one lane per tenant (a JetStream
 *   consumer each, or a queue in process) and takes from a lane only `capacityFor(tenant)`
 *   messages: at most `tenantPrefetch` of that tenant's messages are running or ready to
 *   run, and at most `prefetch` in all — except that a tenant with nothing in hand may
 *   always take one, so a tenant's backlog, however long, never stands in front of another
 *   tenant's next message. Nothing piles up unstarted while its ack deadline runs, and
 *   everything held (running or parked) is kept alive with in-progress acks every
 *   `heartbeatMs`.
 * - **Coalesced per key.** Messages with one `coalesceKey` (the indexer's: the document)
 *   are interchangeable, because the handler reads current state. One runs at a time per
 *   key; a message that arrives while another for its key waits unstarted replaces it, and
 *   the replaced one is acked: the one kept starts later than both arrived, so its run
 *   covers both, and until it ends (acked or dead-lettered) it stays unacked at the bus.
 * - **Fair between tenants.** Ready keys queue per tenant and handler slots go round-robin
 *   over tenants, each capped at `maxPerTenant`, so one tenant's backlog leaves room for
 *   the others.
 * - **Failures back off per key.** A failed key is not run again before its backoff; the
 *   failed message is handed back to the bus with that delay (`nak`), or acked when a
 *   newer message for the key is already waiting. After `maxDeliver` attempts, or at once
 *   for a `PoisonMessageError`, the message is dead-lettered: recorded first, then ended.
 */
import { contextFromHeaders, inSpan, SpanKind, tracingOn } from '../../lib/tracing.js';
import { DEFAULT_BACKOFF_MS, DEFAULT_CONCURRENCY, DEFAULT_MAX_DELIVER, PoisonMessageError, type BusMessage, type ConsumeOptions, type DeadLetter } from './bus.js';

/** One delivery of a message, as the bus hands it to the dispatcher. */
export interface Delivery {
  readonly subject: string;
  readonly data: Uint8Array;
  /** The bus's own count for this message (1 on first delivery). */
  readonly deliveryCount: number;
  /** The message's identity on the bus (stream sequence): equal across its redeliveries. */
  readonly id: string;
  /** The trace context it was published with, when tracing was on. */
  readonly headers?: Readonly<Record<string, string>>;
  ack(): void;
  /** Hands the message back; the bus redelivers it after `delayMs`. */
  nak(delayMs: number): void;
  /** Extends the ack deadline (in-progress ack). */
  working(): void;
  /** Records the dead letter, then ends the message for good; rejects when it could not be recorded. */
  deadLetter(letter: Omit<DeadLetter, 'consumer'>): Promise<void>;
}

export interface DispatchOptions {
  /** The durable consumer's name (names its spans). */
  name: string;
  concurrency: number;
  maxPerTenant: number;
  prefetch: number;
  tenantPrefetch: number;
  maxDeliver: number;
  backoffMs: number[];
  /** 0 turns heartbeats off (the in-process bus has no ack deadline). */
  heartbeatMs: number;
  coalesceKey?: (msg: BusMessage) => string | null;
}

interface KeyState {
  key: string;
  tenant: string;
  running: Delivery | null;
  waiting: Delivery | null;
  /** Highest bus delivery count among the messages merged into `waiting`. */
  waitingCount: number;
  /** Consecutive failed attempts for this key in this process. */
  failures: number;
  coolUntil: number;
  timer: NodeJS.Timeout | null;
  queued: boolean;
}

/**
 * Failure counts are kept for keys whose message went back to the bus; beyond this many
 * idle keys the oldest are forgotten (they then start their count again from the bus's own
 * delivery count), so a worker that sees many failing documents keeps bounded memory.
 */
const MAX_IDLE_KEYS = 10_000;

/**
 * The lane a message travels in: the subject token after the prefix,
 * `<prefix>.<tenantId>.document.<type>` → tenant id.
 */
export function tenantOfSubject(subject: string): string {
  return subject.split('.')[1] ?? '';
}

/** `ConsumeOptions` with their defaults applied. */
export function dispatchOptions(opts: ConsumeOptions, heartbeatMs: number): DispatchOptions {
  const concurrency = Math.max(1, opts.concurrency ?? DEFAULT_CONCURRENCY);
  const maxPerTenant = Math.max(1, opts.maxPerTenant ?? concurrency - 1);
  const prefetch = Math.max(concurrency, opts.prefetch ?? concurrency * 4);
  return {
    name: opts.durable,
    concurrency,
    maxPerTenant,
    prefetch,
    tenantPrefetch: Math.min(prefetch, Math.max(maxPerTenant, opts.tenantPrefetch ?? maxPerTenant * 2)),
    maxDeliver: opts.maxDeliver ?? DEFAULT_MAX_DELIVER,
    backoffMs: opts.backoffMs?.length ? opts.backoffMs : DEFAULT_BACKOFF_MS,
    heartbeatMs,
    coalesceKey: opts.coalesceKey,
  };
}

export class Dispatcher {
  private readonly keys = new Map<string, KeyState>();
  private readonly ready = new Map<string, KeyState[]>();
  /** Handler slots in use per tenant. */
  private readonly perTenant = new Map<string, number>();
  /** Messages running or ready to run, per tenant (what `capacityFor` bounds). */
  private readonly held = new Map<string, number>();
  private tenantOrder: string[] = [];
  private turn = 0;
  private running = 0;
  private queued = 0;
  private stopped = false;
  private readonly idle = new Set<() => void>();
  private readonly space = new Map<string, Set<() => void>>();
  private readonly heartbeat: NodeJS.Timeout | null;

  constructor(
    private readonly opts: DispatchOptions,
    private readonly handler: (msg: BusMessage) => Promise<void>,
    /** Called whenever room frees up, so the bus can hand over more. */
    private readonly onSpace: () => void = () => undefined,
  ) {
    this.heartbeat =
      opts.heartbeatMs > 0
        ? setInterval(() => {
            for (const st of this.keys.values()) {
              st.running?.working();
              st.waiting?.working();
            }
          }, opts.heartbeatMs)
        : null;
    this.heartbeat?.unref();
  }

  /** How many more of `tenant`'s messages the bus may hand over now. */
  capacityFor(tenant: string): number {
    if (this.stopped) return 0;
    const held = this.held.get(tenant) ?? 0;
    const room = Math.min(this.opts.tenantPrefetch - held, this.opts.prefetch - this.running - this.queued);
    // A tenant with nothing in hand may always take one: no backlog stands in its way.
    return held === 0 ? Math.max(1, room) : Math.max(0, room);
  }

  /** Resolves once `capacityFor(tenant)` is above zero (or the dispatcher stopped). */
  whenSpaceFor(tenant: string): Promise<void> {
    if (this.capacityFor(tenant) > 0 || this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      let waiting = this.space.get(tenant);
      if (!waiting) this.space.set(tenant, (waiting = new Set()));
      waiting.add(resolve);
    });
  }

  add(d: Delivery): void {
    if (this.stopped) {
      d.nak(0);
      return;
    }
    const msg = { subject: d.subject, data: d.data, deliveryCount: d.deliveryCount };
    const key = this.keyOf(msg, d);
    let st = this.keys.get(key);
    if (!st) {
      st = { key, tenant: tenantOfSubject(d.subject), running: null, waiting: null, waitingCount: 0, failures: 0, coolUntil: 0, timer: null, queued: false };
      this.keys.set(key, st);
    }
    const prev = st.waiting;
    st.waiting = d;
    st.waitingCount = Math.max(prev ? st.waitingCount : 0, d.deliveryCount);
    // The replaced message is covered by `d`, which starts after both arrived. A
    // redelivery of the very same message replaces its stale copy without acking it.
    if (prev && prev.id !== d.id) prev.ack();
    if (!prev) this.makeReady(st);
    this.schedule();
  }

  private keyOf(msg: BusMessage, d: Delivery): string {
    let k: string | null;
    try {
      k = this.opts.coalesceKey?.(msg) ?? null;
    } catch {
      // No key can be read: the message stands alone and its handler judges it.
      return `#${d.id}`;
    }
    return k === null ? `#${d.id}` : `k:${k}`;
  }

  /** Queues the key for a handler slot if it has a message waiting and may run now. */
  private makeReady(st: KeyState): void {
    if (!st.waiting || st.running || st.queued || st.timer) return;
    const wait = st.coolUntil - Date.now();
    if (wait > 0) {
      st.timer = setTimeout(() => {
        st.timer = null;
        this.makeReady(st);
        this.schedule();
      }, wait);
      st.timer.unref();
      return;
    }
    let q = this.ready.get(st.tenant);
    if (!q) {
      q = [];
      this.ready.set(st.tenant, q);
      this.tenantOrder.push(st.tenant);
    }
    q.push(st);
    st.queued = true;
    this.queued++;
    this.held.set(st.tenant, (this.held.get(st.tenant) ?? 0) + 1);
  }

  /** Round-robin over tenants with ready work and a free slot under their cap. */
  private nextReady(): KeyState | null {
    const n = this.tenantOrder.length;
    for (let i = 0; i < n; i++) {
      const idx = (this.turn + i) % n;
      const tenant = this.tenantOrder[idx]!;
      const q = this.ready.get(tenant)!;
      if ((this.perTenant.get(tenant) ?? 0) >= this.opts.maxPerTenant) continue;
      const st = q.shift()!;
      if (q.length === 0) {
        this.ready.delete(tenant);
        this.tenantOrder.splice(idx, 1);
        this.turn = this.tenantOrder.length ? idx % this.tenantOrder.length : 0;
      } else {
        this.turn = (idx + 1) % n;
      }
      st.queued = false;
      this.queued--;
      return st;
    }
    return null;
  }

  private schedule(): void {
    while (!this.stopped && this.running < this.opts.concurrency) {
      const st = this.nextReady();
      if (!st) break;
      const d = st.waiting!;
      const attempt = Math.max(st.failures + 1, st.waitingCount);
      st.waiting = null;
      st.running = d;
      this.running++;
      this.perTenant.set(st.tenant, (this.perTenant.get(st.tenant) ?? 0) + 1);
      void this.run(st, d, attempt);
    }
    let freed = false;
    for (const [tenant, waiting] of this.space) {
      if (this.capacityFor(tenant) === 0) continue;
      this.space.delete(tenant);
      for (const resolve of waiting) resolve();
      freed = true;
    }
    if (freed || this.running + this.queued < this.opts.prefetch) this.onSpace();
    if (this.running === 0) {
      for (const resolve of this.idle) resolve();
      this.idle.clear();
    }
  }

  private async run(st: KeyState, d: Delivery, attempt: number): Promise<void> {
    try {
      const msg = { subject: d.subject, data: d.data, deliveryCount: attempt, headers: d.headers };
      if (!tracingOn()) await this.handler(msg);
      else {
        // A consumer span, continuing the trace the message was published in.
        await inSpan(
          `${this.opts.name} process`,
          {
            kind: SpanKind.CONSUMER,
            parent: contextFromHeaders(d.headers),
            attributes: () => ({
              'messaging.operation.type': 'process',
              'messaging.destination.name': d.subject,
              'messaging.consumer.group.name': this.opts.name,
              'messaging.message.id': d.id,
              'quire.delivery_count': attempt,
            }),
          },
          () => this.handler(msg),
        );
      }
      st.failures = 0;
      st.coolUntil = 0;
      d.ack();
    } catch (err) {
      await this.failed(st, d, attempt, err);
    } finally {
      st.running = null;
      this.running--;
      decrement(this.perTenant, st.tenant);
      decrement(this.held, st.tenant);
      this.makeReady(st);
      this.forgetIfIdle(st);
      this.schedule();
    }
  }

  private async failed(st: KeyState, d: Delivery, attempt: number, err: unknown): Promise<void> {
    const { backoffMs, maxDeliver } = this.opts;
    const delay = backoffMs[Math.min(attempt - 1, backoffMs.length - 1)] ?? 1_000;
    if (err instanceof PoisonMessageError || attempt >= maxDeliver) {
      try {
        await d.deadLetter({ subject: d.subject, data: d.data, reason: err instanceof Error ? err.message : String(err), deliveries: attempt });
        st.failures = 0;
        st.coolUntil = 0;
      } catch {
        // Not recorded: the message must not end. It comes back after the longest backoff
        // and is dead-lettered again then.
        st.failures = attempt;
        st.coolUntil = Date.now() + (backoffMs[backoffMs.length - 1] ?? 1_000);
        d.nak(backoffMs[backoffMs.length - 1] ?? 1_000);
      }
      return;
    }
    st.failures = attempt;
    st.coolUntil = Date.now() + delay;
    // A newer message for the key is waiting: its run covers this one.
    if (st.waiting && st.waiting.id !== d.id) d.ack();
    else if (!st.waiting) d.nak(delay);
  }

  private forgetIfIdle(st: KeyState): void {
    if (st.running || st.waiting || st.timer) return;
    if (st.failures === 0) {
      this.keys.delete(st.key);
      return;
    }
    if (this.keys.size > MAX_IDLE_KEYS) {
      for (const other of this.keys.values()) {
        if (this.keys.size <= MAX_IDLE_KEYS / 2) break;
        if (!other.running && !other.waiting && !other.timer) this.keys.delete(other.key);
      }
    }
  }

  /**
   * Stops taking work: waits for running handlers, then hands every message still waiting
   * back to the bus at once (another consumer of the durable takes it).
   */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const waiting of this.space.values()) for (const resolve of waiting) resolve();
    this.space.clear();
    if (this.running > 0) await new Promise<void>((resolve) => this.idle.add(resolve));
    if (this.heartbeat) clearInterval(this.heartbeat);
    for (const st of this.keys.values()) {
      if (st.timer) clearTimeout(st.timer);
      st.waiting?.nak(0);
      st.waiting = null;
    }
    this.keys.clear();
    this.ready.clear();
    this.held.clear();
    this.tenantOrder = [];
    this.queued = 0;
  }
}

function decrement(counts: Map<string, number>, key: string): void {
  const left = (counts.get(key) ?? 1) - 1;
  if (left > 0) counts.set(key, left);
  else counts.delete(key);
}
