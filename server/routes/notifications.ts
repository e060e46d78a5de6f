/**
 * `/api/v1/notifications*` and `/api/v1/me/notification-preferences`,
 * `/api/v1/workspace/notification-defaults`.
 *
 * Live delivery is `GET /api/v1/notifications/stream`: Server-Sent Events with the same
 * bearer token as every call (browsers read it with `fetch`, which can send the header). It
 * opens with the unread count, then sends each new notification within moments of the
 * worker writing it, and the new count when notifications are read elsewhere. A stream
 * lasts at most an access token's lifetime (the client reconnects with a fresh token), ends
 * when the account is disabled or the session ended, and one user holds at most
 * `MAX_STREAMS_PER_USER` on one instance (the oldest is closed for a new one).
 */
import { z } from 'zod';
import { NOTIFICATION_CHANNELS, NOTIFICATION_KINDS, NOTIFICATIONS_MAX_LIMIT, type MarkNotificationsReadRequest, type SetNotificationPreferencesRequest } from '../../contract/api.js';
import type { EventStreamSink } from '../../lib/http/edge.js';
import type { NotificationSignal } from '../../lib/notification-hub.js';
import {
  getNotificationDefaults,
  getNotificationPreferences,
  listNotifications,
  markNotificationsRead,
  notificationForStream,
  setNotificationDefaults,
  setNotificationPreferences,
  unreadForStream,
} from '../commands/notifications.js';
import { readJson, readQuery, type Expect } from '../http/validate.js';
import { authenticate, type RouteContext } from './context.js';

/** Open streams one user may hold on one instance (tabs and devices). */
export const MAX_STREAMS_PER_USER = 10;

const Id = z.uuid().transform((v) => v.toLowerCase());
const ListQuery = z.strictObject({
  unread: z.enum(['true', 'false']).optional(),
  cursor: z.string().min(1).max(200).optional(),
  limit: z.coerce.number().int().min(1).max(NOTIFICATIONS_MAX_LIMIT).optional(),
});
const MarkRead = z.union([z.strictObject({ ids: z.array(Id).min(1).max(NOTIFICATIONS_MAX_LIMIT) }), z.strictObject({ all: z.literal(true) })]);
const Channels = z.strictObject(Object.fromEntries(NOTIFICATION_CHANNELS.map((c) => [c, z.boolean().optional()])) as Record<(typeof NOTIFICATION_CHANNELS)[number], z.ZodOptional<z.ZodBoolean>>);
const SetPreferences = z.strictObject({
  preferences: z.strictObject(Object.fromEntries(NOTIFICATION_KINDS.map((k) => [k, Channels.optional()])) as Record<(typeof NOTIFICATION_KINDS)[number], z.ZodOptional<typeof Channels>>),
});
// What the schemas accept is what the contract names (the preference map is built from its kind and channel lists).
type _Requests = [
  Expect<z.infer<typeof MarkRead> extends MarkNotificationsReadRequest ? true : false>,
  Expect<z.infer<typeof SetPreferences> extends SetNotificationPreferencesRequest ? true : false>,
];

export function notificationRoutes(ctx: RouteContext): void {
  const { edge, svc, config } = ctx;
  const streams = new Map<string, Set<EventStreamSink>>();

  edge.route(
    'get',
    '/api/v1/notifications',
    async (req) => {
      const p = await authenticate(ctx, req);
      const q = readQuery(req, ListQuery);
      return { status: 200, json: await listNotifications(svc, p, req.ip, { unread: q.unread === undefined ? undefined : q.unread === 'true', cursor: q.cursor, limit: q.limit }) };
    },
    {
      doc: {
        tag: 'Notifications',
        summary: "List the caller's notifications",
        description: 'Newest first, a page at a time; `unread=true` for unread only.',
        auth: 'bearer',
        query: ListQuery,
        status: 200,
        response: 'NotificationPage',
      },
    },
  );
  edge.route(
    'post',
    '/api/v1/notifications/read',
    async (req) => {
      const p = await authenticate(ctx, req);
      return { status: 200, json: await markNotificationsRead(svc, p, req.ip, readJson(req, MarkRead)) };
    },
    {
      doc: {
        tag: 'Notifications',
        summary: 'Mark notifications read',
        description: 'Some by id, or `{ "all": true }`.',
        auth: 'bearer',
        body: MarkRead,
        status: 200,
        response: 'MarkNotificationsReadResponse',
        example: { request: { all: true } },
      },
    },
  );
  edge.route(
    'get',
    '/api/v1/me/notification-preferences',
    async (req) => {
      const p = await authenticate(ctx, req);
      return { status: 200, json: await getNotificationPreferences(svc, p, req.ip) };
    },
    {
      doc: {
        tag: 'Notifications',
        summary: "The caller's notification preferences",
        description: 'Per kind and channel (in app, email, push), with the workspace defaults.',
        auth: 'bearer',
        status: 200,
        response: 'NotificationPreferences',
      },
    },
  );
  edge.route(
    'put',
    '/api/v1/me/notification-preferences',
    async (req) => {
      const p = await authenticate(ctx, req);
      return { status: 200, json: await setNotificationPreferences(svc, p, req.ip, readJson(req, SetPreferences)) };
    },
    {
      doc: {
        tag: 'Notifications',
        summary: "Change the caller's notification preferences",
        auth: 'bearer',
        body: SetPreferences,
        status: 200,
        response: 'NotificationPreferences',
        example: { request: { preferences: { mention: { email: false } } } },
      },
    },
  );
  edge.route(
    'get',
    '/api/v1/workspace/notification-defaults',
    async (req) => {
      const p = await authenticate(ctx, req);
      const { defaults } = await getNotificationDefaults(svc, p, req.ip);
      return { status: 200, json: { preferences: defaults, defaults } };
    },
    { doc: { tag: 'Notifications', summary: "The workspace's default notification preferences", auth: 'bearer', status: 200, response: 'NotificationPreferences' } },
  );
  edge.route(
    'put',
    '/api/v1/workspace/notification-defaults',
    async (req) => {
      const p = await authenticate(ctx, req);
      const { defaults } = await setNotificationDefaults(svc, p, req.ip, readJson(req, SetPreferences));
      return { status: 200, json: { preferences: defaults, defaults } };
    },
    {
      doc: {
        tag: 'Notifications',
        summary: "Change the workspace's default notification preferences",
        description: 'Owners and admins.',
        auth: 'bearer',
        body: SetPreferences,
        status: 200,
        response: 'NotificationPreferences',
        example: { request: { preferences: { mention: { push: true } } } },
      },
    },
  );

  edge.route(
    'get',
    '/api/v1/notifications/stream',
    async (req) => {
      const p = await authenticate(ctx, req);
      const unread = await unreadForStream(svc, p);
      await svc.notificationHub.start();
      const key = `${p.tenantId}:${p.userId}`;
      return {
        status: 200,
        eventStream: (sink) => {
          const mine = streams.get(key) ?? new Set<EventStreamSink>();
          streams.set(key, mine);
          if (mine.size >= MAX_STREAMS_PER_USER) [...mine][0]?.close();
          mine.add(sink);
          sink.send('unread', { type: 'unread', unread });
          // Signals are handled one at a time, so the counts a client sees never go backwards.
          let chain: Promise<void> = Promise.resolve();
          const onSignal = (signal: NotificationSignal) => {
            chain = chain.then(async () => {
              if (sink.closed) return;
              try {
                if (signal.type === 'notification') {
                  const shown = await notificationForStream(svc, p, signal.notificationId);
                  if (shown) sink.send('notification', { type: 'notification', notification: shown.notification, unread: shown.unread });
                } else {
                  sink.send('unread', { type: 'unread', unread: await unreadForStream(svc, p) });
                }
              } catch (err) {
                // The account was disabled or the session ended (or the database is away): the
                // client reconnects, and is refused or catches up then.
                req.log.info({ err: (err as Error).message }, 'notification stream closed');
                sink.close();
              }
            });
          };
          const off = svc.notificationHub.subscribe(p.tenantId, p.userId, onSignal);
          const lifetime = setTimeout(() => sink.close(), config.jwt.accessTtlSeconds * 1000);
          lifetime.unref();
          return () => {
            off();
            clearTimeout(lifetime);
            mine.delete(sink);
            if (mine.size === 0) streams.delete(key);
          };
        },
      };
    },
    {
      doc: {
        tag: 'Notifications',
        summary: 'Follow notifications live (Server-Sent Events)',
        description:
          "A `text/event-stream` that stays open: first an `unread` event, then a `notification` event for each new notification and `unread` when the count changes. Each event's `data` is a NotificationStreamEvent as JSON. Comment lines keep it open; it closes when the access token expires (reconnect with a fresh one). Access tokens only.",
        auth: 'bearer',
        status: 200,
        response: { contentType: 'text/event-stream', schema: 'NotificationStreamEvent', description: 'Events; each `data:` line is a NotificationStreamEvent' },
      },
    },
  );
}
