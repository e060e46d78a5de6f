/**
 * JetStream event bus (scaled profile): one file-backed stream per subject prefix with a
 * de-duplication window (`Nats-Msg-Id`), durable pull consumers with explicit acks,
 * redelivery with backoff (`nak(delay)`), and a dead-letter subject
 * `<prefix>.dlq.<consumer>` in the same stream after `maxDeliver` attempts.
 */
import { connect, headers, nanos, type NatsConnection } from '@nats-io/transport-node';
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager, StorageType, type JetStreamClient, type JetStreamManager, type JsMsg } from '@nats-io/jetstream';
import { DEFAULT_BACKOFF_MS, DEFAULT_MAX_DELIVER, PoisonMessageError, type BusMessage, type ConsumeOptions, type DeadLetter, type EventBus, type Subscription } from './bus.js';

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

  private dlqSubject(consumer: string): string {
    return `${this.opts.prefix}.dlq.${consumer}`;
  }

  async consume(opts: ConsumeOptions, handler: (msg: BusMessage) => Promise<void>): Promise<Subscription> {
    const maxDeliver = opts.maxDeliver ?? DEFAULT_MAX_DELIVER;
    const backoff = opts.backoffMs ?? DEFAULT_BACKOFF_MS;
    const concurrency = opts.concurrency ?? 4;
    const filter = `${this.opts.prefix}.*.document.*`;
    try {
      await this.jsm.consumers.info(this.opts.stream, opts.durable);
    } catch {
      await this.jsm.consumers.add(this.opts.stream, {
        durable_name: opts.durable,
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.All,
        filter_subject: filter,
        ack_wait: nanos(60_000),
        max_ack_pending: 1_000,
      });
    }
    const consumer = await this.js.consumers.get(this.opts.stream, opts.durable);
    const messages = await consumer.consume({ max_messages: concurrency * 2 });
    const inflight = new Set<Promise<void>>();
    const handle = async (m: JsMsg) => {
      const deliveryCount = m.info.deliveryCount;
      try {
        await handler({ subject: m.subject, data: m.data, deliveryCount });
        m.ack();
      } catch (err) {
        const poison = err instanceof PoisonMessageError;
        if (poison || deliveryCount >= maxDeliver) {
          const h = headers();
          h.set('Quire-Reason', (err instanceof Error ? err.message : String(err)).slice(0, 500));
          h.set('Quire-Subject', m.subject);
          h.set('Quire-Deliveries', String(deliveryCount));
          try {
            await this.js.publish(this.dlqSubject(opts.durable), m.data, { headers: h, msgID: `dlq:${opts.durable}:${m.info.streamSequence}` });
            m.term(poison ? 'poison' : 'max deliveries');
          } catch {
            // Could not record the dead letter: leave it for redelivery rather than lose it.
            m.nak(backoff[backoff.length - 1]);
          }
        } else {
          m.nak(backoff[Math.min(deliveryCount - 1, backoff.length - 1)]);
        }
      }
    };
    const loop = (async () => {
      for await (const m of messages) {
        while (inflight.size >= concurrency) await Promise.race(inflight);
        const p = handle(m).finally(() => inflight.delete(p));
        inflight.add(p);
      }
      await Promise.all(inflight);
    })();
    return {
      stop: async () => {
        await messages.close();
        await loop;
      },
    };
  }

  async deadLetters(consumer: string, limit = 100): Promise<DeadLetter[]> {
    const subject = this.dlqSubject(consumer);
    const oc = await this.js.consumers.get(this.opts.stream, { filter_subjects: subject });
    const out: DeadLetter[] = [];
    const batch = await oc.fetch({ max_messages: limit, expires: 1_000 });
    for await (const m of batch) {
      out.push({
        subject: m.headers?.get('Quire-Subject') ?? m.subject,
        data: m.data,
        reason: m.headers?.get('Quire-Reason') ?? '',
        deliveries: Number(m.headers?.get('Quire-Deliveries') ?? 0),
        consumer,
      });
      if (out.length >= limit) break;
    }
    await oc.delete().catch(() => undefined);
    return out;
  }

  async close(): Promise<void> {
    await this.nc.drain().catch(() => this.nc.close());
  }
}
