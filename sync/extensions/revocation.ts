/**
 * Revocation: access changes reach live sockets within seconds, on every instance.
 * Commands emit access events after commit; with Redis they are published to a channel
 * every instance subscribes to (the publisher included), otherwise handled in process.
 * Each affected connection's level is re-read: none ⇒ the socket is closed (4403 /
 * 4410 / 4404; 4401 `session_revoked` when the user ended the connection's session), read ⇒
 * the connection becomes read-only, write/admin ⇒ writable again.
 *
 * Redis pub/sub delivers at most once: an instance whose Redis link is down misses the
 * event. So every instance also polls the access versions of the tenants it has open
 * connections for (migration 0009: a per-tenant counter bumped in the transaction of every
 * change that can take access away) every `recheckMs`, and re-checks all open connections
 * of a tenant whose version moved — and of a tenant it sees for the first time, whose
 * connections may have authenticated before a change it never heard of. A revocation
 * therefore reaches every socket within `recheckMs` plus the re-check's queries, whatever
 * happened to Redis, as long as the instance reaches Postgres.
 *
 * The same relay carries comment changes: each connection of the document is sent a
 * `quire.comments` message and reads the comments again. Those are at most once too; a
 * client also reads them whenever it (re)connects.
 */
import type { Connection, Extension, Hocuspocus, onConfigurePayload } from '@hocuspocus/server';
import type { Redis } from 'ioredis';
import { sql } from 'kysely';
import { z } from 'zod';

import type { AccessEvent, AccessEvents } from '../../lib/access-events.js';
import type { Logger } from '../../lib/log.js';
import { editsContent } from '../../core/access.js';
import { lostAccessClose, resolveAccess, type SyncAccess } from '../access.js';
import { CLOSE, stateless, type SyncContext } from '../context.js';
import type { UwsSocket } from '../uws-socket.js';
import type { AppDb } from '../../db/store.js';
import type { Credential } from '../../core/tokens.js';

/** A connection admitted without a credential (none are: Authentication sets one) counts as a session-less version 0. */
const NO_CREDENTIAL: Credential = { sessionVersion: 0 };

/** Connections on the same user and credential share one re-check. */
function credentialKey(ctx: SyncContext): string {
  const c = ctx.credential ?? NO_CREDENTIAL;
  return `${ctx.user?.id}:${c.sessionVersion}:${c.sessionId ?? ''}:${c.apiKeyId ?? ''}`;
}

const EventSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('permission'), tenantId: z.uuid(), documentId: z.uuid(), userId: z.uuid() }),
  z.object({ type: z.literal('user'), tenantId: z.uuid(), userId: z.uuid() }),
  z.object({ type: z.literal('document-deleted'), tenantId: z.uuid(), documentId: z.uuid() }),
  z.object({ type: z.literal('document-access'), tenantId: z.uuid(), documentId: z.uuid() }),
  z.object({ type: z.literal('comments'), tenantId: z.uuid(), documentId: z.uuid(), commentId: z.uuid() }),
]);

export interface RevocationConfiguration {
  db: AppDb;
  events: AccessEvents;
  log: Logger;
  /** Publisher connection and a factory for the subscriber (scaled profile). */
  redis?: Redis | null;
  channel: string;
  /** Interval of the access-version poll (the bound on a lost event). */
  recheckMs: number;
}

export class Revocation implements Extension {
  extensionName = 'Revocation';
  private instance: Hocuspocus | null = null;
  private subscriber: Redis | null = null;
  private unsubscribeLocal: (() => void) | null = null;
  /** Access version per tenant with open connections here, as of the last re-check. */
  private readonly versions = new Map<string, string>();
  private pollTimer: NodeJS.Timeout | null = null;
  private polling = false;
  private pollFailing = false;

  constructor(private readonly config: RevocationConfiguration) {}

  async onConfigure({ instance }: onConfigurePayload): Promise<void> {
    this.instance = instance;
  }

  /** Starts listening (local events, and the Redis channel when configured). */
  async start(): Promise<void> {
    const { redis, channel, events, log } = this.config;
    // First, so revocation stays bounded even if the Redis subscription never comes up.
    this.pollTimer = setInterval(() => void this.poll(), this.config.recheckMs);
    this.pollTimer.unref();
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

  /**
   * One poll: the versions of every tenant with open connections here, in one query; the
   * connections of tenants whose version moved (or that are new here) are re-checked.
   */
  async poll(): Promise<void> {
    const hp = this.instance;
    if (!hp || this.polling) return;
    this.polling = true;
    try {
      const tenants = new Set<string>();
      for (const doc of hp.documents.values()) {
        for (const conn of doc.getConnections()) {
          const tenantId = (conn.context as SyncContext).user?.tenantId;
          if (tenantId) tenants.add(tenantId);
        }
      }
      for (const t of this.versions.keys()) if (!tenants.has(t)) this.versions.delete(t);
      if (tenants.size === 0) return;
      const { rows } = await sql<{ tenant_id: string; version: string }>`
        select tenant_id, version::text as version from quire_access_versions(${[...tenants]}::uuid[])`.execute(this.config.db);
      if (this.pollFailing) this.config.log.info({ cat: 'sync' }, 'access re-check poll works again');
      this.pollFailing = false;
      const current = new Map(rows.map((r) => [r.tenant_id, r.version]));
      for (const tenantId of tenants) {
        const version = current.get(tenantId) ?? '0';
        if (this.versions.get(tenantId) === version) continue;
        // Recorded before the re-check reads: a change committed after this version was
        // read moves it again and is caught by the next poll.
        this.versions.set(tenantId, version);
        await this.recheckTenant(tenantId);
      }
    } catch (err) {
      if (!this.pollFailing) this.config.log.warn({ cat: 'sync', err }, 'access re-check poll failed; retrying every interval');
      this.pollFailing = true;
    } finally {
      this.polling = false;
    }
  }

  /** Re-reads the level of every open connection of a tenant (one query per user and document). */
  private async recheckTenant(tenantId: string): Promise<void> {
    const hp = this.instance;
    if (!hp) return;
    for (const doc of [...hp.documents.values()]) {
      // Per user and session version: one user's connections may be on different sessions.
      const checked = new Map<string, SyncAccess>();
      for (const conn of doc.getConnections()) {
        const ctx = conn.context as SyncContext;
        if (!ctx.user || ctx.user.tenantId !== tenantId) continue;
        const key = credentialKey(ctx);
        let access = checked.get(key);
        if (access === undefined) {
          access = await resolveAccess(this.config.db, tenantId, ctx.user.id, doc.name, ctx.credential ?? NO_CREDENTIAL);
          checked.set(key, access);
        }
        this.enforce(conn, access);
      }
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
        if (event.type === 'comments') {
          conn.sendStateless(stateless({ type: 'quire.comments', commentId: event.commentId }));
          continue;
        }
        const socket = conn.webSocket as UwsSocket;
        if (event.type === 'document-deleted') {
          socket.close(CLOSE.documentDeleted.code, CLOSE.documentDeleted.reason);
          continue;
        }
        if (event.type !== 'document-access' && ctx.user.id !== event.userId) continue;
        this.enforce(conn, await resolveAccess(this.config.db, ctx.user.tenantId, ctx.user.id, doc.name, ctx.credential ?? NO_CREDENTIAL));
      }
    }
  }

  /** Applies a connection's current access: closed without one, read-only or writable with one. */
  private enforce(conn: Connection, access: SyncAccess): void {
    const ctx = conn.context as SyncContext;
    const socket = conn.webSocket as UwsSocket;
    if (!access || access === 'inactive' || access === 'revoked') {
      const why = lostAccessClose(access);
      socket.close(why.code, why.reason);
      return;
    }
    const readOnly = !editsContent(access.level);
    if (conn.readOnly !== readOnly || ctx.level !== access.level) {
      conn.readOnly = readOnly;
      ctx.level = access.level;
      ctx.user = access.user;
      conn.sendStateless(stateless({ type: 'quire.access', level: access.level }));
    }
  }

  async onDestroy(): Promise<void> {
    if (this.pollTimer) clearInterval(this.pollTimer);
    this.pollTimer = null;
    this.unsubscribeLocal?.();
    this.unsubscribeLocal = null;
    if (this.subscriber) {
      await this.subscriber.quit().catch(() => this.subscriber?.disconnect());
      this.subscriber = null;
    }
  }
}
