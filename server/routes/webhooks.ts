/** `/api/v1/webhooks`: a workspace's webhook endpoints, their delivery log, retries, replay and test events (owners and admins). */
import { z } from 'zod';
import { WEBHOOK_EVENT_TYPES, WEBHOOK_LIMITS, type CreateWebhookRequest, type ReplayWebhookRequest, type RotateWebhookSecretRequest, type UpdateWebhookRequest } from '../../contract/webhooks.js';
import {
  createWebhook,
  deleteWebhook,
  getWebhook,
  listWebhookDeliveries,
  listWebhooks,
  replayWebhook,
  retryWebhookDelivery,
  rotateWebhookSecret,
  testWebhook,
  updateWebhook,
  type WebhookPolicy,
} from '../commands/webhooks.js';
import { readJson, readQuery, type Accepts, type Expect } from '../http/validate.js';
import { authenticate, pathId, type RouteContext } from './context.js';

const Url = z.string().trim().min(8).max(WEBHOOK_LIMITS.urlChars);
const Events = z.array(z.enum(WEBHOOK_EVENT_TYPES)).min(1).max(WEBHOOK_EVENT_TYPES.length);
const Description = z
  .string()
  .trim()
  .max(WEBHOOK_LIMITS.descriptionChars)
  .regex(/^[^\p{Cc}]*$/u, { message: 'must not contain control characters' });
const Create = z.strictObject({ url: Url, events: Events, description: Description.optional(), enabled: z.boolean().optional() });
const Update = z
  .strictObject({ url: Url.optional(), events: Events.optional(), description: Description.optional(), enabled: z.boolean().optional() })
  .refine((b) => Object.keys(b).length > 0, { message: 'name at least one field to change' });
const Rotate = z.strictObject({ previousSecretHours: z.number().int().min(0).max(WEBHOOK_LIMITS.previousSecretHours).optional() });
const Replay = z.strictObject({
  since: z.iso.datetime({ offset: true }).refine((v) => Date.parse(v) <= Date.now(), { message: 'must not be in the future' }),
});
const DeliveryQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(WEBHOOK_LIMITS.maxPageSize).default(50),
  cursor: z.string().max(200).optional(),
  status: z.enum(['pending', 'delivered', 'failed']).optional(),
});
type _Bodies = [
  Expect<Accepts<typeof Create, CreateWebhookRequest>>,
  Expect<Accepts<typeof Update, UpdateWebhookRequest>>,
  Expect<Accepts<typeof Rotate, RotateWebhookSecretRequest>>,
  Expect<Accepts<typeof Replay, ReplayWebhookRequest>>,
];

const BASE = '/api/v1/webhooks';

export function webhookRoutes(ctx: RouteContext): void {
  const { edge, svc, config } = ctx;
  const policy: WebhookPolicy = { allowPrivateNetworks: config.webhooks.allowPrivateNetworks };
  const id = (req: Parameters<typeof pathId>[0]) => pathId(req, 'id', 'webhook');
  edge.route('post', BASE, async (req) => {
    const p = await authenticate(ctx, req);
    return { status: 201, json: await createWebhook(svc, policy, p, req.ip, readJson(req, Create)) };
  });
  edge.route('get', BASE, async (req) => {
    const p = await authenticate(ctx, req);
    return { status: 200, json: await listWebhooks(svc, p, req.ip) };
  });
  edge.route('get', `${BASE}/:id`, async (req) => {
    const p = await authenticate(ctx, req);
    return { status: 200, json: await getWebhook(svc, p, req.ip, id(req)) };
  });
  edge.route('patch', `${BASE}/:id`, async (req) => {
    const p = await authenticate(ctx, req);
    return { status: 200, json: await updateWebhook(svc, policy, p, req.ip, id(req), readJson(req, Update)) };
  });
  edge.route('del', `${BASE}/:id`, async (req) => {
    const p = await authenticate(ctx, req);
    await deleteWebhook(svc, p, req.ip, id(req));
    return { status: 204 };
  });
  edge.route('post', `${BASE}/:id/rotate-secret`, async (req) => {
    const p = await authenticate(ctx, req);
    const body = req.body && req.body.length > 0 ? readJson(req, Rotate) : {};
    return { status: 200, json: await rotateWebhookSecret(svc, p, req.ip, id(req), body.previousSecretHours ?? WEBHOOK_LIMITS.previousSecretHours) };
  });
  edge.route('get', `${BASE}/:id/deliveries`, async (req) => {
    const p = await authenticate(ctx, req);
    return { status: 200, json: await listWebhookDeliveries(svc, p, req.ip, id(req), readQuery(req, DeliveryQuery)) };
  });
  edge.route('post', `${BASE}/:id/deliveries/:deliveryId/retry`, async (req) => {
    const p = await authenticate(ctx, req);
    return { status: 200, json: await retryWebhookDelivery(svc, p, req.ip, id(req), pathId(req, 'deliveryId', 'webhook_delivery')) };
  });
  edge.route('post', `${BASE}/:id/replay`, async (req) => {
    const p = await authenticate(ctx, req);
    return { status: 200, json: await replayWebhook(svc, p, req.ip, id(req), readJson(req, Replay).since) };
  });
  edge.route('post', `${BASE}/:id/test`, async (req) => {
    const p = await authenticate(ctx, req);
    return { status: 202, json: { delivery: await testWebhook(svc, p, req.ip, id(req)) } };
  });
}
