/**
 * JetStream event bus (scaled profile): one file-backed stream per subject prefix with a
 * de-duplication window (`Nats-Msg-Id`), a durable pull consumer per tenant lane with explicit acks,
 * redelivery with backoff (`nak(delay)`), and dead letters in the same stream
 * (`<prefix>.dlq.<streamSeq>.<consumer>`, one record per message) after `maxDeliver`
 * attempts. Pulls are bounded by the shared dispatcher (`dispatch.ts`): fair between
 * tenants, coalesced per document, in-progress acks for everything held.
 */
import { createHash } from 'node:crypto';
import { connect, headers, nanos, type NatsConnection } from '@nats-io/transport-node';
import {
  AckPolicy,
  DeliverPolicy,
  jetstream,
  JetStreamApiError,
  jetstreamManager,
  StorageType,
  type ConsumerMessages,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
} from '@nats-io/jetstream';
import { DEFAULT_ACK_WAIT_MS, DEFAULT_MAX_ACK_PENDING, type BusMessage, type ConsumeOptions, type DeadLetter, type EventBus, type LaneBacklog, type Subscription } from './bus.js';
import { dispatchOptions, Dispatcher, tenantOfSubject, type Delivery } from './dispatch.js';

/** JetStream API error codes this bus tells apart. */
const JS_CONSUMER_NOT_FOUND = 10014;
const JS_WRONG_LAST_SEQUENCE = 10071;
/** How long one pull waits for messages before the next is sent. */
const PULL_EXPIRES_MS = 5_000;
/** How often a worker looks for tenants without a lane (a message seen opens one at once). */
const LANE_SWEEP_MS = 5_000;
/** Between a durable's name and a lane's id in the lane consumer's name. */
const LANE_SEPARATOR = '__';

/** A tenant's lane consumer: `<durable>__<tenant>` (a digest when the id is not name-safe). */
function laneName(durable: string, tenant: string): string {
  const id = /^[A-Za-z0-9-]{1,64}$/.test(tenant) ? tenant : `h${createHash('sha256').update(tenant).digest('hex').slice(0, 32)}`;
  return `${durable}${LANE_SEPARATOR}${id}`;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface NatsBusOptions {
  url: string;
  /** Stream name (one per deployment; tests use one each). */
  stream: string;
  /** Subject prefix, e.g. `quire`. */
  prefix: string;
  duplicateWindowMs?: number;
}

export class NatsBus implements EventBus {
  private up = true;

  private constructor(
    private readonly nc: NatsConnection,
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly opts: NatsBusOptions,
  ) {
    void (async () => {
      for await (const st of nc.status()) {
        if (st.type === 'disconnect' || st.type === 'close') this.up = false;
        else if (st.type === 'reconnect') this.up = true;
      }
    })().catch(() => undefined);
  }

  /** Whether the connection to NATS is up (false while it reconnects). */
  get connected(): boolean {
    return this.up && !this.nc.isClosed();
  }

  static async connect(opts: NatsBusOptions): Promise<NatsBus> {
    const nc = await connect({ servers: opts.url, name: 'quire', maxReconnectAttempts: -1, reconnectTimeWait: 500 });
    const jsm = await jetstreamManager(nc);
    const config = {
      name: opts.stream,
      subjects: [`${opts.prefix}.>`],
      storage: StorageType.File,
      duplicate_window: nanos(opts.duplicateWindowMs ?? 120_000),
    };
    try {
      await jsm.streams.info(opts.stream);
      await jsm.streams.update(opts.stream, { subjects: config.subjects, duplicate_window: config.duplicate_window });
    } catch {
      await jsm.streams.add(config);
    }
    return new NatsBus(nc, jetstream(nc), jsm, opts);
  }

  async publish(subject: string, data: Uint8Array, msgId: string, traceHeaders?: Readonly<Record<string, string>>): Promise<void> {
    if (!traceHeaders) {
      await this.js.publish(subject, data, { msgID: msgId, timeout: 5_000 });
      return;
    }
    // The trace context goes as NATS message headers (`traceparent`, `tracestate`).
    const h = headers();
    for (const [k, v] of Object.entries(traceHeaders)) h.set(k, v);
    await this.js.publish(subject, data, { msgID: msgId, timeout: 5_000, headers: h });
  }

  /**
   * One subject per dead message, `<prefix>.dlq.<streamSeq>.<consumer>`: the record is
   * published only if that subject is still empty, so a message is recorded once however
   * late it comes back (its `Nats-Msg-Id` also de-duplicates within the window).
   */
  private dlqSubject(consumer: string, seq: number): string {
    return `${this.opts.prefix}.dlq.${seq}.${consumer}`;
  }

  /**
   * Reads the durable through one JetStream consumer per tenant (`<durable>__<tenant>`,
   * filtered on `<prefix>.<tenant>.document.*`), so every tenant's next message is one pull
   * away whatever another tenant has queued; the dispatcher then shares handler slots
   * round-robin. Lanes open for every tenant the stream holds messages for: at once when
   * a message for a tenant without a lane is seen, and by a sweep every few seconds.
   */
  async consume(opts: ConsumeOptions, handler: (msg: BusMessage) => Promise<void>): Promise<Subscription> {
    if (opts.durable.includes(LANE_SEPARATOR)) throw new Error(`durable name must not contain "${LANE_SEPARATOR}"`);
    const lane = {
      durable: opts.durable,
      ackWait: nanos(opts.ackWaitMs ?? DEFAULT_ACK_WAIT_MS),
      maxAckPending: opts.maxAckPending ?? DEFAULT_MAX_ACK_PENDING,
      startSeq: await this.sharedConsumerFloor(opts.durable),
    };
    // Messages in hand signal progress three times per ack deadline.
    const dispatcher = new Dispatcher(dispatchOptions(opts, Math.max(100, Math.floor((opts.ackWaitMs ?? DEFAULT_ACK_WAIT_MS) / 3))), handler);
    const lanes = new Map<string, { batch: ConsumerMessages | null; done: Promise<void> }>();
    let stopped = false;
    let sweeping: Promise<void> | null = null;

    // Bounded pull per lane: ask the server only for as many of the tenant's messages as
    // there is room for, so none waits here unstarted; a batch ends when full or after
    // `expires`.
    const pull = async (tenant: string, state: { batch: ConsumerMessages | null }) => {
      while (!stopped) {
        await dispatcher.whenSpaceFor(tenant);
        if (stopped) break;
        try {
          const consumer = await this.js.consumers.get(this.opts.stream, laneName(opts.durable, tenant));
          state.batch = await consumer.fetch({ max_messages: dispatcher.capacityFor(tenant), expires: PULL_EXPIRES_MS });
          for await (const m of state.batch) dispatcher.add(this.delivery(opts.durable, m));
        } catch {
          // Server gone or lane being recreated: pull again shortly.
          if (!stopped) await sleep(500);
        } finally {
          state.batch = null;
        }
      }
    };
    const open = async (tenant: string) => {
      if (lanes.has(tenant) || stopped) return;
      await this.ensureLane(lane, tenant);
      if (lanes.has(tenant) || stopped) return;
      const state: { batch: ConsumerMessages | null; done: Promise<void> } = { batch: null, done: Promise.resolve() };
      state.done = pull(tenant, state);
      lanes.set(tenant, state);
    };
    const sweep = async () => {
      for (const tenant of await this.tenantsWithMessages()) await open(tenant);
    };
    const sweepSoon = () => {
      sweeping ??= sweep()
        .catch(() => undefined)
        .finally(() => (sweeping = null));
    };

    await sweep();
    // Every worker has lanes for what the stream held: the shared consumer has handed over.
    if (lane.startSeq !== undefined) await this.jsm.consumers.delete(this.opts.stream, opts.durable).catch(() => false);
    // A message for a tenant without a lane opens one at once; the sweep catches any
    // missed while disconnected.
    const hints = this.nc.subscribe(`${this.opts.prefix}.*.document.*`, {
      callback: (_err, msg) => {
        if (!lanes.has(tenantOfSubject(msg.subject))) sweepSoon();
      },
    });
    const timer = setInterval(sweepSoon, LANE_SWEEP_MS);
    timer.unref();
    return {
      stop: async () => {
        stopped = true;
        clearInterval(timer);
        hints.unsubscribe();
        await sweeping;
        await Promise.all([...lanes.values()].map((l) => l.batch?.close()));
        await dispatcher.stop();
        await Promise.all([...lanes.values()].map((l) => l.done));
      },
    };
  }

  /** Tenants the stream holds document messages for. */
  private async tenantsWithMessages(): Promise<string[]> {
    const info = await this.jsm.streams.info(this.opts.stream, { subjects_filter: `${this.opts.prefix}.*.document.*` });
    return [...new Set(Object.keys(info.state.subjects ?? {}).map(tenantOfSubject))];
  }

  /**
   * Creates (or brings up to date) a tenant's lane. A new lane starts at the first message
   * the stream holds for the tenant, or, while a deployment moves from one shared consumer
   * to lanes, after what the shared consumer had acknowledged.
   */
  private async ensureLane(lane: { durable: string; ackWait: number; maxAckPending: number; startSeq: number | undefined }, tenant: string): Promise<void> {
    const name = laneName(lane.durable, tenant);
    try {
      const info = await this.jsm.consumers.info(this.opts.stream, name);
      if (info.config.ack_wait !== lane.ackWait || info.config.max_ack_pending !== lane.maxAckPending) {
        await this.jsm.consumers.update(this.opts.stream, name, { ack_wait: lane.ackWait, max_ack_pending: lane.maxAckPending });
      }
      return;
    } catch (err) {
      if (!(err instanceof JetStreamApiError) || err.code !== JS_CONSUMER_NOT_FOUND) throw err;
    }
    try {
      await this.jsm.consumers.add(this.opts.stream, {
        durable_name: name,
        ack_policy: AckPolicy.Explicit,
        ...(lane.startSeq === undefined ? { deliver_policy: DeliverPolicy.All } : { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: lane.startSeq }),
        filter_subject: `${this.opts.prefix}.${tenant}.document.*`,
        ack_wait: lane.ackWait,
        max_ack_pending: lane.maxAckPending,
      });
    } catch (err) {
      // Another worker created it first (with another start): theirs stands.
      if (!(err instanceof JetStreamApiError)) throw err;
      await this.jsm.consumers.info(this.opts.stream, name);
    }
  }

  /**
   * Where lanes start when the durable is still one shared consumer over every tenant
   * (how earlier versions consumed): after its acknowledged floor. `undefined` when there
   * is none.
   */
  private async sharedConsumerFloor(durable: string): Promise<number | undefined> {
    try {
      const info = await this.jsm.consumers.info(this.opts.stream, durable);
      if (info.config.filter_subject !== `${this.opts.prefix}.*.document.*`) return undefined;
      return info.ack_floor.stream_seq + 1;
    } catch (err) {
      if (err instanceof JetStreamApiError && err.code === JS_CONSUMER_NOT_FOUND) return undefined;
      throw err;
    }
  }

  async backlog(durable: string): Promise<LaneBacklog[]> {
    const out: LaneBacklog[] = [];
    for await (const info of this.jsm.consumers.list(this.opts.stream)) {
      if (!info.name.startsWith(`${durable}${LANE_SEPARATOR}`)) continue;
      out.push({
        tenant: tenantOfSubject(info.config.filter_subject ?? ''),
        undelivered: info.num_pending,
        ackPending: info.num_ack_pending,
        redelivered: info.num_redelivered,
      });
    }
    return out;
  }

  private delivery(consumer: string, m: JsMsg): Delivery {
    return {
      subject: m.subject,
      data: m.data,
      deliveryCount: m.info.deliveryCount,
      id: String(m.seq),
      headers: traceHeadersOf(m),
      ack: () => m.ack(),
      nak: (delayMs) => m.nak(delayMs),
      working: () => m.working(),
      deadLetter: async (letter) => {
        const h = headers();
        h.set('Quire-Reason', letter.reason.slice(0, 500));
        h.set('Quire-Subject', letter.subject);
        h.set('Quire-Deliveries', String(letter.deliveries));
        try {
          await this.js.publish(this.dlqSubject(consumer, m.seq), letter.data, {
            headers: h,
            msgID: `dlq:${consumer}:${m.seq}`,
            expect: { lastSubjectSequence: 0 },
            timeout: 5_000,
          });
        } catch (err) {
          if (!(err instanceof JetStreamApiError) || err.code !== JS_WRONG_LAST_SEQUENCE) throw err;
          // Recorded by an earlier delivery of this message.
        }
        // The record is written: end the message. A TERM with a reason is ignored by
        // nats-server before 2.10 (the message would stay ack-pending and come back), a
        // bare TERM ends it on every version.
        m.term();
      },
    };
  }

  async deadLetters(consumer: string, limit = 100): Promise<DeadLetter[]> {
    const oc = await this.js.consumers.get(this.opts.stream, { filter_subjects: `${this.opts.prefix}.dlq.>` });
    const out: DeadLetter[] = [];
    try {
      // Read to the end of the dead-letter subjects: a batch stops at the last message.
      for (let pending = 1, got = 1; pending > 0 && got > 0;) {
        got = 0;
        const batch = await oc.fetch({ max_messages: 1_000, expires: 1_000 });
        for await (const m of batch) {
          got++;
          pending = m.info.pending;
          const tokens = m.subject.split('.');
          if (tokens[tokens.length - 1] === consumer) {
            out.push({
              subject: m.headers?.get('Quire-Subject') ?? m.subject,
              data: m.data,
              reason: m.headers?.get('Quire-Reason') ?? '',
              deliveries: Number(m.headers?.get('Quire-Deliveries') ?? 0),
              consumer,
            });
            if (out.length > limit) out.shift();
          }
          if (pending === 0) break;
        }
      }
    } finally {
      await oc.delete().catch(() => false);
    }
    return out;
  }

  async close(): Promise<void> {
    await this.nc.drain().catch(() => this.nc.close());
  }
}

/** The W3C trace context headers of a message, when it was published with them. */
function traceHeadersOf(m: JsMsg): Record<string, string> | undefined {
  const traceparent = m.headers?.get('traceparent');
  if (!traceparent) return undefined;
  const tracestate = m.headers?.get('tracestate');
  return tracestate ? { traceparent, tracestate } : { traceparent };
}
