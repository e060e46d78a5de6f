/** Per-document permissions: list who has access, grant or change or remove a level. */
import { sql } from 'kysely';
import type { Permission, PermissionLevel } from '../../contract/api.js';
import { withTenant } from '../../db/store.js';
import { badRequest, notFound } from '../../lib/errors.js';
import type { Principal } from '../../core/tokens.js';
import type { Services } from '../services.js';
import { loadActor } from '../../core/actor.js';
import { LEVEL_RANK, requireLevel } from '../../core/access.js';
import { audit } from './audit.js';
import { feedEvent } from './feed.js';

export async function listPermissions(svc: Services, principal: Principal, ip: string | null, props: { id: string }): Promise<Permission[]> {
  return withTenant(svc.store.db, principal.tenantId, async (tx) => {
    const actor = await loadActor(tx, principal, ip);
    await requireLevel(tx, actor, props.id, 'read');
    const rows = await tx
      .selectFrom('document_permissions as p')
      .innerJoin('users as u', 'u.id', 'p.user_id')
      .select(['p.user_id', 'u.email', 'p.level'])
      .where('p.document_id', '=', props.id)
      .where('u.disabled_at', 'is', null)
      .orderBy('u.email')
      .execute();
    return rows.map((r) => ({ userId: r.user_id, email: r.email, level: r.level }));
  });
}

export async function setPermission(svc: Services, principal: Principal, ip: string | null, props: { id: string; userId: string; level: PermissionLevel | 'none' }): Promise<Permission | null> {
  const result = await withTenant(svc.store.db, principal.tenantId, async (tx) => {
    const actor = await loadActor(tx, principal, ip);
    await requireLevel(tx, actor, props.id, 'admin');
    if (props.userId === actor.userId) {
      throw badRequest('cannot_change_own_permission', 'You cannot change your own access to a document');
    }
    const target = await tx.selectFrom('users').select(['id', 'email']).where('id', '=', props.userId).where('disabled_at', 'is', null).executeTakeFirst();
    if (!target) throw notFound('user');
    let view: Permission | null = null;
    const before = await tx.selectFrom('document_permissions').select('level').where('document_id', '=', props.id).where('user_id', '=', props.userId).executeTakeFirst();
    if (props.level === 'none') {
      await tx.deleteFrom('document_permissions').where('document_id', '=', props.id).where('user_id', '=', props.userId).execute();
    } else {
      await tx
        .insertInto('document_permissions')
        .values({ tenant_id: actor.tenantId, document_id: props.id, user_id: props.userId, level: props.level, granted_by: actor.userId })
        .onConflict((oc) => oc.columns(['document_id', 'user_id']).doUpdateSet({ level: props.level as PermissionLevel, granted_by: actor.userId, updated_at: sql`now()` }))
        .execute();
      view = { userId: target.id, email: target.email, level: props.level };
    }
    await feedEvent(tx, actor.tenantId, props.id, 'document.permissions');
    // Shared with them, or their access raised: they are told (the notifier).
    if (props.level !== 'none' && (!before || LEVEL_RANK[props.level] > LEVEL_RANK[before.level])) {
      await feedEvent(tx, actor.tenantId, props.id, 'document.shared', props.userId);
    }
    await audit(tx, {
      tenantId: actor.tenantId,
      actorId: actor.userId,
      action: 'document.permission_set',
      targetType: 'document',
      targetId: props.id,
      ip,
      detail: { userId: props.userId, level: props.level },
    });
    return view;
  });
  svc.accessEvents.emit({ type: 'permission', tenantId: principal.tenantId, documentId: props.id, userId: props.userId });
  return result;
}
