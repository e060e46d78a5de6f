/**
 * Revocation: access changes reach live sockets within seconds, on every instance.
 * Commands emit access events after commit; with Redis they are published to a channel
 * every instance subscribes to (the publisher included), otherwise handled in process.
 * Each affected connection's level is re-read: none ⇒ the socket is closed (4403 /
 * 4401 / 4404), read ⇒ the connection becomes read-only, write/admin ⇒ writable again.
 */
import type { Extension, Hocuspocus, onConfigurePayload } from '@hocuspocus/server';
import type { Redis } from 'ioredis';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import type { Database } from '../../db/schema.js';
import type { AccessEvent, AccessEvents } from '../../server/access-events.js';
import type { Logger } from '../../server/log.js';
import { resolveAccess } from '../access.js';
import { CLOSE, type SyncContext } from '../context.js';
import type { UwsSocket } from '../uws-socket.js';

const EventSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('permission'), tenantId: z.uuid(), documentId: z.uuid(), userId: z.uuid() }),
  z.object({ type: z.literal('user'), tenantId: z.uuid(), userId: z.uuid() }),
  z.object({ type: z.literal('document-deleted'), tenantId: z.uuid(), documentId: z.uuid() }),
]);

export interface RevocationConfiguration {
  db: Kysely<Database>;
  events: AccessEvents;
  log: Logger;
  /** Publisher connection and a factory for the subscriber (scaled profile). */
  redis?: Redis | null;
  channel: string;
}

export class Revocation implements Extension {
  extensionName = 'Revocation';
  private instance: Hocuspocus | null = null;
  private subscriber: Redis | null = null;
  private unsubscribeLocal: (() => void) | null = null;

  constructor(private readonly config: RevocationConfiguration) {}

  async onConfigure({ instance }: onConfigurePayload): Promise<void> {
    this.instance = instance;
  }

  /** Starts listening (local events, and the Redis channel when configured). */
  async start(): Promise<void> {
    const { redis, channel, events, log } = this.config;
    if (redis) {
      this.subscriber = redis.duplicate();
      this.subscriber.on('error', (err) => log.warn({ cat: 'sync', err: err.message }, 'revocation subscriber error'));
      await this.subscriber.subscribe(channel);
      this.subscriber.on('message', (_ch: string, message: string) => {
        let parsed: unknown;
        try {
          parsed = JSON.parse(message);
        } catch {
          log.warn({ cat: 'sync' }, 'ignored a malformed access event');
          return;
        }
        const ev = EventSchema.safeParse(parsed);
        if (ev.success) this.handle(ev.data);
        else log.warn({ cat: 'sync' }, 'ignored a malformed access event');
      });
      this.unsubscribeLocal = events.on((e) => {
        redis.publish(channel, JSON.stringify(e)).catch((err: unknown) => {
          log.error({ cat: 'sync', err }, 'could not publish access event; handling locally only');
          this.handle(e);
        });
      });
    } else {
      this.unsubscribeLocal = events.on((e) => this.handle(e));
    }
  }

  private handle(event: AccessEvent): void {
    this.apply(event).catch((err: unknown) => this.config.log.error({ cat: 'sync', err, event: event.type }, 'revocation failed'));
  }

  private async apply(event: AccessEvent): Promise<void> {
    const hp = this.instance;
    if (!hp) return;
    const docs = 'documentId' in event ? [hp.documents.get(event.documentId)].filter((d) => d !== undefined) : [...hp.documents.values()];
    for (const doc of docs) {
      for (const conn of doc.getConnections()) {
        const ctx = conn.context as SyncContext;
        if (!ctx.user || ctx.user.tenantId !== event.tenantId) continue;
        const socket = conn.webSocket as UwsSocket;
        if (event.type === 'document-deleted') {
          socket.close(CLOSE.documentDeleted.code, CLOSE.documentDeleted.reason);
          continue;
        }
        if (ctx.user.id !== event.userId) continue;
        const access = await resolveAccess(this.config.db, ctx.user.tenantId, ctx.user.id, doc.name);
        if (!access || access === 'inactive') {
          const why = access === 'inactive' ? CLOSE.accountInactive : CLOSE.accessRevoked;
          socket.close(why.code, why.reason);
          continue;
        }
        const readOnly = access.level === 'read';
        if (conn.readOnly !== readOnly || ctx.level !== access.level) {
          conn.readOnly = readOnly;
          ctx.level = access.level;
          ctx.user = access.user;
          conn.sendStateless(JSON.stringify({ type: 'quire.access', level: access.level }));
        }
      }
    }
  }

  async onDestroy(): Promise<void> {
    this.unsubscribeLocal?.();
    this.unsubscribeLocal = null;
    if (this.subscriber) {
      await this.subscriber.quit().catch(() => this.subscriber?.disconnect());
      this.subscriber = null;
    }
  }
}
