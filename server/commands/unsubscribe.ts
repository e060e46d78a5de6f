/**
 * One-click unsubscribe (RFC 8058): turns email off for the kind of notification a link
 * names (every kind for a digest's link) in the user's own preferences. The link's signed
 * token is the authority, so nobody signs in; doing it twice changes nothing the second
 * time. Other channels and the in-app list are left as they are.
 */
import { NOTIFICATION_KINDS, type NotificationKind, type NotificationPreferencePatch } from '../../contract/api.js';
import { mergePatch } from '../../core/notifications.js';
import type { UnsubscribeClaims } from '../../core/unsubscribe-tokens.js';
import { withTenant } from '../../db/store.js';
import type { Services } from '../services.js';
import { audit } from './audit.js';

export interface UnsubscribeResult {
  /** The kinds whose email is now off. */
  kinds: NotificationKind[];
  /** Whether anything changed (false when it was already off, or the user is gone). */
  changed: boolean;
}

export async function unsubscribe(svc: Services, ip: string, claims: UnsubscribeClaims): Promise<UnsubscribeResult> {
  const kinds: NotificationKind[] = claims.kind ? [claims.kind] : [...NOTIFICATION_KINDS];
  const changed = await withTenant(svc.store.db, claims.tenantId, async (tx) => {
    const user = await tx.selectFrom('users').select('notification_preferences').where('id', '=', claims.userId).forUpdate().executeTakeFirst();
    if (!user) return false;
    const stored = user.notification_preferences as NotificationPreferencePatch;
    if (kinds.every((k) => stored?.[k]?.email === false)) return false;
    const patch: NotificationPreferencePatch = Object.fromEntries(kinds.map((k) => [k, { email: false }]));
    await tx
      .updateTable('users')
      .set({ notification_preferences: JSON.stringify(mergePatch(stored, patch)) })
      .where('id', '=', claims.userId)
      .execute();
    await audit(tx, { tenantId: claims.tenantId, actorId: claims.userId, action: 'notifications.unsubscribed', targetType: 'user', targetId: claims.userId, ip, detail: { kinds } });
    return true;
  });
  if (changed) svc.log.info({ cat: 'notify', tenant: claims.tenantId, user: claims.userId, kinds }, 'email turned off from an unsubscribe link');
  return { kinds, changed };
}
