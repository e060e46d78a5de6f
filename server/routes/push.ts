/**
 * Web Push: `GET /api/v1/push/vapid-public-key` (the key a browser subscribes with),
 * `POST /api/v1/me/push-subscriptions` (subscribe this browser) and
 * `DELETE /api/v1/me/push-subscriptions` (unsubscribe it; the body names the endpoint).
 */
import crypto from 'node:crypto';
import { z } from 'zod';
import type { PushSubscriptionRequest, VapidPublicKey } from '../../contract/api.js';
import { MAX_PUSH_ENDPOINT_CHARS } from '../../core/push-endpoint.js';
import { vapidKeysFor } from '../../core/vapid-keys.js';
import { AppError } from '../../lib/errors.js';
import { subscribePush, unsubscribePush } from '../commands/push.js';
import { readJson, type Accepts, type Expect } from '../http/validate.js';
import { authenticate, type RouteContext } from './context.js';

/** Base64url as browsers write it (unpadded; padding tolerated and dropped). */
const base64url = (what: string, bytes: number, check: (b: Buffer) => boolean = () => true) =>
  z
    .string()
    .max(200)
    .regex(/^[A-Za-z0-9_-]+={0,2}$/, `${what} must be base64url`)
    .transform((v) => Buffer.from(v, 'base64url'))
    .refine((b) => b.length === bytes && check(b), `${what} must be ${bytes} bytes`)
    .transform((b) => b.toString('base64url'));

/** A point on P-256 (`04 || x || y`): the browser's ECDH key the message is encrypted to. */
function onP256(b: Buffer): boolean {
  if (b[0] !== 4) return false;
  try {
    crypto.createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: b.subarray(1, 33).toString('base64url'), y: b.subarray(33).toString('base64url') }, format: 'jwk' });
    return true;
  } catch {
    return false; // not on the curve
  }
}

const Endpoint = z.url({ protocol: /^https?$/ }).max(MAX_PUSH_ENDPOINT_CHARS);
const Subscribe = z.object({
  endpoint: Endpoint,
  keys: z.object({ p256dh: base64url('keys.p256dh', 65, onP256), auth: base64url('keys.auth', 16) }),
});
const Unsubscribe = z.object({ endpoint: z.string().min(1).max(MAX_PUSH_ENDPOINT_CHARS) });
type _Requests = [Expect<Accepts<typeof Subscribe, PushSubscriptionRequest>>];

export function pushRoutes(ctx: RouteContext): void {
  const { edge, svc, config } = ctx;
  const policy = { allowPrivateEndpoints: config.notifications.pushAllowPrivateEndpoints };
  edge.route(
    'get',
    '/api/v1/push/vapid-public-key',
    async (req) => {
      await authenticate(ctx, req);
      let publicKey: string;
      try {
        ({ publicKey } = await vapidKeysFor(config, { publicKey: config.notifications.vapidPublicKey, privateKey: config.notifications.vapidPrivateKey, dataDir: config.dataDir }));
      } catch (e) {
        svc.log.error({ cat: 'notify', err: e instanceof Error ? e.message : String(e) }, 'Web Push keys could not be loaded');
        throw new AppError(503, 'push_unavailable', 'Push notifications are not available on this server');
      }
      return { status: 200, json: { publicKey } satisfies VapidPublicKey };
    },
    { doc: { tag: 'Notifications', summary: "The server's Web Push public key (VAPID)", auth: 'bearer', status: 200, response: 'VapidPublicKey' } },
  );
  edge.route(
    'post',
    '/api/v1/me/push-subscriptions',
    async (req) => {
      const p = await authenticate(ctx, req);
      const body = readJson(req, Subscribe);
      await subscribePush(svc, p, req.ip, body, policy);
      return { status: 201, json: { endpoint: body.endpoint } };
    },
    {
      doc: {
        tag: 'Notifications',
        summary: 'Subscribe this browser to push notifications',
        description: "The browser's `PushSubscription.toJSON()`. Answers `{ endpoint }`.",
        auth: 'bearer',
        body: Subscribe,
        status: 201,
        response: { contentType: 'application/json', description: 'The subscribed endpoint: `{ "endpoint": … }`' },
        example: {
          request: {
            endpoint: 'https://push.example.net/send/abc123',
            keys: { p256dh: 'BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM', auth: 'tBHItJI5svbpez7KI4CCXg' },
          },
        },
      },
    },
  );
  edge.route(
    'del',
    '/api/v1/me/push-subscriptions',
    async (req) => {
      const p = await authenticate(ctx, req);
      const body = readJson(req, Unsubscribe);
      await unsubscribePush(svc, p, req.ip, body);
      return { status: 204 };
    },
    {
      doc: {
        tag: 'Notifications',
        summary: 'Unsubscribe a browser from push notifications',
        auth: 'bearer',
        body: Unsubscribe,
        status: 204,
        example: { request: { endpoint: 'https://push.example.net/send/abc123' } },
      },
    },
  );
}
