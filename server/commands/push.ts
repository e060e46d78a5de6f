/**
 * Web Push subscriptions: the browsers a person gets notifications on.
 *
 * A subscription is what `PushManager.subscribe` returns: the push service's endpoint for
 * this browser and the keys its messages are encrypted to. Subscribing again with the same
 * endpoint replaces its keys. A person keeps at most `MAX_PUSH_SUBSCRIPTIONS_PER_USER`:
 * a new one drops the oldest (a browser that was reinstalled or wiped never unsubscribes,
 * so the oldest is the likeliest to be dead, and nobody is locked out of a new device).
 * A browser belongs to one person at a time: subscribing its endpoint takes it from
 * anyone else in the workspace who signed in on it before.
 *
 * Endpoints are checked before they are stored (core/push-endpoint.ts): the server sends
 * to them, so only public `https:` push services are accepted unless private endpoints
 * are allowed by configuration.
 */
import type { PushSubscriptionRequest } from '../../contract/api.js';
import { loadActor } from '../../core/actor.js';
import { checkPushEndpoint, PushEndpointRefused } from '../../core/push-endpoint.js';
import type { Principal } from '../../core/tokens.js';
import { withTenant } from '../../db/store.js';
import { badRequest } from '../../lib/errors.js';
import type { Services } from '../services.js';
import { audit } from './audit.js';

/** Most subscriptions one person keeps (browsers and devices). @default 10 */
export const MAX_PUSH_SUBSCRIPTIONS_PER_USER = 10;

export interface PushPolicy {
  /** `PUSH_ALLOW_PRIVATE_ENDPOINTS`: accept loopback, private and `http:` endpoints. */
  allowPrivateEndpoints: boolean;
}

export async function subscribePush(svc: Services, principal: Principal, ip: string | null, props: PushSubscriptionRequest, policy: PushPolicy): Promise<void> {
  try {
    await checkPushEndpoint(props.endpoint, policy.allowPrivateEndpoints);
  } catch (e) {
    if (e instanceof PushEndpointRefused) throw badRequest('validation_failed', `This push endpoint is not accepted: ${e.message}`, [{ path: 'endpoint', message: e.message }]);
    throw e;
  }
  await withTenant(svc.store.db, principal.tenantId, async (tx) => {
    const actor = await loadActor(tx, principal, ip);
    // One browser, one person: whoever used this browser before stops getting pushes on it.
    await tx.deleteFrom('push_subscriptions').where('endpoint', '=', props.endpoint).where('user_id', '<>', actor.userId).execute();
    const row = await tx
      .insertInto('push_subscriptions')
      .values({ tenant_id: actor.tenantId, user_id: actor.userId, endpoint: props.endpoint, p256dh: props.keys.p256dh, auth: props.keys.auth })
      .onConflict((oc) =>
        oc.columns(['tenant_id', 'user_id', 'endpoint']).doUpdateSet((eb) => ({
          p256dh: eb.ref('excluded.p256dh'),
          auth: eb.ref('excluded.auth'),
          created_at: eb.ref('excluded.created_at'),
          last_error: null,
        })),
      )
      .returning('id')
      .executeTakeFirstOrThrow();
    const keep = tx.selectFrom('push_subscriptions').select('id').where('user_id', '=', actor.userId).orderBy('created_at', 'desc').orderBy('id', 'desc').limit(MAX_PUSH_SUBSCRIPTIONS_PER_USER);
    await tx.deleteFrom('push_subscriptions').where('user_id', '=', actor.userId).where('id', 'not in', keep).execute();
    await audit(tx, { tenantId: actor.tenantId, actorId: actor.userId, action: 'push.subscribe', targetType: 'push_subscription', targetId: row.id, ip });
  });
}

/** Forgets a browser's subscription (unknown endpoints included: unsubscribing twice is fine). */
export async function unsubscribePush(svc: Services, principal: Principal, ip: string | null, props: { endpoint: string }): Promise<void> {
  await withTenant(svc.store.db, principal.tenantId, async (tx) => {
    const actor = await loadActor(tx, principal, ip);
    const gone = await tx.deleteFrom('push_subscriptions').where('user_id', '=', actor.userId).where('endpoint', '=', props.endpoint).returning('id').execute();
    for (const g of gone) await audit(tx, { tenantId: actor.tenantId, actorId: actor.userId, action: 'push.unsubscribe', targetType: 'push_subscription', targetId: g.id, ip });
  });
}
