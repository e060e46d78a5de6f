/**
 * Webhook endpoints of a workspace (migration 0029, docs/WEBHOOKS.md): owners and admins
 * register, edit and remove them, rotate their signing secret, read their delivery log,
 * retry a delivery, replay events since a time, and send a test event. Every change is
 * audited. A URL is checked against the SSRF policy (`core/webhooks.ts`) when it is set,
 * and again by the deliverer on every connection. Secrets are sealed at rest and answered
 * only once: at creation and at rotation.
 */
import crypto from 'node:crypto';
import { sql } from 'kysely';
import {
  WEBHOOK_LIMITS,
  WEBHOOK_TEST_EVENT,
  type CreateWebhookRequest,
  type ReplayWebhookResult,
  type UpdateWebhookRequest,
  type WebhookDelivery,
  type WebhookDeliveryList,
  type WebhookDeliveryStatus,
  type WebhookEndpoint,
  type WebhookEndpointList,
  type WebhookEndpointWithSecret,
  type WebhookEvent,
  type WebhookEventType,
} from '../../contract/webhooks.js';
import { isTenantAdmin, loadActor, type Actor } from '../../core/actor.js';
import type { Principal } from '../../core/tokens.js';
import { checkWebhookUrl, newWebhookSecret, secretAad, WebhookUrlRefused } from '../../core/webhooks.js';
import type { Selectable, Updateable } from 'kysely';
import type { WebhookDeliveriesTable, WebhookEndpointsTable } from '../../db/schema.js';
import { withTenant, type Tx } from '../../db/store.js';
import { badRequest, forbidden, notFound } from '../../lib/errors.js';
import type { Services } from '../services.js';
import { audit } from './audit.js';

export interface WebhookPolicy {
  /** `WEBHOOKS_ALLOW_PRIVATE_NETWORKS`. */
  allowPrivateNetworks: boolean;
}

type EndpointRow = Selectable<WebhookEndpointsTable>;
type DeliveryRow = Selectable<WebhookDeliveriesTable>;

const iso = (d: Date | string | null) => (d === null ? null : new Date(d).toISOString());

function presentEndpoint(r: EndpointRow): WebhookEndpoint {
  const previousLive = r.previous_secret_expires_at && new Date(r.previous_secret_expires_at).getTime() > Date.now();
  return {
    id: r.id,
    url: r.url,
    description: r.description,
    events: r.events as WebhookEventType[],
    enabled: r.enabled,
    status: !r.enabled ? 'disabled' : r.consecutive_failures > 0 ? 'failing' : 'active',
    disabledReason: r.disabled_reason,
    consecutiveFailures: r.consecutive_failures,
    failingSince: iso(r.failing_since),
    lastSuccessAt: iso(r.last_success_at),
    previousSecretExpiresAt: previousLive ? iso(r.previous_secret_expires_at) : null,
    createdBy: r.created_by,
    createdAt: iso(r.created_at)!,
    updatedAt: iso(r.updated_at)!,
  };
}

function presentDelivery(r: DeliveryRow): WebhookDelivery {
  return {
    id: r.id,
    endpointId: r.endpoint_id,
    eventId: r.event_id,
    eventType: r.event_type,
    status: r.status,
    attempts: r.attempts,
    nextAttemptAt: r.status === 'pending' ? iso(r.next_attempt_at) : null,
    lastStatus: r.last_status,
    lastError: r.last_error,
    lastDurationMs: r.last_duration_ms,
    lastAttemptAt: iso(r.last_attempt_at),
    createdAt: iso(r.created_at)!,
    deliveredAt: iso(r.delivered_at),
  };
}

/** Loads the caller; only owners and admins manage webhooks. */
async function adminActor(tx: Tx, principal: Principal, ip: string | null): Promise<Actor> {
  const actor = await loadActor(tx, principal, ip);
  if (!isTenantAdmin(actor.role)) throw forbidden('Only owners and admins manage webhooks');
  return actor;
}

async function checkedUrl(url: string, policy: WebhookPolicy): Promise<string> {
  try {
    return (await checkWebhookUrl(url, policy.allowPrivateNetworks)).toString();
  } catch (e) {
    if (e instanceof WebhookUrlRefused) throw badRequest('validation_failed', `The webhook URL was refused: ${e.message}`, [{ path: 'url', message: e.message }]);
    throw e;
  }
}

async function endpointRow(tx: Tx, id: string): Promise<EndpointRow> {
  const row = await tx.selectFrom('webhook_endpoints').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row) throw notFound('webhook');
  return row;
}

/** The URL's origin for the audit log (a path may carry a token of the receiver's). */
const originOf = (url: string) => new URL(url).origin;

export async function createWebhook(svc: Services, policy: WebhookPolicy, principal: Principal, ip: string | null, body: CreateWebhookRequest): Promise<WebhookEndpointWithSecret> {
  const url = await checkedUrl(body.url, policy);
  return withTenant(svc.store.db, principal.tenantId, async (tx) => {
    const actor = await adminActor(tx, principal, ip);
    // Under the tenant's row lock, so two requests cannot both take the last place.
    await tx.selectFrom('tenants').select('id').where('id', '=', actor.tenantId).forUpdate().execute();
    const count = await tx
      .selectFrom('webhook_endpoints')
      .select(sql<string>`count(*)`.as('n'))
      .executeTakeFirstOrThrow();
    if (Number(count.n) >= WEBHOOK_LIMITS.endpointsPerWorkspace) throw badRequest('validation_failed', `A workspace has at most ${WEBHOOK_LIMITS.endpointsPerWorkspace} webhook endpoints`);
    const id = crypto.randomUUID();
    const secret = newWebhookSecret();
    const row = await tx
      .insertInto('webhook_endpoints')
      .values({
        id,
        tenant_id: actor.tenantId,
        url,
        description: body.description ?? '',
        events: [...new Set(body.events)],
        enabled: body.enabled ?? true,
        secret_sealed: svc.secrets.seal(secret, secretAad(actor.tenantId, id)),
        created_by: actor.userId,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    await audit(tx, { tenantId: actor.tenantId, actorId: actor.userId, action: 'webhook.created', targetType: 'webhook', targetId: id, ip, detail: { origin: originOf(url), events: row.events } });
    return { endpoint: presentEndpoint(row), secret };
  });
}

export async function listWebhooks(svc: Services, principal: Principal, ip: string | null): Promise<WebhookEndpointList> {
  return withTenant(svc.store.db, principal.tenantId, async (tx) => {
    await adminActor(tx, principal, ip);
    const rows = await tx.selectFrom('webhook_endpoints').selectAll().orderBy('created_at').orderBy('id').execute();
    return { endpoints: rows.map(presentEndpoint) };
  });
}

export async function getWebhook(svc: Services, principal: Principal, ip: string | null, id: string): Promise<WebhookEndpoint> {
  return withTenant(svc.store.db, principal.tenantId, async (tx) => {
    await adminActor(tx, principal, ip);
    return presentEndpoint(await endpointRow(tx, id));
  });
}

export async function updateWebhook(svc: Services, policy: WebhookPolicy, principal: Principal, ip: string | null, id: string, body: UpdateWebhookRequest): Promise<WebhookEndpoint> {
  const url = body.url === undefined ? undefined : await checkedUrl(body.url, policy);
  return withTenant(svc.store.db, principal.tenantId, async (tx) => {
    const actor = await adminActor(tx, principal, ip);
    await endpointRow(tx, id);
    const set: Updateable<WebhookEndpointsTable> = {};
    if (url !== undefined) set.url = url;
    if (body.description !== undefined) set.description = body.description;
    if (body.events !== undefined) set.events = [...new Set(body.events)];
    if (body.enabled !== undefined) {
      set.enabled = body.enabled;
      // Enabled again: a fresh start (its waiting deliveries go out).
      if (body.enabled) Object.assign(set, { disabled_reason: null, consecutive_failures: 0, failing_since: null });
    }
    const row = await tx
      .updateTable('webhook_endpoints')
      .set({ ...set, updated_at: sql<Date>`now()` })
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirstOrThrow();
    await audit(tx, {
      tenantId: actor.tenantId,
      actorId: actor.userId,
      action: 'webhook.updated',
      targetType: 'webhook',
      targetId: id,
      ip,
      detail: { changed: Object.keys(body), origin: originOf(row.url), events: row.events, enabled: row.enabled },
    });
    return presentEndpoint(row);
  });
}

export async function deleteWebhook(svc: Services, principal: Principal, ip: string | null, id: string): Promise<void> {
  await withTenant(svc.store.db, principal.tenantId, async (tx) => {
    const actor = await adminActor(tx, principal, ip);
    const row = await tx.deleteFrom('webhook_endpoints').where('id', '=', id).returning(['id', 'url']).executeTakeFirst();
    if (!row) throw notFound('webhook');
    await audit(tx, { tenantId: actor.tenantId, actorId: actor.userId, action: 'webhook.deleted', targetType: 'webhook', targetId: id, ip, detail: { origin: originOf(row.url) } });
  });
}

/**
 * A new signing secret; the current one becomes the previous one and keeps signing beside
 * it for `previousSecretHours` (0: stops at once), so receivers can switch without missing
 * a delivery. Rotating again during that window replaces the previous one.
 */
export async function rotateWebhookSecret(svc: Services, principal: Principal, ip: string | null, id: string, previousSecretHours: number): Promise<WebhookEndpointWithSecret> {
  return withTenant(svc.store.db, principal.tenantId, async (tx) => {
    const actor = await adminActor(tx, principal, ip);
    const current = await endpointRow(tx, id);
    const secret = newWebhookSecret();
    const row = await tx
      .updateTable('webhook_endpoints')
      .set({
        secret_sealed: svc.secrets.seal(secret, secretAad(actor.tenantId, id)),
        previous_secret_sealed: previousSecretHours > 0 ? current.secret_sealed : null,
        previous_secret_expires_at: previousSecretHours > 0 ? sql<Date>`now() + make_interval(hours => ${previousSecretHours})` : null,
        updated_at: sql<Date>`now()`,
      })
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirstOrThrow();
    await audit(tx, { tenantId: actor.tenantId, actorId: actor.userId, action: 'webhook.secret_rotated', targetType: 'webhook', targetId: id, ip, detail: { previousSecretHours } });
    return { endpoint: presentEndpoint(row), secret };
  });
}

/** Stops the previous secret signing now (receivers have switched to the new one). */
export async function expirePreviousWebhookSecret(svc: Services, principal: Principal, ip: string | null, id: string): Promise<WebhookEndpoint> {
  return withTenant(svc.store.db, principal.tenantId, async (tx) => {
    const actor = await adminActor(tx, principal, ip);
    await endpointRow(tx, id);
    const row = await tx
      .updateTable('webhook_endpoints')
      .set({ previous_secret_sealed: null, previous_secret_expires_at: null, updated_at: sql<Date>`now()` })
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirstOrThrow();
    await audit(tx, { tenantId: actor.tenantId, actorId: actor.userId, action: 'webhook.previous_secret_expired', targetType: 'webhook', targetId: id, ip });
    return presentEndpoint(row);
  });
}

function encodeCursor(r: { created_at: Date; id: string }): string {
  return Buffer.from(`${new Date(r.created_at).toISOString()}|${r.id}`).toString('base64url');
}

function decodeCursor(cursor: string): { at: string; id: string } {
  const [at, id] = Buffer.from(cursor, 'base64url').toString().split('|');
  if (!at || !id || Number.isNaN(Date.parse(at)) || !/^[0-9a-f-]{36}$/.test(id)) throw badRequest('validation_failed', 'The cursor is not one this API gave');
  return { at, id };
}

/** The endpoint's delivery log, newest first. */
export async function listWebhookDeliveries(
  svc: Services,
  principal: Principal,
  ip: string | null,
  id: string,
  q: { limit: number; cursor?: string; status?: WebhookDeliveryStatus },
): Promise<WebhookDeliveryList> {
  const after = q.cursor ? decodeCursor(q.cursor) : null;
  return withTenant(svc.store.db, principal.tenantId, async (tx) => {
    await adminActor(tx, principal, ip);
    await endpointRow(tx, id);
    let query = tx
      .selectFrom('webhook_deliveries')
      .selectAll()
      .where('endpoint_id', '=', id)
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .limit(q.limit + 1);
    if (q.status) query = query.where('status', '=', q.status);
    if (after) query = query.where(sql<boolean>`(created_at, id) < (${after.at}::timestamptz, ${after.id}::uuid)`);
    const rows = await query.execute();
    const page = rows.slice(0, q.limit);
    return { deliveries: page.map(presentDelivery), nextCursor: rows.length > q.limit ? encodeCursor(page[page.length - 1]!) : null };
  });
}

/** Sends a delivery again now (its attempts start over), whatever its status. */
export async function retryWebhookDelivery(svc: Services, principal: Principal, ip: string | null, id: string, deliveryId: string): Promise<WebhookDelivery> {
  return withTenant(svc.store.db, principal.tenantId, async (tx) => {
    const actor = await adminActor(tx, principal, ip);
    const row = await tx
      .updateTable('webhook_deliveries')
      .set({ status: 'pending', attempts: 0, next_attempt_at: sql<Date>`now()`, delivered_at: null })
      .where('id', '=', deliveryId)
      .where('endpoint_id', '=', id)
      .returningAll()
      .executeTakeFirst();
    if (!row) throw notFound('webhook_delivery');
    await audit(tx, { tenantId: actor.tenantId, actorId: actor.userId, action: 'webhook.delivery_retried', targetType: 'webhook', targetId: id, ip, detail: { deliveryId, eventId: row.event_id } });
    return presentDelivery(row);
  });
}

/**
 * Queues again every event of this endpoint created at or after `since` (as far back as the
 * delivery log reaches), with the ids it had: receivers that processed one already
 * recognise it. At most `WEBHOOK_LIMITS.maxReplay` per call (the oldest first).
 */
export async function replayWebhook(svc: Services, principal: Principal, ip: string | null, id: string, since: string): Promise<ReplayWebhookResult> {
  return withTenant(svc.store.db, principal.tenantId, async (tx) => {
    const actor = await adminActor(tx, principal, ip);
    await endpointRow(tx, id);
    const r = await sql<{ n: string }>`
      with picked as (
        select id from webhook_deliveries where endpoint_id = ${id} and created_at >= ${since}::timestamptz
         order by created_at, id limit ${WEBHOOK_LIMITS.maxReplay})
      , done as (
        update webhook_deliveries d set status = 'pending', attempts = 0, next_attempt_at = now(), delivered_at = null
          from picked where d.id = picked.id returning 1)
      select count(*)::text as n from done`.execute(tx);
    const queued = Number(r.rows[0]?.n ?? 0);
    await audit(tx, { tenantId: actor.tenantId, actorId: actor.userId, action: 'webhook.replayed', targetType: 'webhook', targetId: id, ip, detail: { since, queued } });
    return { queued };
  });
}

/** Queues a `webhook.test` event for the endpoint (sent even when it subscribed to nothing else). */
export async function testWebhook(svc: Services, principal: Principal, ip: string | null, id: string): Promise<WebhookDelivery> {
  return withTenant(svc.store.db, principal.tenantId, async (tx) => {
    const actor = await adminActor(tx, principal, ip);
    await endpointRow(tx, id);
    const eventId = `msg_${crypto.randomBytes(16).toString('hex')}`;
    const createdAt = new Date().toISOString();
    const body: WebhookEvent = { id: eventId, type: WEBHOOK_TEST_EVENT, createdAt, tenantId: actor.tenantId, data: { endpointId: id, requestedBy: actor.userId } };
    const row = await tx
      .insertInto('webhook_deliveries')
      .values({ tenant_id: actor.tenantId, endpoint_id: id, event_id: eventId, event_type: WEBHOOK_TEST_EVENT, payload: JSON.stringify(body), created_at: createdAt })
      .returningAll()
      .executeTakeFirstOrThrow();
    await audit(tx, { tenantId: actor.tenantId, actorId: actor.userId, action: 'webhook.tested', targetType: 'webhook', targetId: id, ip, detail: { eventId } });
    return presentDelivery(row);
  });
}
