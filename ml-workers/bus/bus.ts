/**
 * The event bus between the relay and the workers: at-least-once delivery to durable
 * consumers, de-duplication by message id, redelivery with backoff, and a dead-letter
 * subject after `maxDeliver` attempts (or at once for an undecodable message). A durable
 * consumer reads each tenant's messages (`<prefix>.<tenantId>.document.<type>`) through a
 * lane of its own, so one tenant's backlog never queues in front of another's.
 * Implementations: NATS JetStream (scaled) and in-process memory (embedded); both pass
 * the same conformance suite.
 */
export interface BusMessage {
  subject: string;
  data: Uint8Array;
  /**
   * The attempt this is: 1 on first delivery. Counts failed runs of the message (or of its
   * coalescing key) and the bus's own redeliveries, whichever is higher.
   */
  deliveryCount: number;
  /** The W3C trace context it was published with (`traceparent`, `tracestate`), when tracing was on. */
  headers?: Readonly<Record<string, string>>;
}

/** What a handler's failure means for the message. */
export class PoisonMessageError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PoisonMessageError';
  }
}

export interface ConsumeOptions {
  /** Durable consumer name; consumers with one name share the work. */
  durable: string;
  /** Attempts before a message is dead-lettered. @default 5 */
  maxDeliver?: number;
  /** Delay before each redelivery, in ms (the last repeats). @default [200, 1000, 5000] */
  backoffMs?: number[];
  /** Messages handled concurrently. @default 4 */
  concurrency?: number;
  /**
   * Handler slots one tenant may hold at once, so another tenant's message always finds a
   * slot while one tenant has a backlog or keeps failing. @default max(1, concurrency - 1)
   */
  maxPerTenant?: number;
  /**
   * Messages taken from the bus that may be running or ready to run at once. Kept small
   * because every one of them is ack-pending on the server; parked messages (a key in
   * backoff, or behind a running message of its key) are outside it. A tenant with nothing
   * in hand may take one past it. @default concurrency * 4
   */
  prefetch?: number;
  /** The same bound for one tenant's messages. @default maxPerTenant * 2 */
  tenantPrefetch?: number;
  /**
   * Messages with the same key are interchangeable: the handler reads current state (the
   * indexer: key = document). One runs at a time per key; later ones waiting for it are
   * folded into one run. `null` (or a throw) leaves the message on its own.
   */
  coalesceKey?: (msg: BusMessage) => string | null;
  /**
   * JetStream: how long a delivered message may go without an ack or in-progress signal
   * before the server redelivers it. Held messages signal progress every third of it, so it
   * only bounds how soon a crashed worker's messages go to another. @default 30_000
   */
  ackWaitMs?: number;
  /**
   * JetStream: one tenant's messages delivered and not yet acked across all workers of the
   * durable (including those waiting out a backoff); the server stops delivering that
   * tenant's lane at this bound. Applied when a lane is created or updated. @default 1_000
   */
  maxAckPending?: number;
}

/** One tenant's lane of a durable consumer, as the bus sees it. */
export interface LaneBacklog {
  tenant: string;
  /** Stored and not yet delivered. */
  undelivered: number;
  /** Delivered and not yet acked (running, waiting or backing off). */
  ackPending: number;
  /** Messages delivered more than once so far. */
  redelivered: number;
}

export interface Subscription {
  stop(): Promise<void>;
}

export interface DeadLetter {
  subject: string;
  data: Uint8Array;
  reason: string;
  deliveries: number;
  consumer: string;
}

export interface EventBus {
  /**
   * Publishes once per `msgId` within the de-duplication window; resolves when stored.
   * `headers` (trace context only) travel with the message to its consumers.
   */
  publish(subject: string, data: Uint8Array, msgId: string, headers?: Readonly<Record<string, string>>): Promise<void>;
  /**
   * Delivers messages to `handler`. Resolve ⇒ acked. Throw ⇒ redelivered after backoff;
   * throw `PoisonMessageError` ⇒ dead-lettered at once.
   */
  consume(opts: ConsumeOptions, handler: (msg: BusMessage) => Promise<void>): Promise<Subscription>;
  /** Each tenant lane's backlog for a durable consumer, for operators and tests. */
  backlog(durable: string): Promise<LaneBacklog[]>;
  /** Dead letters recorded for a consumer (newest last), for operators and tests. */
  deadLetters(consumer: string, limit?: number): Promise<DeadLetter[]>;
  close(): Promise<void>;
}

export const DEFAULT_BACKOFF_MS = [200, 1000, 5000];
export const DEFAULT_MAX_DELIVER = 5;
export const DEFAULT_CONCURRENCY = 4;
export const DEFAULT_ACK_WAIT_MS = 30_000;
export const DEFAULT_MAX_ACK_PENDING = 1_000;
