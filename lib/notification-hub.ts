/**
 * Live notification signals, from whichever process made a notification (the worker) to
 * whichever process holds the recipient's open event stream (the API). With Redis they go
 * through one channel every instance subscribes to (the publisher included); without it
 * (the embedded default: every role in one process) they stay in process.
 *
 * A signal carries ids only: the receiving side reads the notification itself, as the
 * recipient may see it. A signal lost on the way (Redis down) costs liveness, not data: the
 * list and the unread count are read from the database whenever the client asks or its
 * stream reconnects.
 */
import { EventEmitter } from 'node:events';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import type { Logger } from './log.js';

export type NotificationSignal =
  | { type: 'notification'; tenantId: string; userId: string; notificationId: string }
  /** The user's unread count changed without a new notification (read elsewhere). */
  | { type: 'unread'; tenantId: string; userId: string };

const SignalSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('notification'), tenantId: z.uuid(), userId: z.uuid(), notificationId: z.uuid() }),
  z.strictObject({ type: z.literal('unread'), tenantId: z.uuid(), userId: z.uuid() }),
]);

export interface NotificationHubOptions {
  redis?: Redis | null;
  /** The Redis channel (key prefix + `notifications`). */
  channel: string;
  log: Logger;
}

export class NotificationHub {
  private readonly local = new EventEmitter();
  private subscriber: Redis | null = null;
  private starting: Promise<void> | null = null;

  constructor(private readonly opts: NotificationHubOptions) {
    // One listener per open stream: many users, many tabs.
    this.local.setMaxListeners(0);
  }

  /** Subscribes to the Redis channel (once; a no-op without Redis). */
  start(): Promise<void> {
    const { redis, channel, log } = this.opts;
    if (!redis) return Promise.resolve();
    this.starting ??= (async () => {
      const sub = redis.duplicate();
      this.subscriber = sub;
      sub.on('error', (err) => log.warn({ cat: 'notify', err: err.message }, 'notification subscriber error'));
      sub.on('message', (_ch: string, message: string) => {
        let parsed: unknown;
        try {
          parsed = JSON.parse(message);
        } catch {
          parsed = null;
        }
        const signal = SignalSchema.safeParse(parsed);
        if (signal.success) this.deliver(signal.data);
        else log.warn({ cat: 'notify' }, 'ignored a malformed notification signal');
      });
      await sub.subscribe(channel);
    })();
    return this.starting;
  }

  /** Tells every instance; delivered here directly when Redis cannot take it. */
  publish(signal: NotificationSignal): void {
    const { redis, channel, log } = this.opts;
    if (!redis) {
      this.deliver(signal);
      return;
    }
    redis.publish(channel, JSON.stringify(signal)).catch((err: unknown) => {
      log.warn({ cat: 'notify', err }, 'could not publish a notification signal; delivering here only');
      this.deliver(signal);
    });
  }

  /** Calls `fn` for each signal to one user; returns the unsubscribe. */
  subscribe(tenantId: string, userId: string, fn: (signal: NotificationSignal) => void): () => void {
    const key = `${tenantId}:${userId}`;
    this.local.on(key, fn);
    return () => this.local.off(key, fn);
  }

  async stop(): Promise<void> {
    const sub = this.subscriber;
    this.subscriber = null;
    if (sub) await sub.quit().catch(() => sub.disconnect());
  }

  private deliver(signal: NotificationSignal): void {
    this.local.emit(`${signal.tenantId}:${signal.userId}`, signal);
  }
}
