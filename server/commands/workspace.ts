/**
 * The workspace (tenant) itself: its name and settings. Every signed-in user reads them;
 * owners and admins change them.
 *
 * Public links: turning them off makes every public link of the workspace answer 404 at
 * once (the public read checks the setting on every request) and refuses new ones; the
 * links are kept, so turning public links back on makes the same addresses work again.
 * Revoke a link (or create a new one) to retire an address for good.
 */
import type { UpdateWorkspaceRequest, Workspace } from '../../contract/api.js';
import { withTenant, type Tx } from '../../db/store.js';
import { forbidden } from '../../lib/errors.js';
import type { Principal } from '../../core/tokens.js';
import { isTenantAdmin, loadActor } from '../../core/actor.js';
import type { Services } from '../services.js';
import { audit } from './audit.js';

async function readWorkspace(tx: Tx, tenantId: string, lock = false): Promise<Workspace> {
  let q = tx.selectFrom('tenants').select(['id', 'name', 'public_links_enabled']).where('id', '=', tenantId);
  if (lock) q = q.forUpdate();
  const row = await q.executeTakeFirstOrThrow();
  return { id: row.id, name: row.name, publicLinksEnabled: row.public_links_enabled };
}

export async function getWorkspace(svc: Services, principal: Principal, ip: string | null): Promise<Workspace> {
  return withTenant(svc.store.db, principal.tenantId, async (tx) => {
    await loadActor(tx, principal, ip);
    return readWorkspace(tx, principal.tenantId);
  });
}

/** Renames the workspace and turns public links on or off (owners and admins; 403 otherwise). Each change is audited. */
export async function updateWorkspace(svc: Services, principal: Principal, ip: string | null, props: UpdateWorkspaceRequest): Promise<Workspace> {
  return withTenant(svc.store.db, principal.tenantId, async (tx) => {
    const actor = await loadActor(tx, principal, ip);
    if (!isTenantAdmin(actor.role)) throw forbidden('Only owners and admins change the workspace');
    const before = await readWorkspace(tx, actor.tenantId, true);
    const renamed = props.name !== undefined && props.name !== before.name;
    const switched = props.publicLinksEnabled !== undefined && props.publicLinksEnabled !== before.publicLinksEnabled;
    if (!renamed && !switched) return before;
    await tx
      .updateTable('tenants')
      .set({ ...(renamed ? { name: props.name } : {}), ...(switched ? { public_links_enabled: props.publicLinksEnabled } : {}) })
      .where('id', '=', actor.tenantId)
      .execute();
    const entry = { tenantId: actor.tenantId, actorId: actor.userId, targetType: 'tenant', targetId: actor.tenantId, ip };
    if (renamed) await audit(tx, { ...entry, action: 'workspace.rename', detail: { from: before.name, to: props.name } });
    if (switched) await audit(tx, { ...entry, action: 'workspace.public_links', detail: { enabled: props.publicLinksEnabled } });
    return readWorkspace(tx, actor.tenantId);
  });
}
