/** `/api/v1/webhooks`: a workspace's webhook endpoints, their delivery log, retries, replay and test events (owners and admins). */
import { z } from 'zod';
import { WEBHOOK_EVENT_TYPES, WEBHOOK_LIMITS, type CreateWebhookRequest, type ReplayWebhookRequest, type RotateWebhookSecretRequest, type UpdateWebhookRequest } from '../../contract/webhooks.js';
import {
  createWebhook,
  deleteWebhook,
  expirePreviousWebhookSecret,
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

const TAG = 'Webhooks';
const ADMINS = 'Owners and admins.';
const EXAMPLE_CREATE = { url: 'https://hooks.example.com/quire', events: ['document.created', 'comment.created'], description: 'CRM sync' };

export function webhookRoutes(ctx: RouteContext): void {
  const { edge, svc, config } = ctx;
  const policy: WebhookPolicy = { allowPrivateNetworks: config.webhooks.allowPrivateNetworks };
  const id = (req: Parameters<typeof pathId>[0]) => pathId(req, 'id', 'webhook');
  const params = { id: 'The webhook endpoint' };
  edge.route(
    'post',
    BASE,
    async (req) => {
      const p = await authenticate(ctx, req);
      return { status: 201, json: await createWebhook(svc, policy, p, req.ip, readJson(req, Create)) };
    },
    {
      doc: {
        tag: TAG,
        summary: 'Register a webhook endpoint',
        description: `${ADMINS} An \`https:\` URL on a public address (private, loopback and link-local addresses are refused unless \`WEBHOOKS_ALLOW_PRIVATE_NETWORKS\`) and the events it receives. The signing secret (\`whsec_…\`) is shown once, in this answer. At most ${WEBHOOK_LIMITS.endpointsPerWorkspace} per workspace.`,
        auth: 'bearer',
        body: Create,
        status: 201,
        response: 'WebhookEndpointWithSecret',
        example: { request: EXAMPLE_CREATE },
      },
    },
  );
  edge.route(
    'get',
    BASE,
    async (req) => {
      const p = await authenticate(ctx, req);
      return { status: 200, json: await listWebhooks(svc, p, req.ip) };
    },
    {
      doc: {
        tag: TAG,
        summary: "List the workspace's webhook endpoints",
        description: `${ADMINS} With their health; never their secrets.`,
        auth: 'bearer',
        status: 200,
        response: 'WebhookEndpointList',
      },
    },
  );
  edge.route(
    'get',
    `${BASE}/:id`,
    async (req) => {
      const p = await authenticate(ctx, req);
      return { status: 200, json: await getWebhook(svc, p, req.ip, id(req)) };
    },
    { doc: { tag: TAG, summary: 'Read a webhook endpoint', description: ADMINS, auth: 'bearer', params, status: 200, response: 'WebhookEndpoint' } },
  );
  edge.route(
    'patch',
    `${BASE}/:id`,
    async (req) => {
      const p = await authenticate(ctx, req);
      return { status: 200, json: await updateWebhook(svc, policy, p, req.ip, id(req), readJson(req, Update)) };
    },
    {
      doc: {
        tag: TAG,
        summary: 'Change a webhook endpoint',
        description: `${ADMINS} Its URL (checked again), events, description, or \`enabled\`; enabling it clears its failing state and its waiting deliveries go out.`,
        auth: 'bearer',
        params,
        body: Update,
        status: 200,
        response: 'WebhookEndpoint',
        example: { request: { enabled: true } },
      },
    },
  );
  edge.route(
    'del',
    `${BASE}/:id`,
    async (req) => {
      const p = await authenticate(ctx, req);
      await deleteWebhook(svc, p, req.ip, id(req));
      return { status: 204 };
    },
    { doc: { tag: TAG, summary: 'Remove a webhook endpoint', description: `${ADMINS} Its delivery log goes with it.`, auth: 'bearer', params, status: 204 } },
  );
  edge.route(
    'post',
    `${BASE}/:id/rotate-secret`,
    async (req) => {
      const p = await authenticate(ctx, req);
      const body = req.body && req.body.length > 0 ? readJson(req, Rotate) : {};
      return { status: 200, json: await rotateWebhookSecret(svc, p, req.ip, id(req), body.previousSecretHours ?? WEBHOOK_LIMITS.previousSecretHours) };
    },
    {
      doc: {
        tag: TAG,
        summary: "Rotate a webhook endpoint's signing secret",
        description: `${ADMINS} The new secret is shown once, in this answer. The previous one keeps signing beside it (two signatures per request) for \`previousSecretHours\` (default ${WEBHOOK_LIMITS.previousSecretHours}; 0 stops it at once). The body may be left out.`,
        auth: 'bearer',
        params,
        body: Rotate,
        status: 200,
        response: 'WebhookEndpointWithSecret',
        example: { request: { previousSecretHours: 24 } },
      },
    },
  );
  edge.route(
    'del',
    `${BASE}/:id/previous-secret`,
    async (req) => {
      const p = await authenticate(ctx, req);
      return { status: 200, json: await expirePreviousWebhookSecret(svc, p, req.ip, id(req)) };
    },
    {
      doc: {
        tag: TAG,
        summary: 'Stop the previous signing secret now',
        description: `${ADMINS} After a rotation, once receivers verify with the new secret: requests carry only its signature from now on.`,
        auth: 'bearer',
        params,
        status: 200,
        response: 'WebhookEndpoint',
      },
    },
  );
  edge.route(
    'get',
    `${BASE}/:id/deliveries`,
    async (req) => {
      const p = await authenticate(ctx, req);
      return { status: 200, json: await listWebhookDeliveries(svc, p, req.ip, id(req), readQuery(req, DeliveryQuery)) };
    },
    {
      doc: {
        tag: TAG,
        summary: "Read a webhook endpoint's delivery log",
        description: `${ADMINS} Newest first, with each delivery's status, attempts, last response code, error and duration; kept ${WEBHOOK_LIMITS.logRetentionDays} days.`,
        auth: 'bearer',
        params,
        query: DeliveryQuery,
        status: 200,
        response: 'WebhookDeliveryList',
      },
    },
  );
  edge.route(
    'post',
    `${BASE}/:id/deliveries/:deliveryId/retry`,
    async (req) => {
      const p = await authenticate(ctx, req);
      return { status: 200, json: await retryWebhookDelivery(svc, p, req.ip, id(req), pathId(req, 'deliveryId', 'webhook_delivery')) };
    },
    {
      doc: {
        tag: TAG,
        summary: 'Send a delivery again',
        description: `${ADMINS} Now, with the same event id; its attempts start over.`,
        auth: 'bearer',
        params: { id: 'The webhook endpoint', deliveryId: 'The delivery' },
        status: 200,
        response: 'WebhookDelivery',
      },
    },
  );
  edge.route(
    'post',
    `${BASE}/:id/replay`,
    async (req) => {
      const p = await authenticate(ctx, req);
      return { status: 200, json: await replayWebhook(svc, p, req.ip, id(req), readJson(req, Replay).since) };
    },
    {
      doc: {
        tag: TAG,
        summary: "Replay a webhook endpoint's events since a time",
        description: `${ADMINS} Every event of this endpoint created at or after \`since\` (as far back as the delivery log reaches) is sent again with its id and body; at most ${WEBHOOK_LIMITS.maxReplay} per call, oldest first.`,
        auth: 'bearer',
        params,
        body: Replay,
        status: 200,
        response: 'ReplayWebhookResult',
        example: { request: { since: '2026-01-31T00:00:00.000Z' } },
      },
    },
  );
  edge.route(
    'post',
    `${BASE}/:id/test`,
    async (req) => {
      const p = await authenticate(ctx, req);
      return { status: 202, json: { delivery: await testWebhook(svc, p, req.ip, id(req)) } };
    },
    {
      doc: {
        tag: TAG,
        summary: 'Send a test event',
        description: `${ADMINS} Queues a \`webhook.test\` event for the endpoint, whatever it subscribed to; follow it in the delivery log.`,
        auth: 'bearer',
        params,
        status: 202,
        response: 'WebhookTestResult',
      },
    },
  );
}
