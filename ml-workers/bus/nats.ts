/**
 * JetStream event bus (scaled profile): one file-backed stream per subject prefix with a
 * de-duplication window (`Nats-Msg-Id`), durable pull consumers with explicit acks,
 * redelivery with backoff (`nak(delay)`), and dead letters in the same stream
 * (`<prefix>.dlq.<streamSeq>.<consumer>`, one record per message) after `maxDeliver`
 * attempts. Pulls are bounded by the shared dispatcher (`dispatch.ts`): fair between
 * tenants, coalesced per document, in-progress acks for everything held.
 */
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
import { DEFAULT_ACK_WAIT_MS, DEFAULT_MAX_ACK_PENDING, type BusMessage, type ConsumeOptions, type DeadLetter, type EventBus, type Subscription } from './bus.js';
import { dispatchOptions, Dispatcher, type Delivery } from './dispatch.js';

/** JetStream API error codes this bus tells apart. */
const JS_CONSUMER_NOT_FOUND = 10014;
const JS_WRONG_LAST_SEQUENCE = 10071;
/** How long one pull waits for messages before the next is sent (also bounds `stop`). */
const PULL_EXPIRES_MS = 5_000;

export interface NatsBusOptions {
  url: string;
  /** Stream name (one per deployment; tests use one each). */
  stream: string;
  /** Subject prefix, e.g. `quire`. */
  prefix: string;
  duplicateWindowMs?: number;
}

export class NatsBus implements EventBus {
  private constructor(
    private readonly nc: NatsConnection,
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly opts: NatsBusOptions,
  ) {}

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

  async publish(subject: string, data: Uint8Array, msgId: string): Promise<void> {
    await this.js.publish(subject, data, { msgID: msgId, timeout: 5_000 });
  }

  /**
   * One subject per dead message, `<prefix>.dlq.<streamSeq>.<consumer>`: the record is
   * published only if that subject is still empty, so a message is recorded once however
   * late it comes back (its `Nats-Msg-Id` also de-duplicates within the window).
   */
  private dlqSubject(consumer: string, seq: number): string {
    return `${this.opts.prefix}.dlq.${seq}.${consumer}`;
  }

  async consume(opts: ConsumeOptions, handler: (msg: BusMessage) => Promise<void>): Promise<Subscription> {
    const ackWaitMs = opts.ackWaitMs ?? DEFAULT_ACK_WAIT_MS;
    const maxAckPending = opts.maxAckPending ?? DEFAULT_MAX_ACK_PENDING;
    const filter = `${this.opts.prefix}.*.document.*`;
    try {
      const info = await this.jsm.consumers.info(this.opts.stream, opts.durable);
      if (info.config.ack_wait !== nanos(ackWaitMs) || info.config.max_ack_pending !== maxAckPending) {
        await this.jsm.consumers.update(this.opts.stream, opts.durable, { ack_wait: nanos(ackWaitMs), max_ack_pending: maxAckPending });
      }
    } catch (err) {
      if (!(err instanceof JetStreamApiError) || err.code !== JS_CONSUMER_NOT_FOUND) throw err;
      await this.jsm.consumers.add(this.opts.stream, {
        durable_name: opts.durable,
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.All,
        filter_subject: filter,
        ack_wait: nanos(ackWaitMs),
        max_ack_pending: maxAckPending,
      });
    }
    const consumer = await this.js.consumers.get(this.opts.stream, opts.durable);
    // Messages in hand signal progress three times per ack deadline.
    const dispatcher = new Dispatcher(dispatchOptions(opts, Math.max(100, Math.floor(ackWaitMs / 3))), handler);
    let stopped = false;
    let batch: ConsumerMessages | null = null;
    // Bounded pull: ask the server only for as many messages as there is room for, so none
    // waits here unstarted; a batch ends when full or after `expires`.
    const loop = (async () => {
      while (!stopped) {
        await dispatcher.whenSpace();
        if (stopped) break;
        try {
          batch = await consumer.fetch({ max_messages: dispatcher.capacity(), expires: PULL_EXPIRES_MS });
          for await (const m of batch) dispatcher.add(this.delivery(opts.durable, m));
        } catch {
          // Server gone or consumer being recreated: pull again shortly.
          if (!stopped) await new Promise((r) => setTimeout(r, 500));
        } finally {
          batch = null;
        }
      }
    })();
    return {
      stop: async () => {
        stopped = true;
        await (batch as ConsumerMessages | null)?.close();
        await dispatcher.stop();
        await loop;
      },
    };
  }

  private delivery(consumer: string, m: JsMsg): Delivery {
    return {
      subject: m.subject,
      data: m.data,
      deliveryCount: m.info.deliveryCount,
      id: String(m.seq),
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
      for (let pending = 1, got = 1; pending > 0 && got > 0; ) {
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
