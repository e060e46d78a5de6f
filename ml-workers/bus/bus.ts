/**
 * The event bus between the relay and the workers: at-least-once delivery to durable
 * consumers, de-duplication by message id, redelivery with backoff, and a dead-letter
 * subject after `maxDeliver` attempts (or at once for an undecodable message).
 * Implementations: NATS JetStream (scaled) and in-process memory (embedded); both pass
 * the same conformance suite.
 */
export interface BusMessage {
  subject: string;
  data: Uint8Array;
  /** 1 on first delivery. */
  deliveryCount: number;
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
  /** Publishes once per `msgId` within the de-duplication window; resolves when stored. */
  publish(subject: string, data: Uint8Array, msgId: string): Promise<void>;
  /**
   * Delivers messages to `handler`. Resolve ⇒ acked. Throw ⇒ redelivered after backoff;
   * throw `PoisonMessageError` ⇒ dead-lettered at once.
   */
  consume(opts: ConsumeOptions, handler: (msg: BusMessage) => Promise<void>): Promise<Subscription>;
  /** Dead letters recorded for a consumer (newest last), for operators and tests. */
  deadLetters(consumer: string, limit?: number): Promise<DeadLetter[]>;
  close(): Promise<void>;
}

export const DEFAULT_BACKOFF_MS = [200, 1000, 5000];
export const DEFAULT_MAX_DELIVER = 5;
